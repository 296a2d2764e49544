"""redis-py's async cluster client, made safe for a sidecar's concurrency.

- callers wait for a free connection instead of failing (``_Permits``);
- multi-key commands ride through slot migrations (``migration.py``),
  and count toward a breaker per node (``node.py``);
- a write racing a topology refresh's close is a connection error, not a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from sidecar.backends.redis.migration import riding_migrations
from sidecar.backends.redis.node import NodeBreakers

__all__ = ["WaitingCluster"]


#: The permit gate the current task already holds, so a nested call (a pipeline
#: resending a redirected command through the client) does not wait on itself.
_HELD: ContextVar[object | None] = ContextVar("cachecar_cluster_permit", default=None)


class _Permits:
    """At most ``n`` cluster commands in flight; the rest wait their turn.

    redis-py's async cluster client raises MaxConnectionsError instead of
    waiting once ``max_connections`` commands are in flight to one node
    (redis-py issues 3135, 2522; PR 3359 never merged), which surfaced as
    BACKEND_UNAVAILABLE (and an opening breaker) under 1,000 concurrent calls.
    A command holds one connection per node it touches, so ``n`` permits keep
    every node's pool within ``n`` connections."""

    def __init__(self, n: int) -> None:
        self._semaphore = asyncio.Semaphore(n)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        if _HELD.get() is self:
            yield
            return
        async with self._semaphore:
            token = _HELD.set(self)
            try:
                yield
            finally:
                _HELD.reset(token)


class WaitingCluster(RedisCluster):
    """redis-py's async cluster client, with callers waiting for a free connection."""

    def __init__(self, *args: Any, permits: int = 64, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.permits = _Permits(permits)

    #: Set by the backend: the breakers its commands count toward, per node.
    node_breakers: NodeBreakers | None = None

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.permits.held(), _closed_writer_is_a_connection_error():
            if self.node_breakers is None:
                return await riding_migrations(super().execute_command, *args, **kwargs)
            with self.node_breakers.current():
                return await riding_migrations(super().execute_command, *args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises, as redis-py does
        return _WaitingPipeline(self, transaction)  # type: ignore[abstract]  # as redis-py does


class _WaitingPipeline(ClusterPipeline):
    """A cluster pipeline (``mget_nonatomic``) holds one permit while it runs."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        client = self.cluster_client
        assert isinstance(client, WaitingCluster)
        async with client.permits.held(), _closed_writer_is_a_connection_error():
            return await super().execute(raise_on_error, allow_redirections)


@asynccontextmanager
async def _closed_writer_is_a_connection_error() -> AsyncIterator[None]:
    """redis-py lets a write race with a concurrent close of the same connection
    escape as ``AttributeError: 'NoneType' object has no attribute 'writelines'``
    (or a TypeError; redis-py issues 3546, 4287). In a cluster it happens while a
    failover's topology refresh closes connections under commands in flight, and
    surfaced as INTERNAL. It is a lost connection: say so, so it becomes
    BACKEND_UNAVAILABLE (GetOrLoad falls back to the loader)."""
    try:
        yield
    except (AttributeError, TypeError) as exc:
        if "NoneType" not in str(exc):
            raise
        raise RedisConnectionError(
            f"connection closed under a command (topology refresh?): {exc}"
        ) from exc
