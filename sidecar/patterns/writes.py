"""Write-through and the API side of write-behind (enqueue, queue state, replay).

Write-through: the app's writer first; only when it succeeds is the cache
updated (or invalidated, per namespace policy). Both go through the
cache-aside pattern's fenced Set/Invalidate, so a GetOrLoad racing the write
can never store the pre-write value afterwards.

Write-behind: the cache update and the queue append are one atomic operation of
the backend's WriteQueue (one Redis script); the flushing itself is
patterns/flusher.py.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from sidecar.backends.queue import NotReplicated, WriteQueue
from sidecar.backends.versions import PutStatus
from sidecar.callbacks import CallbackClients, Write
from sidecar.errors import BackendUnavailable, CacheCarError, DeadlineExceeded, FailedPrecondition
from sidecar.patterns import versions
from sidecar.patterns.cache_aside import CacheAside
from sidecar.patterns.entry import Entry, encode
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.versions import WriteOptions
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import inject_metadata

__all__ = ["QueueState", "Writes", "new_write_id"]

log = logging.getLogger("cachecar.writes")


def new_write_id(now_ms: int) -> str:
    """Unique, and sortable by acceptance time (hex milliseconds first)."""
    return f"{now_ms:012x}-{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class QueueState:
    pending: int
    in_flight: int
    oldest_age_s: float
    dead_letters: int


class Writes:
    """WriteThrough, EnqueueWrite, GetWriteQueue and ReplayDeadLetters."""

    def __init__(self, callbacks: CallbackClients, cache: CacheAside, telemetry: Telemetry) -> None:
        self._callbacks = callbacks
        self._cache = cache
        self._telemetry = telemetry

    def _writer_target(self, ns: Namespace) -> str:
        if ns.settings.writer is None:
            raise FailedPrecondition(
                f"namespace {ns.name!r} has no writer; set namespaces.{ns.name}.writer to the "
                "app's WriterService address",
                reason="WRITER_NOT_CONFIGURED",
                metadata={"namespace": ns.name},
            )
        return ns.settings.writer

    def queue(self, ns: Namespace) -> WriteQueue:
        """The namespace's queue operations, or the error that says why there is none."""
        queue = ns.require(WriteQueue)
        if ns.settings.write_behind is None:
            raise FailedPrecondition(
                f"namespace {ns.name!r} has no write-behind queue; add "
                f"`write_behind: {{}}` (and a writer) under namespaces.{ns.name}",
                reason="WRITE_BEHIND_NOT_CONFIGURED",
                metadata={"namespace": ns.name},
            )
        return queue

    async def write_through(
        self,
        ns: Namespace,
        key: str,
        value: bytes,
        *,
        delete: bool,
        time_left: float | None,
        options: WriteOptions = WriteOptions(),  # noqa: B008 (frozen)
    ) -> tuple[str, int]:
        """Apply the write through the app's writer, then the cache; the write id
        and the cached version (0 when the cache was invalidated)."""
        writer = self._callbacks.writer(self._writer_target(ns))
        now_ms = time.time_ns() // 1_000_000
        write = Write(
            ns.name, key, value, delete, new_write_id(now_ms), now_ms, version=options.version
        )
        cap = ns.settings.writer_timeout.total_seconds()
        await writer.write(write, cap if time_left is None else min(time_left, cap))
        version = 0
        try:
            if delete or ns.settings.write_through == "invalidate":
                # With a version, a delete leaves a tombstone of it.
                await self._cache.invalidate(ns, [key], options.version)
            else:
                # The condition was checked before the writer ran; now only the
                # version rule applies (the app's database already changed).
                unconditional = WriteOptions(options.version, tags=options.tags)
                version = await self._cache.set(ns, key, value, None, unconditional)
        except CacheCarError as exc:
            if not isinstance(exc, BackendUnavailable) and exc.reason != "VERSION_STALE":
                raise
            # The write is in the app's database: report success. The cache will
            # hold the old value until its TTL if it comes back with its data
            # (VERSION_STALE: it already holds a newer one).
            log.warning(
                "write applied, cache not updated", extra={"namespace": ns.name, "error": str(exc)}
            )
        return write.write_id, version

    async def enqueue(
        self,
        ns: Namespace,
        key: str,
        value: bytes,
        *,
        delete: bool,
        options: WriteOptions = WriteOptions(),  # noqa: B008 (frozen)
    ) -> tuple[str, int]:
        """Update the cache and queue the write, atomically; the write id and the
        version the entry got. A write the version rule or its condition refuses
        is neither cached nor queued: it raises the refusal Set would."""
        queue = self.queue(ns)
        self._writer_target(ns)
        settings = ns.settings.write_behind
        assert settings is not None
        now_ms = time.time_ns() // 1_000_000
        ttl_ms = ns.ttl_ms()
        # A queued delete caches "not found": until the writer has applied it, a
        # read must not load the old row back from the database.
        entry = Entry(not delete, b"" if delete else value, now_ms + ttl_ms, 0, options.version)
        write_id = new_write_id(now_ms)
        partition = ns.keys.partition(key)
        limit = -(-settings.max_pending // settings.partitions)
        traceparent = dict(inject_metadata()).get("traceparent", "")
        try:
            enqueued = await queue.enqueue(
                value_key=ns.keys.value(key),
                lease_key=ns.keys.lease(key),
                queue=ns.keys.partition_key(b"q", partition),
                entry=encode(entry),
                ttl_ms=ttl_ms + ns.grace_ms,
                limit=limit,
                key=key,
                value=value,
                delete=delete,
                write_id=write_id,
                accepted_ms=now_ms,
                traceparent=traceparent,
                replicas=settings.ack_replicas,
                wait_ms=settings.ack_timeout_ms,
                condition=options.condition,
                expected=options.expected,
            )
        except NotReplicated as exc:
            self._telemetry.metrics.wb_enqueued.labels(ns.name).inc()
            raise _not_replicated(ns, write_id, exc) from exc
        finally:
            self._cache.written(ns, [key])  # read-your-writes on this sidecar's near cache
        if enqueued.outcome.status is not PutStatus.STORED:
            raise versions.refusal(ns, key, enqueued.outcome, options)
        self._telemetry.metrics.wb_enqueued.labels(ns.name).inc()
        return write_id, enqueued.outcome.version

    async def state(self, ns: Namespace) -> QueueState:
        queue = self.queue(ns)
        assert ns.settings.write_behind is not None
        pending = in_flight = dead = 0
        oldest: int | None = None
        for p in range(ns.settings.write_behind.partitions):
            stats = await queue.stats(
                ns.keys.partition_key(b"q", p), ns.keys.partition_key(b"d", p)
            )
            pending += stats.pending
            in_flight += stats.in_flight
            dead += stats.dead_letters
            if stats.oldest_entry_ms is not None:
                oldest = (
                    stats.oldest_entry_ms if oldest is None else min(oldest, stats.oldest_entry_ms)
                )
        age = 0.0 if oldest is None else max(0.0, time.time() - oldest / 1000)
        return QueueState(pending, in_flight, age, dead)

    async def replay(self, ns: Namespace, limit: int) -> int:
        """Move dead letters (oldest first, at most ``limit``; 0 = all) back onto the queue."""
        queue = self.queue(ns)
        assert ns.settings.write_behind is not None
        replayed = 0
        for p in range(ns.settings.write_behind.partitions):
            left = 10_000 if limit == 0 else limit - replayed
            if left <= 0:
                break
            replayed += await queue.replay(
                ns.keys.partition_key(b"q", p), ns.keys.partition_key(b"d", p), left
            )
        return replayed


def _not_replicated(ns: Namespace, write_id: str, exc: NotReplicated) -> DeadlineExceeded:
    """``ack: {replicas: N}`` ran out of time. The write is queued on the primary
    and will be written (it is not taken back: a retry would only queue it
    again), but a failover before it replicates can lose it: the caller is told
    exactly that, with the write id and how many replicas had it."""
    settings = ns.settings.write_behind
    assert settings is not None
    return DeadlineExceeded(
        f"write {write_id} is queued but not replicated: {exc.acked} of {exc.wanted} "
        f"replica(s) acknowledged it within {settings.ack_timeout_ms} ms "
        f"(namespaces.{ns.name}.write_behind.ack). It stays queued and will be written "
        "unless the primary fails before a replica has it",
        reason="WRITE_NOT_REPLICATED",
        metadata={
            "namespace": ns.name,
            "write_id": write_id,
            "version": str(exc.version),
            "replicas_acked": str(exc.acked),
            "replicas_wanted": str(exc.wanted),
        },
    )
