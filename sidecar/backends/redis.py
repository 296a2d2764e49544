"""Redis and Redis Cluster backend over ``redis.asyncio`` (hiredis parser).

``redis://`` and ``rediss://`` (TLS) use one blocking connection pool;
``redis+cluster://`` / ``rediss+cluster://`` use redis-py's cluster client,
which follows MOVED/ASK and splits multi-key commands by slot. Every driver
exception is translated here, once, into the sidecar's error tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from sidecar.backends.base import MISSING, BackendKind, Missing
from sidecar.config import BackendSettings
from sidecar.errors import BackendUnavailable, ResourceExhausted
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["RedisBackend"]


class RedisBackend:
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
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(
                f"redis backend {self.name!r} ({self.address}) is unreachable: "
                f"{type(exc).__name__}: {exc}; check that Redis is running and reachable",
                metadata={"backend": self.name},
            ) from exc

    @observed("GET")
    async def get(self, key: bytes) -> bytes | Missing:
        with self.translate_errors():
            value = await self._client.get(key)
        return MISSING if value is None else bytes(value)

    @observed("MGET")
    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        if not keys:
            return []
        with self.translate_errors():
            if self.cluster:
                values = await self._client.mget_nonatomic(list(keys))
            else:
                values = await self._client.mget(list(keys))
        return [MISSING if v is None else bytes(v) for v in values]

    @observed("SET")
    async def set(self, key: bytes, value: bytes, ttl_ms: int) -> None:
        with self.translate_errors():
            await self._client.set(key, value, px=max(1, ttl_ms))

    @observed("SET NX")
    async def add(self, key: bytes, value: bytes, ttl_ms: int) -> bool:
        with self.translate_errors():
            return bool(await self._client.set(key, value, px=max(1, ttl_ms), nx=True))

    @observed("DEL")
    async def delete(self, keys: Sequence[bytes]) -> int:
        if not keys:
            return 0
        with self.translate_errors():
            return int(await self._client.delete(*keys))

    async def ping(self) -> None:
        # Not observed: health pings every second would flood traces with roots.
        with self.translate_errors():
            await self._client.ping()

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
        with self.translate_errors():
            await self._client.aclose()


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
