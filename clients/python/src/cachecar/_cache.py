"""CacheService methods: cache-aside, plain get/set/invalidate, write-through
and write-behind.

Values are opaque bytes in the application's encoding. Reads return the
generated response messages (``found``, ``value``, ``source``): a miss is
``found=False``, never ``None``, because an empty value is a real value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from cachecar._base import _Base, duration
from cachecar.v1 import cache_pb2, writer_pb2

__all__: list[str] = []


def _keys(keys: str | Iterable[str]) -> list[str]:
    # A lone str is itself an Iterable[str]; treating it as one key saves
    # callers from invalidating "4" and "2" when they meant "42".
    return [keys] if isinstance(keys, str) else list(keys)


def _kind(delete: bool) -> writer_pb2.WriteKind.ValueType:
    return writer_pb2.WRITE_KIND_DELETE if delete else writer_pb2.WRITE_KIND_PUT


class CacheMethods(_Base):
    """The CacheService half of :class:`cachecar.CacheCar`."""

    async def get_or_load(
        self, namespace: str, key: str, *, timeout: float | None = None
    ) -> cache_pb2.GetOrLoadResponse:
        """The cached value of ``key``; on a miss the sidecar calls the app's
        loader once per key (however many callers miss at once) and caches it.

        ``source`` says where the value came from (CACHE, LOADER, STALE, NEAR_CACHE).
        Retried on UNAVAILABLE: reading is idempotent.
        """
        request = cache_pb2.GetOrLoadRequest(namespace=namespace, key=key)
        return await self._unary(
            self._cache.GetOrLoad,
            request,
            cache_pb2.GetOrLoadResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def get_or_load_many(
        self, namespace: str, keys: Iterable[str], *, timeout: float | None = None
    ) -> list[cache_pb2.GetOrLoadResult]:
        """One result per key, in order; a key that failed has ``error`` set
        (and ``found=False``) while the others are unaffected."""
        request = cache_pb2.GetOrLoadManyRequest(namespace=namespace, keys=list(keys))
        response = await self._unary(
            self._cache.GetOrLoadMany,
            request,
            cache_pb2.GetOrLoadManyResponse,
            timeout=timeout,
            idempotent=True,
        )
        return list(response.results)

    async def get(
        self, namespace: str, key: str, *, timeout: float | None = None
    ) -> cache_pb2.GetResponse:
        """The cached value of ``key``, without ever calling the loader."""
        return await self._unary(
            self._cache.Get,
            cache_pb2.GetRequest(namespace=namespace, key=key),
            cache_pb2.GetResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def set(
        self,
        namespace: str,
        key: str,
        value: bytes,
        *,
        ttl: timedelta | float | None = None,
        timeout: float | None = None,
    ) -> None:
        """Store ``value`` in the cache only (not in the app); ``ttl`` defaults
        to the namespace's. Retried on UNAVAILABLE: setting twice is setting once."""
        request = cache_pb2.SetRequest(namespace=namespace, key=key, value=value, ttl=duration(ttl))
        await self._unary(
            self._cache.Set, request, cache_pb2.SetResponse, timeout=timeout, idempotent=True
        )

    async def invalidate(
        self, namespace: str, keys: str | Iterable[str], *, timeout: float | None = None
    ) -> int:
        """Drop ``keys`` (one key or many) from the cache; how many had an entry.

        An invalidation that lands during a load of the same key wins: the
        loaded value is not stored.
        """
        request = cache_pb2.InvalidateRequest(namespace=namespace, keys=_keys(keys))
        response = await self._unary(
            self._cache.Invalidate,
            request,
            cache_pb2.InvalidateResponse,
            timeout=timeout,
            idempotent=True,
        )
        return response.invalidated_count

    async def write_through(
        self,
        namespace: str,
        key: str,
        value: bytes = b"",
        *,
        delete: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Send a write to the app's writer and, once it succeeded, update the
        cache; returns the write's id. ``delete=True`` removes the key instead.

        Never retried: a retry would be a second write with a new write_id.
        """
        request = cache_pb2.WriteThroughRequest(
            namespace=namespace, key=key, value=value, kind=_kind(delete)
        )
        response = await self._unary(
            self._cache.WriteThrough,
            request,
            cache_pb2.WriteThroughResponse,
            timeout=timeout,
            idempotent=False,
        )
        return response.write_id

    async def enqueue_write(
        self,
        namespace: str,
        key: str,
        value: bytes = b"",
        *,
        delete: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Update the cache and durably queue the write for the app's writer
        (write-behind) in one atomic step; returns the write's stable id.

        Never retried: a retried enqueue would queue the write twice.
        """
        request = cache_pb2.EnqueueWriteRequest(
            namespace=namespace, key=key, value=value, kind=_kind(delete)
        )
        response = await self._unary(
            self._cache.EnqueueWrite,
            request,
            cache_pb2.EnqueueWriteResponse,
            timeout=timeout,
            idempotent=False,
        )
        return response.write_id

    async def get_write_queue(
        self, namespace: str, *, timeout: float | None = None
    ) -> cache_pb2.GetWriteQueueResponse:
        """Pending, in-flight and dead-lettered writes of a write-behind namespace."""
        return await self._unary(
            self._cache.GetWriteQueue,
            cache_pb2.GetWriteQueueRequest(namespace=namespace),
            cache_pb2.GetWriteQueueResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def flush_writes(
        self, namespace: str, *, timeout: float | None = None
    ) -> cache_pb2.FlushWritesResponse:
        """Flush the write-behind queue now and wait until it is drained or
        the deadline passes (pass a longer ``timeout`` for big queues)."""
        return await self._unary(
            self._cache.FlushWrites,
            cache_pb2.FlushWritesRequest(namespace=namespace),
            cache_pb2.FlushWritesResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def replay_dead_letters(
        self, namespace: str, *, limit: int = 0, timeout: float | None = None
    ) -> int:
        """Put dead-lettered writes (oldest first, at most ``limit``, 0 = all)
        back on the queue; how many. Not retried: a retry could replay more."""
        response = await self._unary(
            self._cache.ReplayDeadLetters,
            cache_pb2.ReplayDeadLettersRequest(namespace=namespace, limit=limit),
            cache_pb2.ReplayDeadLettersResponse,
            timeout=timeout,
            idempotent=False,
        )
        return response.replayed_count
