"""Redis and Redis Cluster backend over ``redis.asyncio`` (hiredis parser).

``redis://`` and ``rediss://`` (TLS) use one blocking connection pool;
``redis+cluster://`` / ``rediss+cluster://`` use redis-py's cluster client,
which follows MOVED/ASK and splits multi-key commands by slot. Every driver
exception is translated here, once, into the sidecar's error tree.

The session, leaderboard and counter capabilities are mixins, one module each
(``redis_sessions``, ``redis_boards``); they use this class's client and
``translate_errors``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    NoPermissionError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from sidecar.backends.base import MISSING, BackendKind, Fence, Missing
from sidecar.backends.breaker import CircuitBreaker, guarded
from sidecar.backends.redis_boards import RedisBoards
from sidecar.backends.redis_cluster import WaitingCluster
from sidecar.backends.redis_migration import (
    StillMigrating,
    node_of,
    patience,
)
from sidecar.backends.redis_node import NodeBreakers, patch_cluster_nodes
from sidecar.backends.redis_sessions import RedisSessions
from sidecar.backends.resp import RespError, RespPool
from sidecar.backends.tls import client_context, describe_tls_failure
from sidecar.config import BackendSettings
from sidecar.errors import (
    BackendUnavailable,
    NodeUnavailable,
    ResourceExhausted,
    SlotMigrating,
)
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["RedisBackend"]

patch_cluster_nodes()

# Store the loaded value only while our lease stands, then release it.
_FILL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
# A Redis Cluster slot held mid-migration refuses the two-key FILL (TRYAGAIN
# until the slot is stable), so the value is parked in the lease key instead,
# fenced the same way: lease waiters find it there (one load across sidecars
# holds), and PROMOTE moves it to the value key once the slot is stable.
PARKED = b"\x00cachecar:parked\x00"
_PARK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_PROMOTE = """
local parked = redis.call('GET', KEYS[2])
if parked ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[2])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], string.sub(parked, tonumber(ARGV[2]) + 1), 'PX', ttl)
redis.call('DEL', KEYS[2])
return 1
"""
# A fill in a migrating slot parks after this long, instead of PATIENCE.
_FILL_PATIENCE = 0.2
# Compare-and-delete: never release a lease another sidecar took after ours expired.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A Set wins over any in-flight load: write the value and break the lease together.
_OVERWRITE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
"""


class RedisBackend(RedisSessions, RedisBoards):
    """A Redis deployment (standalone, TLS or cluster), bytes in and out."""

    kind: BackendKind = "redis"

    def __init__(
        self, name: str, settings: BackendSettings, telemetry: Telemetry | None = None
    ) -> None:
        self.name = name
        self.cluster = settings.scheme.endswith("+cluster")
        url = settings.url.replace("+cluster", "", 1)
        # For error messages only: which ACL user a refused login was for, and
        # where its password was to come from (never the password itself).
        self._username = settings.username or urlsplit(url).username
        self._password_source = _password_source(settings)
        # Under TLS 1.3 a server that refuses our (missing) client certificate
        # may show up as a plain connection reset, so TLS URLs get a wider hint.
        self._unreachable_hint = "check that Redis is running and reachable" + (
            ", speaks TLS on this port, and whether it requires a client certificate "
            "(tls_cert_file, tls_key_file)"
            if settings.tls
            else ""
        )
        self._client: Any = _connect(url, settings, cluster=self.cluster)
        host = url.split("://", 1)[1].split("/", 1)[0]
        self.address = host.rsplit("@", 1)[-1]
        self.observer = CommandObserver(telemetry or Telemetry(), name, "redis", self.address)
        # Hit-path reads skip redis-py's per-command overhead (see resp.py).
        self._fast = None if self.cluster else _fast_pool(url, settings)
        self.breaker = CircuitBreaker(name, on_change=self.observer.breaker_changed)
        #: Redis Cluster: a breaker per node, so one failing node leaves the rest alone.
        self.node_breakers = NodeBreakers(name)
        if self.cluster:
            self._client.node_breakers = self.node_breakers
        self._fill = self._client.register_script(_FILL)
        self._release = self._client.register_script(_RELEASE)
        self._overwrite = self._client.register_script(_OVERWRITE)
        self._park = self._client.register_script(_PARK)
        self._promote = self._client.register_script(_PROMOTE)

    @property
    def client(self) -> Any:
        """The redis-py client, for Redis-only patterns (scripts, streams, sorted sets)."""
        return self._client

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Map redis-py exceptions to the error tree (the one place that does)."""
        try:
            yield
        except StillMigrating as exc:
            raise SlotMigrating(
                f"redis backend {self.name!r}: slot {exc.slot} is migrating between nodes "
                f"(node {exc.node} answered {exc.condition}) and a command on several of its "
                f"keys could not run within {exc.waited:.1f}s; retry shortly (resharding is "
                "transient, other slots are unaffected)",
                metadata={"backend": self.name, "node": exc.node, "slot": str(exc.slot)},
            ) from exc
        except ResponseError as exc:
            if (problem := self._access_problem(exc)) is not None:
                raise BackendUnavailable(problem, metadata={"backend": self.name}) from exc
            if str(exc).startswith("OOM"):
                raise ResourceExhausted(
                    f"redis backend {self.name!r} ({self.address}) is out of memory and refuses "
                    "writes; raise maxmemory or use an eviction policy such as allkeys-lru",
                    reason="BACKEND_OUT_OF_MEMORY",
                    metadata={"backend": self.name},
                ) from exc
            raise BackendUnavailable(
                f"redis backend {self.name!r} ({self.address}) answered with an error: {exc}",
                metadata={"backend": self.name},
            ) from exc
        except RespError as exc:
            raise BackendUnavailable(
                self._access_problem(exc)
                or f"redis backend {self.name!r} ({self.address}) answered with an error: {exc}",
                metadata={"backend": self.name},
            ) from exc
        except AuthenticationError as exc:
            problem = self._access_problem(exc)
            raise BackendUnavailable(problem or str(exc), metadata={"backend": self.name}) from exc
        # RedisClusterException ("cannot be connected": no node answers) is
        # not a RedisError, yet it is the same outage.
        except (RedisError, RedisClusterException, OSError) as exc:
            hint = describe_tls_failure(exc) or self._unreachable_hint
            # The node that failed, not the seed address, when the cluster client
            # knows it; then it is that node's failure (its own breaker counted it).
            node = node_of(exc) if self.cluster else None
            error = NodeUnavailable if node else BackendUnavailable
            raise error(
                f"redis backend {self.name!r} ({node or self.address}) is unreachable: "
                f"{type(exc).__name__}: {exc}; {hint}",
                metadata={"backend": self.name, "node": node or self.address},
            ) from exc

    def _access_problem(self, exc: Exception) -> str | None:
        """The message for a refused login or an ACL denial; None for other replies.

        Redis never echoes a password in these replies, and neither do we: the
        message names the user and where its password comes from, nothing more.
        """
        text = str(exc)
        where = f"redis backend {self.name!r} ({self.address})"
        user = self._username or "default"
        if isinstance(exc, AuthenticationError) or text.startswith(("WRONGPASS", "NOAUTH")):
            return (
                f"{where} refused the login of ACL user {user!r}: {text}; check `username` and "
                f"{self._password_source} (and that the user is enabled)"
            )
        if isinstance(exc, NoPermissionError) or text.startswith("NOPERM"):
            return (
                f"{where}: ACL user {user!r} lacks a permission cachecar needs: {text}; "
                "grant the ACL rules listed under 'TLS and ACLs' in docs/kubernetes.md"
            )
        return None

    @observed("GET")
    @guarded
    async def get(self, key: bytes) -> bytes | Missing:
        with self.translate_errors():
            if self._fast is not None:
                value = await self._fast.execute(b"GET", key)
            else:
                value = await self._client.get(key)
        return MISSING if value is None else bytes(value)

    @observed("MGET")
    @guarded
    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        if not keys:
            return []
        with self.translate_errors():
            if self.cluster:
                values = await self._client.mget_nonatomic(list(keys))
            elif self._fast is not None:
                values = await self._fast.execute(b"MGET", *keys)
            else:
                values = await self._client.mget(list(keys))
        return [MISSING if v is None else bytes(v) for v in values]

    @observed("LEASE")
    @guarded
    async def lease(self, key: bytes, lease_key: bytes, ttl_ms: int) -> Fence | None:
        token = secrets.token_bytes(16)
        with self.translate_errors():
            taken = await self._client.set(lease_key, token, px=max(1, ttl_ms), nx=True)
        return Fence(token) if taken else None

    @observed("FILL")
    @guarded
    async def fill(
        self, fence: Fence, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int
    ) -> bool:
        with self.translate_errors():
            try:
                with patience(_FILL_PATIENCE):  # only a cluster's commands ride migrations
                    stored = await self._fill(
                        keys=[key, lease_key], args=[fence.token, value, max(1, ttl_ms)]
                    )
            except StillMigrating:
                stored = await self._park(
                    keys=[lease_key], args=[fence.token, PARKED + value, max(1, ttl_ms)]
                )
        return bool(stored)

    @observed("PARKED")
    @guarded
    async def parked(self, key: bytes, lease_key: bytes) -> bytes | Missing:
        if not self.cluster:
            return MISSING  # only cluster slots migrate
        with self.translate_errors():
            held = await self._client.get(lease_key)
            if held is None or not bytes(held).startswith(PARKED):
                return MISSING
            # To the value key, if the slot is stable again; one try, no wait.
            with contextlib.suppress(StillMigrating), patience(0.0):
                await self._promote(keys=[key, lease_key], args=[held, len(PARKED)])
        return bytes(held)[len(PARKED) :]

    @observed("RELEASE")
    @guarded
    async def release(self, fence: Fence, key: bytes, lease_key: bytes) -> None:
        with self.translate_errors():
            await self._release(keys=[lease_key], args=[fence.token])

    @observed("OVERWRITE")
    @guarded
    async def overwrite(self, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int) -> None:
        with self.translate_errors():
            await self._overwrite(keys=[key, lease_key], args=[value, max(1, ttl_ms)])

    @observed("CLEAR")
    @guarded
    async def clear(self, keys: Sequence[bytes], lease_keys: Sequence[bytes]) -> int:
        if not keys:
            return 0
        with self.translate_errors():
            # Leases first: a load that finishes in between can no longer store.
            await self._client.delete(*lease_keys)
            return int(await self._client.delete(*keys))

    async def ping(self) -> None:
        # Not observed: health pings every second would flood traces with roots.
        with self.translate_errors():
            await self._client.ping()
        self.breaker.succeeded()

    async def stats(self) -> dict[str, dict[str, float]]:
        """Memory use, limit and evictions per server, from INFO (for metrics)."""
        with self.translate_errors():
            if self.cluster:
                replies = await self._client.info(target_nodes=RedisCluster.PRIMARIES)
            else:
                replies = {self.address: await self._client.info()}
        return {
            server: {
                "memory_bytes": float(info.get("used_memory", 0)),
                "memory_limit_bytes": float(info.get("maxmemory", 0)),
                "evictions": float(info.get("evicted_keys", 0)),
                # Whether a restart keeps the write-behind queue (see server.py).
                "aof_enabled": float(info.get("aof_enabled", 0)),
            }
            for server, info in replies.items()
        }

    async def aclose(self) -> None:
        # Closing a client whose server is gone must not raise during shutdown.
        if self._fast is not None:
            self._fast.close()
        with self.translate_errors():
            await self._client.aclose()


def _password_source(settings: BackendSettings) -> str:
    """Where the password comes from, for a refused login's message."""
    if settings.password_env:
        if settings.password_env not in os.environ:
            return f"password_env: the environment variable {settings.password_env} is not set"
        return f"the password in password_env ({settings.password_env})"
    if settings.password_file:
        return f"the password in password_file ({settings.password_file})"
    return "the password: none is configured (set password_env or password_file)"


def _fast_pool(url: str, settings: BackendSettings) -> RespPool:
    # Same server verification, client certificate and credentials as redis-py's pool.
    return RespPool(
        url,
        username=settings.username,
        password=settings.password(),
        timeout=settings.timeout.total_seconds(),
        connect_timeout=settings.connect_timeout.total_seconds(),
        ssl_context=client_context(settings),
    )


def _connect(url: str, settings: BackendSettings, *, cluster: bool) -> Any:
    options: dict[str, Any] = {
        "socket_timeout": settings.timeout.total_seconds(),
        "socket_connect_timeout": settings.connect_timeout.total_seconds(),
        # One immediate retry re-dials a pooled connection that died with a
        # server restart; more would only make callers wait on a dead server.
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 0,
        "decode_responses": False,
    }
    if settings.username:
        options["username"] = settings.username
    password = settings.password()
    if password is not None:
        options["password"] = password
    if url.startswith("rediss://"):
        if settings.tls_ca_file:
            options["ssl_ca_certs"] = str(settings.tls_ca_file)
        if settings.tls_cert_file:
            options["ssl_certfile"] = str(settings.tls_cert_file)
        if settings.tls_key_file:
            options["ssl_keyfile"] = str(settings.tls_key_file)
    if cluster:
        # Two connections over the permits: a topology refresh (CLUSTER SLOTS,
        # one at a time) may run while every permit is in use.
        return WaitingCluster.from_url(
            url,
            permits=settings.pool_size,
            max_connections=settings.pool_size + 2,
            # redis-py re-reads the whole topology every 5th MOVED reply by
            # closing every node's connections, under the commands still using
            # them ("Connection closed by server"): during a reshard, that is
            # all the time. 0: each MOVED patches the slot it names; a lost
            # connection (a failover) still triggers a full refresh.
            reinitialize_steps=0,
            **options,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=settings.pool_size,
        timeout=settings.timeout.total_seconds(),
        **options,
    )
    # from_pool hands the pool to the client, so aclose() also closes its connections.
    return aioredis.Redis.from_pool(pool)
