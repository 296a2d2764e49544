"""The durable partitioned queue capability: what write-behind needs from a store.

A namespace's writes are spread over partitions; each partition is a queue
(appends in order, read through one consumer group, acked once written), a
dead-letter queue, a history of what was written per key (so a replayed
dead letter never lands over a newer write) and an owner lease (one flusher
per partition across sidecars). Every key of a partition shares one hash tag,
so each operation touches one Redis Cluster slot.

Implemented by ``sidecar.backends.redis.queue.RedisQueue`` (Redis and Redis
Cluster, on Streams). Memcached has no durable structure to build it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sidecar.backends.versions import Condition, PutOutcome

__all__ = [
    "Enqueued",
    "NotReplicated",
    "Page",
    "QueueStats",
    "QueuedWrite",
    "WriteQueue",
    "sequence_order",
]


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    """One queued write as the flusher reads it."""

    entry_id: bytes
    key: str
    value: bytes
    delete: bool
    write_id: str
    accepted_ms: int
    traceparent: str
    #: The write's place in its key's history: its entry id when first queued.
    sequence: bytes = b""
    #: Put back by ReplayDeadLetters (its sequence is older than its entry id).
    replayed: bool = False
    #: The version the cache entry got when the write was queued (0: queued by
    #: a sidecar that predates versioned enqueues).
    version: int = 0

    @property
    def order(self) -> tuple[int, int]:
        """The sequence as numbers, for comparing two writes of one key."""
        return sequence_order(self.sequence or self.entry_id)


@dataclass(frozen=True, slots=True)
class Page:
    """One read of a partition: its writes, where it ended, and entries whose
    message is gone (pending, but deleted meanwhile: they only need an ack)."""

    writes: list[QueuedWrite]
    last_id: bytes | None
    gone: list[bytes]
    count: int


@dataclass(frozen=True, slots=True)
class Enqueued:
    """What an enqueue did: ``outcome`` is the version rule's and the
    condition's verdict on the cache entry; only a STORED write is queued
    (``entry_id``; empty otherwise)."""

    entry_id: bytes
    outcome: PutOutcome


@dataclass(frozen=True, slots=True)
class QueueStats:
    pending: int
    in_flight: int
    oldest_entry_ms: int | None
    dead_letters: int


class NotReplicated(Exception):
    """The write is queued on the primary, but fewer replicas than asked for
    confirmed it before the wait ran out (``ack: {replicas: N}``)."""

    def __init__(self, entry_id: bytes, acked: int, wanted: int, version: int = 0) -> None:
        super().__init__(f"{acked} of {wanted} replicas acknowledged entry {entry_id!r}")
        self.entry_id = entry_id
        self.version = version
        self.acked = acked
        self.wanted = wanted


def sequence_order(sequence: bytes) -> tuple[int, int]:
    """A stream id (``<ms>-<n>``) as numbers, for ordering."""
    ms, _, n = sequence.partition(b"-")
    return int(ms), int(n or 0)


@runtime_checkable
class WriteQueue(Protocol):
    """One backend's write-behind queues, addressed by key."""

    async def enqueue(
        self,
        *,
        value_key: bytes,
        lease_key: bytes,
        queue: bytes,
        entry: bytes,
        ttl_ms: int,
        limit: int,
        key: str,
        value: bytes,
        delete: bool,
        write_id: str,
        accepted_ms: int,
        traceparent: str,
        replicas: int = 0,
        wait_ms: int = 0,
        condition: Condition = Condition.ALWAYS,
        expected: int = 0,
    ) -> Enqueued:
        """Store the cache entry, break its load lease and append the write, all or
        nothing; ResourceExhausted (QUEUE_FULL) past ``limit``.

        ``entry`` is a versioned record (``backends/versions.py``): it is stored,
        and the write queued, only by the version rule and ``condition`` (with
        ``expected`` for Condition.VERSION), as a versioned put would be; a
        refused write is neither stored nor queued.

        ``replicas`` > 0: then wait (up to ``wait_ms``) until that many replicas
        have the write; :class:`NotReplicated` if fewer did (it stays queued)."""
        ...

    async def ensure_group(self, queue: bytes) -> None:
        """Create the queue and its consumer group if missing."""
        ...

    async def read(self, queue: bytes, consumer: bytes, count: int, *, after: bytes | None) -> Page:
        """``consumer``'s own pending entries after ``after``, or (``after`` None)
        up to ``count`` new ones."""
        ...

    async def claim(self, queue: bytes, consumer: bytes, count: int) -> int:
        """Take over entries another (crashed) consumer left pending; how many."""
        ...

    async def ack(
        self,
        queue: bytes,
        history: bytes,
        entry_ids: Sequence[bytes],
        *,
        written: Sequence[QueuedWrite] = (),
        settled: Sequence[QueuedWrite] = (),
    ) -> None:
        """Remove ``entry_ids``; record ``written`` sequences and ``settled`` replays."""
        ...

    async def dead_letter(
        self, queue: bytes, dead: bytes, history: bytes, write: QueuedWrite, error: str
    ) -> None:
        """Move one write to the dead-letter queue with the writer's error."""
        ...

    async def written_since(self, history: bytes, keys: Sequence[str]) -> dict[str, bytes]:
        """For keys with dead letters outstanding: the newest sequence written since."""
        ...

    async def replay(self, queue: bytes, dead: bytes, limit: int) -> int:
        """Move up to ``limit`` dead letters back onto the queue, oldest first."""
        ...

    async def stats(self, queue: bytes, dead: bytes) -> QueueStats: ...

    async def take(self, owner_key: bytes, token: bytes, ttl_ms: int, epoch_key: bytes) -> int:
        """Become the partition's flusher for ``ttl_ms`` unless someone is: 0 when
        not, else the owner epoch (``epoch_key``), bumped by every takeover in the
        same step, so a former owner's late WriteBatch carries a lower one."""
        ...

    async def renew(self, owner_key: bytes, token: bytes, ttl_ms: int) -> bool:
        """Extend ownership; False if it was lost (expired, taken over)."""
        ...

    async def give_up(self, owner_key: bytes, token: bytes) -> None: ...
