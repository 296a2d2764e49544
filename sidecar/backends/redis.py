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

import secrets
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from sidecar.backends.base import MISSING, BackendKind, Fence, Missing
from sidecar.backends.breaker import CircuitBreaker, guarded
from sidecar.backends.redis_boards import RedisBoards
from sidecar.backends.redis_sessions import RedisSessions
from sidecar.backends.resp import RespError, RespPool
from sidecar.config import BackendSettings
from sidecar.errors import BackendUnavailable, ResourceExhausted
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["RedisBackend"]

# Store the loaded value only while our lease stands, then release it.
_FILL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
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
        self._client: Any = _connect(url, settings, cluster=self.cluster)
        host = url.split("://", 1)[1].split("/", 1)[0]
        self.address = host.rsplit("@", 1)[-1]
        self.observer = CommandObserver(telemetry or Telemetry(), name, "redis", self.address)
        # Hit-path reads skip redis-py's per-command overhead (see resp.py).
        self._fast = None if self.cluster else _fast_pool(url, settings)
        self.breaker = CircuitBreaker(name, on_change=self.observer.breaker_changed)
        self._fill = self._client.register_script(_FILL)
        self._release = self._client.register_script(_RELEASE)
        self._overwrite = self._client.register_script(_OVERWRITE)

    @property
    def client(self) -> Any:
        """The redis-py client, for Redis-only patterns (scripts, streams, sorted sets)."""
        return self._client

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Map redis-py exceptions to the error tree (the one place that does)."""
        try:
            yield
        except ResponseError as exc:
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
                f"redis backend {self.name!r} ({self.address}) answered with an error: {exc}",
                metadata={"backend": self.name},
            ) from exc
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(
                f"redis backend {self.name!r} ({self.address}) is unreachable: "
                f"{type(exc).__name__}: {exc}; check that Redis is running and reachable",
                metadata={"backend": self.name},
            ) from exc

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
            stored = await self._fill(
                keys=[key, lease_key], args=[fence.token, value, max(1, ttl_ms)]
            )
        return bool(stored)

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
            }
            for server, info in replies.items()
        }

    async def aclose(self) -> None:
        # Closing a client whose server is gone must not raise during shutdown.
        if self._fast is not None:
            self._fast.close()
        with self.translate_errors():
            await self._client.aclose()


def _fast_pool(url: str, settings: BackendSettings) -> RespPool:
    context = None
    if url.startswith("rediss://"):
        context = ssl.create_default_context(
            cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None)
        if settings.tls_cert_file:
            context.load_cert_chain(
                str(settings.tls_cert_file),
                str(settings.tls_key_file) if settings.tls_key_file else None)
    return RespPool(
        url, username=settings.username, password=settings.password(),
        timeout=settings.timeout.total_seconds(),
        connect_timeout=settings.connect_timeout.total_seconds(), ssl_context=context)


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
        return RedisCluster.from_url(url, max_connections=settings.pool_size, **options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=settings.pool_size,
        timeout=settings.timeout.total_seconds(),
        **options,
    )
    # from_pool hands the pool to the client, so aclose() also closes its connections.
    return aioredis.Redis.from_pool(pool)
