"""One Redis deployment's connections, shared by every capability this package implements.

The core key-value operations, sessions, boards, the write-behind queue and
pub/sub are separate classes (one module each) over one :class:`RedisLink`:
its redis-py client (a connection pool, or the cluster client stack of
``cluster.py``), the hand-written read path of ``resp.py``, the breaker, the
command observer, and ``translate_errors`` — the one place redis-py's
exceptions become the sidecar's error tree. Nothing outside this package sees
the client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.cluster import LoadBalancingStrategy
from redis.exceptions import (
    AuthenticationError,
    NoPermissionError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from sidecar.backends.breaker import CircuitBreaker
from sidecar.backends.redis.cluster import WaitingCluster
from sidecar.backends.redis.connections import connection_class
from sidecar.backends.redis.credentials import Credentials, credentials_for
from sidecar.backends.redis.iam import NoAwsCredentials
from sidecar.backends.redis.migration import StillMigrating, node_of
from sidecar.backends.redis.node import NodeBreakers, patch_cluster_nodes
from sidecar.backends.redis.resp import RespError, RespPool
from sidecar.backends.tls import client_context, describe_tls_failure
from sidecar.config import BackendSettings
from sidecar.errors import (
    BackendUnavailable,
    NodeUnavailable,
    ResourceExhausted,
    SlotMigrating,
)
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import CommandObserver

__all__ = ["RedisLink"]

patch_cluster_nodes()


class RedisLink:
    """Connections, breaker, spans and error translation of one Redis backend."""

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
        #: redis-py's client. ``Any`` because redis-py types its commands for its
        #: sync and asyncio clients at once (``Awaitable[T] | T``): every call
        #: would need a cast, and the cluster and standalone clients differ.
        #: The rotating login (None: no password); shared by every connection.
        self.credentials = credentials_for(settings)
        self.client: Any = _connect(url, settings, cluster=self.cluster, login=self.credentials)
        host = url.split("://", 1)[1].split("/", 1)[0]
        self.address = host.rsplit("@", 1)[-1]
        self.observer = CommandObserver(telemetry or Telemetry(), name, "redis", self.address)
        #: Hit-path reads skip redis-py's per-command overhead (see resp.py).
        self.fast = None if self.cluster else _fast_pool(url, settings, self.credentials)
        self.breaker = CircuitBreaker(name, on_change=self.observer.breaker_changed)
        #: Redis Cluster: a breaker per node, so one failing node leaves the rest alone.
        self.node_breakers = NodeBreakers(name)
        if self.cluster:
            self.client.node_breakers = self.node_breakers

    def script(self, source: str) -> Any:
        """A Lua script, run by EVALSHA (loaded on first NOSCRIPT) on the key's node."""
        return self.client.register_script(source)

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Map redis-py exceptions to the error tree (the one place that does)."""
        try:
            yield
        except NoAwsCredentials as exc:
            raise BackendUnavailable(
                f"redis backend {self.name!r}: {exc}", metadata={"backend": self.name}
            ) from exc
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

    async def aclose(self) -> None:
        # Closing a client whose server is gone must not raise during shutdown.
        if self.fast is not None:
            self.fast.close()
        with self.translate_errors():
            await self.client.aclose()


def _password_source(settings: BackendSettings) -> str:
    """Where the password comes from, for a refused login's message."""
    if settings.auth == "iam":
        return (
            "its IAM token (auth: iam; the user must be IAM-enabled, and the AWS identity "
            "needs elasticache:Connect on the cache and the user)"
        )
    if settings.password_env:
        if settings.password_env not in os.environ:
            return f"password_env: the environment variable {settings.password_env} is not set"
        return f"the password in password_env ({settings.password_env})"
    if settings.password_file:
        return f"the password in password_file ({settings.password_file})"
    return "the password: none is configured (set password_env or password_file)"


def _fast_pool(url: str, settings: BackendSettings, login: Credentials | None) -> RespPool:
    # Same server verification, client certificate, login and age limit as redis-py's pool.
    age = settings.connection_age_limit
    return RespPool(
        url,
        username=settings.username,
        login=login,
        max_age=age.total_seconds() if age else None,
        timeout=settings.timeout.total_seconds(),
        connect_timeout=settings.connect_timeout.total_seconds(),
        ssl_context=client_context(settings),
    )


def replica_client(url: str, settings: BackendSettings, login: Credentials | None) -> Any:
    """A cluster client that sends reads to replicas (READONLY), for replicas.py."""
    return _connect(
        url,
        settings,
        cluster=True,
        login=login,
        load_balancing_strategy=LoadBalancingStrategy.ROUND_ROBIN_REPLICAS
        if settings.read_from == "replica"
        else LoadBalancingStrategy.ROUND_ROBIN,
    )


def _connect(
    url: str, settings: BackendSettings, *, cluster: bool, login: Credentials | None, **extra: Any
) -> Any:
    options: dict[str, Any] = {
        "socket_timeout": settings.timeout.total_seconds(),
        "socket_connect_timeout": settings.connect_timeout.total_seconds(),
        # One immediate retry re-dials a pooled connection that died with a
        # server restart; more would only make callers wait on a dead server.
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 0,
        "decode_responses": False,
    }
    if login is not None:
        # Every login goes through it (connections.py): rotation, IAM tokens.
        options["credential_provider"] = login
    elif settings.username:
        options["username"] = settings.username
    age = settings.connection_age_limit
    managed = connection_class(
        tls=settings.tls, login=login, max_age=age.total_seconds() if age else None
    )
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
        client = WaitingCluster.from_url(
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
            **extra,
        )
        # redis-py's cluster client picks its connection class itself: swap
        # ours in before any node dials (one shared kwargs dict, seed nodes).
        client.connection_kwargs["connection_class"] = managed
        for node in client.startup_nodes:
            node.connection_class = managed
        return client
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=settings.pool_size,
        timeout=settings.timeout.total_seconds(),
        **options,
    )
    pool.connection_class = managed  # from_url would override a kwarg with the URL's
    # from_pool hands the pool to the client, so aclose() also closes its connections.
    return aioredis.Redis.from_pool(pool)
