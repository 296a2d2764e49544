"""The write-behind flusher: queued writes to the app's WriterService, none lost.

Every sidecar runs one task per write-behind partition. A partition is
flushed by one sidecar at a time — whoever holds its flusher lease — which
keeps each key's writes in order even with many sidecars. Each round reads a
prefix of the partition (the owner's pending entries, all of them, before
any new one: patterns/flush_batch.py), keeps only the latest write per key,
calls ``WriteBatch`` and acknowledges only after it succeeded:

- writer unreachable or too slow: nothing is acknowledged; the round is
  retried with exponential backoff and jitter for as long as it takes;
- writer rejects the batch: each write is retried alone to find the poison
  one; a write rejected ``max_attempts`` times goes to the dead-letter stream;
- a sidecar that crashed stops renewing its leases; the next owner claims
  everything it left pending (XAUTOCLAIM) and writes it, in order;
- a replayed dead letter whose key has had a newer write written since is
  not written at all (superseded): a replay never lands an old value last.

Delivery is at-least-once: a write may reach the writer again (a crash after
the writer applied it, before the ack), always with its original write_id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from dataclasses import dataclass, field

from opentelemetry import propagate, trace

from sidecar.backends.queue import QueuedWrite, WriteQueue, sequence_order
from sidecar.callbacks import CallbackClients, Write
from sidecar.errors import (
    BackendUnavailable,
    CacheCarError,
    CallbackFailed,
    DeadlineExceeded,
    Unavailable,
)
from sidecar.patterns.flush_batch import Batch, coalesce, collect
from sidecar.patterns.namespace import Namespace, Namespaces
from sidecar.patterns.writes import Writes
from sidecar.telemetry import Telemetry

__all__ = ["Flusher"]

#: Reads of batch_size entries per flush window, at most: bounds the memory a
#: window holds while many updates of few keys coalesce.
_MAX_READS = 20
#: Span links per flush: enough to find the callers, not a list of thousands.
_MAX_LINKS = 32

log = logging.getLogger("cachecar.flusher")


# The part of owner_ttl kept free at the end of a lease: no WriteBatch runs in it.
_LEASE_MARGIN = 0.2


@dataclass
class _Partition:
    ns: Namespace
    index: int
    kick: asyncio.Event = field(default_factory=asyncio.Event)
    owned: bool = False
    attempts: dict[bytes, int] = field(default_factory=dict)
    #: Loop time the ownership lease runs out, as of the last take/renew.
    lease_until: float = 0.0
    #: The owner epoch of our current ownership, sent with every WriteBatch.
    epoch: int = 0

    def writer_budget(self, writer_timeout: float, owner_ttl: float) -> float:
        """How long a WriteBatch may take: it must end while the lease is ours.

        A batch still running when the lease lapses could land after the next
        owner's newer writes of the same keys (a lost update in the app's
        database), so each call's deadline stops short of the lease's end.
        """
        left = self.lease_until - asyncio.get_running_loop().time() - owner_ttl * _LEASE_MARGIN
        if left <= 0:
            raise DeadlineExceeded(
                "the partition's flush lease is about to lapse; renewing before writing",
                reason="LEASE_EXPIRING",
            )
        return min(writer_timeout, left)


class Flusher:
    """Flushes the write-behind partitions this sidecar owns."""

    def __init__(
        self,
        namespaces: Namespaces,
        writes: Writes,
        callbacks: CallbackClients,
        telemetry: Telemetry,
    ) -> None:
        self._writes = writes
        self._callbacks = callbacks
        self._metrics = telemetry.metrics
        self._tracer = telemetry.tracing.tracer
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}".encode()
        self._token = secrets.token_bytes(16)
        self._partitions = [
            _Partition(ns, p)
            for ns in namespaces.values()
            if ns.settings.write_behind is not None
            for p in range(ns.settings.write_behind.partitions)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False
        self.flushed = 0  # acknowledged by this sidecar, for FlushWrites

    def start(self) -> None:
        for part in self._partitions:
            name = f"flusher-{part.ns.name}-{part.index}"
            self._tasks.append(asyncio.create_task(self._run(part), name=name))

    def kick(self, ns: Namespace) -> None:
        """Flush ``ns`` now instead of at the next interval."""
        for part in self._partitions:
            if part.ns is ns:
                part.kick.set()

    async def flush_now(self, ns: Namespace, time_left: float | None) -> tuple[int, int]:
        """FlushWrites: flush ``ns`` now and wait until its queue is empty or time is up.

        Partitions owned by other sidecars are flushed by them at their own
        interval; this waits for those too. (acknowledged here, still pending)."""
        before = self.flushed
        budget = 30.0 if time_left is None else time_left
        deadline = asyncio.get_running_loop().time() + budget
        # Answer a little before the caller's deadline (a tenth, 50-200 ms), so
        # the reply (with what is still pending) reaches it in time even on a
        # busy machine.
        margin = max(0.05, min(0.2, budget / 10))
        delay = 0.01
        while True:
            self.kick(ns)
            state = await self._writes.state(ns)
            remaining = deadline - asyncio.get_running_loop().time()
            if state.pending == 0 or remaining <= margin:
                return self.flushed - before, state.pending
            await asyncio.sleep(min(delay, remaining - margin))
            delay = min(delay * 2, 0.25)

    async def drain(self, grace: float) -> None:
        """SIGTERM: write out the partitions this sidecar owns (bounded by ``grace``),
        then hand them over; whatever is left stays queued for another sidecar."""
        self._draining = True
        for part in self._partitions:
            part.kick.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
            # What the late ones held stays pending: another sidecar claims it.
            await self.abandon()

    async def abandon(self) -> None:
        """Stop every partition task now, mid-round if need be, releasing nothing:
        what they held stays pending until another sidecar takes it over."""
        pending = {task for task in self._tasks if not task.done()}
        # Cancel until each has ended: on Python 3.11 a wait_for() whose inner
        # wait finishes as the cancel arrives swallows it, and the loop runs on.
        for _ in range(100):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)
        await asyncio.gather(*(t for t in self._tasks if t.done()), return_exceptions=True)
        self._tasks = [t for t in self._tasks if not t.done()]

    async def _wait(self, part: _Partition, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(part.kick.wait(), timeout=seconds)
        part.kick.clear()

    async def _run(self, part: _Partition) -> None:
        ns = part.ns
        settings = ns.settings.write_behind
        assert settings is not None
        queue = self._writes.queue(ns)
        owner = ns.keys.partition_key(b"o", part.index)
        owner_ms = int(settings.owner_ttl.total_seconds() * 1000)
        interval = settings.flush_interval.total_seconds()
        backoff = settings.retry_backoff.total_seconds()
        while True:
            try:
                if not part.owned and self._draining:
                    return
                if not await self._hold(part, queue, owner, owner_ms):
                    continue  # not ours, or ours but nothing to flush yet
                done = await self._round(part, queue)
                backoff = settings.retry_backoff.total_seconds()
                if self._draining and done == 0:
                    await queue.give_up(owner, self._token)
                    part.owned = False
                    return
                if done < settings.batch_size:
                    await self._wait_holding(part, queue, owner, owner_ms, interval)
            except (Unavailable, DeadlineExceeded) as exc:
                backoff = await self._after_failure(part, exc, backoff)
                if self._draining:
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not silently stop a partition's writes: log, pause, go on.
                log.exception(
                    "write-behind flusher error",
                    extra={"namespace": ns.name, "partition": part.index},
                )
                await self._wait(part, settings.max_backoff.total_seconds())
                if self._draining:
                    return

    async def _after_failure(self, part: _Partition, exc: CacheCarError, backoff: float) -> float:
        """Writer or Redis down: keep everything, wait, try again; the next backoff."""
        settings = part.ns.settings.write_behind
        assert settings is not None
        self._metrics.wb_retries.labels(part.ns.name).inc()
        log.warning(
            "write-behind flush failed, will retry",
            extra={
                "namespace": part.ns.name,
                "partition": part.index,
                "error": str(exc),
                "retry_in_s": round(backoff, 2),
            },
        )
        await self._wait(part, backoff * (0.5 + random.random()))  # noqa: S311
        if isinstance(exc, BackendUnavailable):
            part.owned = False  # re-take (and re-check) the lease once Redis is back
        return min(backoff * 2, settings.max_backoff.total_seconds())

    async def _hold(self, part: _Partition, queue: WriteQueue, owner: bytes, owner_ms: int) -> bool:
        """Take or renew the partition's lease; True when a round should run now."""
        if not part.owned:
            return await self._acquire(part, queue, owner, owner_ms)
        return await self._renew(part, queue, owner, owner_ms)

    async def _renew(
        self, part: _Partition, queue: WriteQueue, owner: bytes, owner_ms: int
    ) -> bool:
        renewing = asyncio.get_running_loop().time()
        if not await queue.renew(owner, self._token, owner_ms):
            part.owned = False
            return False
        part.lease_until = renewing + owner_ms / 1000
        return True

    async def _wait_holding(
        self, part: _Partition, queue: WriteQueue, owner: bytes, owner_ms: int, seconds: float
    ) -> None:
        """:meth:`_wait` while owning the partition, renewing the lease every half
        owner_ttl: a flush_interval longer than owner_ttl must not let the lease
        lapse, or every renew fails, every re-take waits again, and nothing is
        ever flushed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        step = owner_ms / 2000
        while (left := end - loop.time()) > step:
            try:
                await asyncio.wait_for(part.kick.wait(), timeout=step)
            except TimeoutError:
                if not await self._renew(part, queue, owner, owner_ms):
                    return
                continue
            part.kick.clear()
            return
        await self._wait(part, max(left, 0.0))

    async def _acquire(
        self, part: _Partition, queue: WriteQueue, owner: bytes, owner_ms: int
    ) -> bool:
        """Try to become the partition's flusher; True when a round should run now."""
        settings = part.ns.settings.write_behind
        assert settings is not None
        started = asyncio.get_running_loop().time()
        epoch_key = part.ns.keys.partition_key(b"e", part.index)
        part.epoch = await queue.take(owner, self._token, owner_ms, epoch_key)
        part.owned = part.epoch > 0
        part.lease_until = started + owner_ms / 1000
        if not part.owned:
            await self._wait(part, settings.owner_ttl.total_seconds() / 2)
            return False
        stream = part.ns.keys.partition_key(b"q", part.index)
        await queue.ensure_group(stream)
        claimed = await queue.claim(stream, self.consumer, 500)
        if claimed == 0 and not self._draining:
            # Nothing left over by a crashed owner: new writes wait for the
            # first flush window like any other.
            await self._wait_holding(
                part, queue, owner, owner_ms, settings.flush_interval.total_seconds()
            )
            return False
        return True

    async def _round(self, part: _Partition, queue: WriteQueue) -> int:
        """One read-write-ack round; the number of queued writes acknowledged."""
        settings = part.ns.settings.write_behind
        assert settings is not None
        stream = part.ns.keys.partition_key(b"q", part.index)
        batch = await collect(queue, stream, self.consumer, settings.batch_size, _MAX_READS)
        if not batch:
            self._metrics.wb_pending.labels(part.ns.name).set(0)
            return 0
        if self._tracer is None:
            return await self._write_out(part, queue, batch)
        # A span per non-empty round (an idle queue makes none), linked to the
        # calls that queued its writes.
        with self._tracer.start_as_current_span(
            "cachecar.write_behind.flush",
            attributes={"cachecar.namespace": part.ns.name, "cachecar.partition": part.index},
        ) as span:
            done = await self._write_out(part, queue, batch)
            span.set_attribute("cachecar.writes_acknowledged", done)
            return done

    async def _write_out(self, part: _Partition, queue: WriteQueue, batch: Batch) -> int:
        ns = part.ns
        assert ns.settings.writer is not None
        writer = self._callbacks.writer(ns.settings.writer)
        if batch.gone:
            await self._ack(part, queue, [], gone=batch.gone)
        latest = await self._drop_superseded(part, queue, batch, coalesce(batch.writes))
        if not latest:
            return len(batch.writes)
        _link_enqueuers(latest)
        timeout = await self._budget(part, queue)
        try:
            await writer.write_batch(
                ns.name,
                [_write(ns, w) for w in latest],
                timeout,
                owner_epoch=part.epoch,
                partition=part.index,
            )
        except CallbackFailed as exc:
            self._metrics.wb_batches.labels(ns.name, "rejected").inc()
            return await self._isolate(part, queue, batch.writes, latest, exc)
        except CacheCarError:
            self._metrics.wb_batches.labels(ns.name, "failed").inc()
            raise
        self._metrics.wb_batches.labels(ns.name, "ok").inc()
        keys = {w.key for w in latest}
        await self._ack(part, queue, [w for w in batch.writes if w.key in keys], written=latest)
        return len(batch.writes)

    async def _drop_superseded(
        self, part: _Partition, queue: WriteQueue, batch: Batch, latest: list[QueuedWrite]
    ) -> list[QueuedWrite]:
        """``latest`` without the replayed writes whose key has had a newer write
        written since they were first queued; those are acknowledged unwritten."""
        replayed = [w for w in latest if w.replayed]
        if not replayed:
            return latest
        history = part.ns.keys.partition_key(b"h", part.index)
        marks = await queue.written_since(history, [w.key for w in replayed])
        stale = {
            w.key: w for w in replayed if w.key in marks and sequence_order(marks[w.key]) >= w.order
        }
        if not stale:
            return latest
        for w in stale.values():
            log.warning(
                "replayed write superseded by a newer write of its key; not written",
                extra={"namespace": part.ns.name, "write_id": w.write_id},
            )
        self._metrics.wb_superseded.labels(part.ns.name).inc(len(stale))
        await self._ack(part, queue, [w for w in batch.writes if w.key in stale])
        return [w for w in latest if w.key not in stale]

    async def _budget(self, part: _Partition, queue: WriteQueue) -> float:
        """The deadline of the next WriteBatch, renewing the lease first when
        what is left of it would cut the call shorter than writer_timeout."""
        settings = part.ns.settings.write_behind
        assert settings is not None
        writer_timeout = part.ns.settings.writer_timeout.total_seconds()
        owner_ttl = settings.owner_ttl.total_seconds()
        left = part.lease_until - asyncio.get_running_loop().time() - owner_ttl * _LEASE_MARGIN
        if left < writer_timeout:
            owner = part.ns.keys.partition_key(b"o", part.index)
            if not await self._renew(part, queue, owner, int(owner_ttl * 1000)):
                raise DeadlineExceeded(
                    "the partition's flush lease was lost; another sidecar flushes it now",
                    reason="LEASE_LOST",
                )
        return part.writer_budget(writer_timeout, owner_ttl)

    async def _isolate(
        self,
        part: _Partition,
        queue: WriteQueue,
        batch: list[QueuedWrite],
        latest: list[QueuedWrite],
        rejected: CallbackFailed,
    ) -> int:
        """The writer rejected a batch: write each key alone; dead-letter the poison."""
        ns = part.ns
        settings = ns.settings.write_behind
        assert settings is not None
        assert ns.settings.writer is not None
        writer = self._callbacks.writer(ns.settings.writer)
        acked = 0
        for write in latest:
            superseded = [w for w in batch if w.key == write.key]
            try:
                await writer.write_batch(
                    ns.name,
                    [_write(ns, write)],
                    await self._budget(part, queue),
                    owner_epoch=part.epoch,
                    partition=part.index,
                )
            except CallbackFailed as exc:
                tries = part.attempts.get(write.entry_id, 0) + 1
                part.attempts[write.entry_id] = tries
                if tries < settings.max_attempts:
                    continue
                log.warning(
                    "write dead-lettered after %d rejections",
                    tries,
                    extra={"namespace": ns.name, "write_id": write.write_id, "error": exc.message},
                )
                await queue.dead_letter(
                    ns.keys.partition_key(b"q", part.index),
                    ns.keys.partition_key(b"d", part.index),
                    ns.keys.partition_key(b"h", part.index),
                    write,
                    exc.message,
                )
                part.attempts.pop(write.entry_id, None)
                await self._ack(part, queue, [w for w in superseded if w is not write])
                self._metrics.wb_dead_letters.labels(ns.name).inc()
                continue
            await self._ack(part, queue, superseded, written=[write])
            acked += len(superseded)
        if acked == 0:
            # Nothing went through: pause before the next round, as for any failure.
            await asyncio.sleep(settings.retry_backoff.total_seconds())
            log.warning(
                "write-behind batch rejected",
                extra={"namespace": ns.name, "error": rejected.message},
            )
        return acked

    async def _ack(
        self,
        part: _Partition,
        queue: WriteQueue,
        writes: list[QueuedWrite],
        *,
        written: list[QueuedWrite] | None = None,
        gone: list[bytes] | None = None,
    ) -> None:
        """Acknowledge ``writes`` (``written``: those the writer applied); the
        replayed ones among them are settled in the partition's history."""
        ids = [w.entry_id for w in writes] + (gone or [])
        await queue.ack(
            part.ns.keys.partition_key(b"q", part.index),
            part.ns.keys.partition_key(b"h", part.index),
            ids,
            written=written or (),
            settled=[w for w in writes if w.replayed],
        )
        for w in writes:
            part.attempts.pop(w.entry_id, None)
        self.flushed += len(writes)
        self._metrics.wb_flushed.labels(part.ns.name).inc(len(writes))


def _link_enqueuers(writes: list[QueuedWrite]) -> None:
    """Link the flush span to the traces of the calls that queued its writes."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    for queued in writes[:_MAX_LINKS]:
        if queued.traceparent:
            context = trace.get_current_span(
                propagate.extract({"traceparent": queued.traceparent})
            ).get_span_context()
            if context.is_valid:
                span.add_link(context)


def _write(ns: Namespace, queued: QueuedWrite) -> Write:
    ms, n = queued.order
    return Write(
        ns.name,
        queued.key,
        queued.value,
        queued.delete,
        queued.write_id,
        queued.accepted_ms,
        # Fixed width, so the app orders two writes of a key by string comparison.
        sequence=f"{ms:016d}-{n:010d}",
        version=queued.version,
    )
