"""CacheService methods: cache-aside, plain get/set/invalidate, write-through
and write-behind.

Values are opaque bytes in the application's encoding. Reads return the
generated response messages (``found``, ``value``, ``source``): a miss is
``found=False``, never ``None``, because an empty value is a real value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from cachecar._base import _Base, duration
from cachecar.v1 import cache_pb2, writer_pb2

__all__ = ["SetItem", "WriteId"]


class WriteId(str):
    """A write's id (a ``str``, as before) that also carries ``version``: the
    version the cache entry got from this write (0 when it was invalidated).

    ``write_through`` and ``enqueue_write`` return one, so code that treats the
    result as the id keeps working and new code reads the version."""

    version: int

    def __new__(cls, write_id: str, version: int = 0) -> WriteId:
        made = super().__new__(cls, write_id)
        made.version = version
        return made


@dataclass(frozen=True)
class SetItem:
    """One write of :meth:`CacheMethods.set_many` (the fields of :meth:`set`)."""

    key: str
    value: bytes
    ttl: timedelta | float | None = None
    version: int = 0
    if_absent: bool = False
    if_present: bool = False
    if_version: int | None = None
    tags: Sequence[str] = field(default_factory=tuple)


def _condition(
    if_absent: bool, if_present: bool, if_version: int | None
) -> tuple[cache_pb2.Condition.ValueType, int]:
    """The proto condition and expected version; at most one may be asked for."""
    if if_absent + if_present + (if_version is not None) > 1:
        raise ValueError("pass at most one of if_absent, if_present, if_version")
    if if_absent:
        return cache_pb2.CONDITION_IF_ABSENT, 0
    if if_present:
        return cache_pb2.CONDITION_IF_PRESENT, 0
    if if_version is not None:
        return cache_pb2.CONDITION_IF_VERSION, if_version
    return cache_pb2.CONDITION_UNSPECIFIED, 0


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
        version: int = 0,
        if_absent: bool = False,
        if_present: bool = False,
        if_version: int | None = None,
        tags: Sequence[str] = (),
        timeout: float | None = None,
    ) -> int:
        """Store ``value`` in the cache only (not in the app); ``ttl`` defaults
        to the namespace's. Returns the stored version.

        ``version``: the app's version (a lower one than cached fails with
        FAILED_PRECONDITION / VERSION_STALE). ``if_absent`` / ``if_present`` /
        ``if_version``: store only then, else ABORTED (VALUE_EXISTS,
        VALUE_MISSING, VERSION_MISMATCH). ``tags``: for :meth:`invalidate_tags`.
        Retried on UNAVAILABLE only without a condition (setting twice is
        setting once; a conditional retry could fail on its own first try).
        """
        condition, expected = _condition(if_absent, if_present, if_version)
        request = cache_pb2.SetRequest(
            namespace=namespace,
            key=key,
            value=value,
            ttl=duration(ttl),
            version=version,
            condition=condition,
            expected_version=expected,
            tags=list(tags),
        )
        response = await self._unary(
            self._cache.Set,
            request,
            cache_pb2.SetResponse,
            timeout=timeout,
            idempotent=condition == cache_pb2.CONDITION_UNSPECIFIED,
        )
        return response.version

    async def invalidate(
        self,
        namespace: str,
        keys: str | Iterable[str],
        *,
        version: int = 0,
        timeout: float | None = None,
    ) -> int:
        """Drop ``keys`` (one key or many) from the cache; how many had an entry.

        An invalidation that lands during a load of the same key wins: the
        loaded value is not stored. With ``version`` (a change feed's), each
        key keeps a tombstone of it, so an older fill or write is refused.
        """
        request = cache_pb2.InvalidateRequest(
            namespace=namespace, keys=_keys(keys), version=version
        )
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
        version: int = 0,
        if_absent: bool = False,
        if_present: bool = False,
        if_version: int | None = None,
        tags: Sequence[str] = (),
        timeout: float | None = None,
    ) -> WriteId:
        """Send a write to the app's writer and, once it succeeded, update the
        cache; returns the write's id (its ``.version``: the cached entry's).
        ``delete=True`` removes the key instead.
        ``version``, the conditions and ``tags`` are :meth:`set`'s; a condition
        is checked before the writer is called.

        Never retried: a retry would be a second write with a new write_id.
        """
        condition, expected = _condition(if_absent, if_present, if_version)
        request = cache_pb2.WriteThroughRequest(
            namespace=namespace,
            key=key,
            value=value,
            kind=_kind(delete),
            version=version,
            condition=condition,
            expected_version=expected,
            tags=list(tags),
        )
        response = await self._unary(
            self._cache.WriteThrough,
            request,
            cache_pb2.WriteThroughResponse,
            timeout=timeout,
            idempotent=False,
        )
        return WriteId(response.write_id, response.version)

    async def enqueue_write(
        self,
        namespace: str,
        key: str,
        value: bytes = b"",
        *,
        delete: bool = False,
        version: int = 0,
        if_absent: bool = False,
        if_present: bool = False,
        if_version: int | None = None,
        timeout: float | None = None,
    ) -> WriteId:
        """Update the cache and durably queue the write for the app's writer
        (write-behind) in one atomic step; returns the write's stable id (its
        ``.version``: the version the cache entry got).

        ``version`` and the conditions are :meth:`set`'s, checked in the same
        step: a refused write is neither cached nor queued. The writer gets
        the version the entry got (``Write.version``).

        Never retried: a retried enqueue would queue the write twice.
        """
        condition, expected = _condition(if_absent, if_present, if_version)
        request = cache_pb2.EnqueueWriteRequest(
            namespace=namespace,
            key=key,
            value=value,
            kind=_kind(delete),
            version=version,
            condition=condition,
            expected_version=expected,
        )
        response = await self._unary(
            self._cache.EnqueueWrite,
            request,
            cache_pb2.EnqueueWriteResponse,
            timeout=timeout,
            idempotent=False,
        )
        return WriteId(response.write_id, response.version)

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

    async def get_many(
        self, namespace: str, keys: Iterable[str], *, timeout: float | None = None
    ) -> list[cache_pb2.GetResult]:
        """The cached values of ``keys`` (never calling the loader), in order."""
        response = await self._unary(
            self._cache.GetMany,
            cache_pb2.GetManyRequest(namespace=namespace, keys=list(keys)),
            cache_pb2.GetManyResponse,
            timeout=timeout,
            idempotent=True,
        )
        return list(response.results)

    async def set_many(
        self,
        namespace: str,
        items: Iterable[SetItem],
        *,
        ttl: timedelta | float | None = None,
        timeout: float | None = None,
    ) -> list[cache_pb2.SetResult]:
        """Store many values; one result per item (``stored``, ``version`` or
        ``error``). ``ttl`` applies to items without their own. Retried on
        UNAVAILABLE only when no item has a condition."""
        messages = []
        for item in items:
            condition, expected = _condition(item.if_absent, item.if_present, item.if_version)
            messages.append(
                cache_pb2.SetItem(
                    key=item.key,
                    value=item.value,
                    ttl=duration(item.ttl),
                    version=item.version,
                    condition=condition,
                    expected_version=expected,
                    tags=list(item.tags),
                )
            )
        response = await self._unary(
            self._cache.SetMany,
            cache_pb2.SetManyRequest(namespace=namespace, items=messages, ttl=duration(ttl)),
            cache_pb2.SetManyResponse,
            timeout=timeout,
            idempotent=all(m.condition == cache_pb2.CONDITION_UNSPECIFIED for m in messages),
        )
        return list(response.results)

    async def touch(
        self,
        namespace: str,
        key: str,
        *,
        ttl: timedelta | float | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Give a cached value a new TTL (default: the namespace's) without
        sending it again; False if nothing is cached."""
        response = await self._unary(
            self._cache.Touch,
            cache_pb2.TouchRequest(namespace=namespace, key=key, ttl=duration(ttl)),
            cache_pb2.TouchResponse,
            timeout=timeout,
            idempotent=True,
        )
        return response.found

    async def invalidate_tags(
        self, namespace: str, tags: str | Iterable[str], *, timeout: float | None = None
    ) -> None:
        """Make every value carrying any of ``tags`` a miss (one counter per tag)."""
        await self._unary(
            self._cache.InvalidateTags,
            cache_pb2.InvalidateTagsRequest(namespace=namespace, tags=_keys(tags)),
            cache_pb2.InvalidateTagsResponse,
            timeout=timeout,
            idempotent=True,
        )
