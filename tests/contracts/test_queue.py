"""The write-behind queue contract (``sidecar.backends.queue.WriteQueue``).

One partition per test (a write-behind layout with a single partition), so
every key shares the partition's hash tag as the flusher's keys do. The
consumer-group calls are exercised the way ``patterns/flush_batch.py`` and
``flusher.py`` make them: own pending entries first (``after=b"0"``), then new
ones (``after=None``); ack, dead-letter, replay and the per-key history.
"""

from __future__ import annotations

import pytest

from sidecar.backends.base import MISSING, Backend
from sidecar.backends.queue import Enqueued, QueuedWrite, QueueStats, WriteQueue, sequence_order
from sidecar.backends.versions import (
    FLAG_FOUND,
    RECORD_FORMAT,
    RECORD_HEAD,
    Condition,
    PutOutcome,
    PutStatus,
)
from sidecar.errors import ResourceExhausted
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import eventually, implementation, needs

pytestmark = needs(WriteQueue)

LONG = 60_000
SHORT = 200
ACCEPTED_MS = 1_700_000_000_000
TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


class Partition:
    """Partition 0 of a one-partition write-behind namespace, and its queue."""

    def __init__(self, component: Backend, keys: KeyLayout) -> None:
        self.component = component
        self.queue = implementation(component, WriteQueue)
        self.layout = KeyLayout(keys.prefix, keys.namespace, partitions=1)
        self.stream = self.layout.partition_key(b"q", 0)
        self.dead = self.layout.partition_key(b"d", 0)
        self.history = self.layout.partition_key(b"h", 0)
        self.owner = self.layout.partition_key(b"o", 0)

    async def enqueue(
        self, key: str, value: bytes = b"v", *, delete: bool = False, limit: int = 1000
    ) -> bytes:
        enqueued = await self.enqueue_versioned(key, value, delete=delete, limit=limit)
        assert enqueued.outcome.status is PutStatus.STORED
        return enqueued.entry_id

    async def enqueue_versioned(
        self,
        key: str,
        value: bytes = b"v",
        *,
        delete: bool = False,
        limit: int = 1000,
        version: int = 0,
        condition: Condition = Condition.ALWAYS,
        expected: int = 0,
    ) -> Enqueued:
        flags = 0 if delete else FLAG_FOUND
        return await self.queue.enqueue(
            value_key=self.layout.value(key),
            lease_key=self.layout.lease(key),
            queue=self.stream,
            entry=RECORD_HEAD.pack(RECORD_FORMAT, flags, version, 0) + b"entry:" + value,
            ttl_ms=LONG,
            limit=limit,
            key=key,
            value=value,
            delete=delete,
            write_id=f"w-{key}-{value.hex()}",
            accepted_ms=ACCEPTED_MS,
            traceparent=TRACEPARENT,
            condition=condition,
            expected=expected,
        )

    async def stored(self, key: str) -> bytes | None:
        """The cached entry's payload (after the record header), if any."""
        raw = await self.component.get(self.layout.value(key))
        return raw[RECORD_HEAD.size :] if isinstance(raw, bytes) else None

    async def read_new(self, consumer: bytes = b"a", count: int = 100) -> list[QueuedWrite]:
        page = await self.queue.read(self.stream, consumer, count, after=None)
        return page.writes

    async def pending(self, consumer: bytes = b"a", count: int = 100) -> list[QueuedWrite]:
        page = await self.queue.read(self.stream, consumer, count, after=b"0")
        return page.writes

    async def stats(self) -> QueueStats:
        return await self.queue.stats(self.stream, self.dead)


@pytest.fixture
def part(component: Backend, keys: KeyLayout) -> Partition:
    return Partition(component, keys)


async def test_enqueue_updates_the_cache_breaks_the_lease_and_queues(part: Partition) -> None:
    value_key, lease_key = part.layout.value("k"), part.layout.lease("k")
    fence = await part.component.lease(value_key, lease_key, LONG)
    assert fence is not None
    entry_id = await part.enqueue("k", b"new")
    assert await part.stored("k") == b"entry:new"
    assert await part.component.fill(fence, value_key, lease_key, b"stale load", LONG) is False
    assert await part.stored("k") == b"entry:new"
    assert await part.component.lease(value_key, lease_key, LONG) is not None
    assert await part.stats() == QueueStats(
        pending=1, in_flight=0, oldest_entry_ms=sequence_order(entry_id)[0], dead_letters=0
    )


async def test_a_full_queue_refuses_and_changes_nothing(part: Partition) -> None:
    await part.enqueue("a", limit=2)
    await part.enqueue("b", limit=2)
    with pytest.raises(ResourceExhausted) as refused:
        await part.enqueue("c", limit=2)
    assert refused.value.reason == "QUEUE_FULL"
    assert await part.component.get(part.layout.value("c")) is MISSING
    assert (await part.stats()).pending == 2


async def test_new_writes_are_delivered_in_order_once_per_group(part: Partition) -> None:
    # Queued before the group exists: a flusher starting later still gets them.
    ids = [await part.enqueue(f"k{i}", b"%d" % i, delete=i == 2) for i in range(5)]
    await part.queue.ensure_group(part.stream)
    await part.queue.ensure_group(part.stream)  # idempotent
    page = await part.queue.read(part.stream, b"a", 100, after=None)
    assert page.writes == [
        QueuedWrite(
            entry_id=entry_id,
            key=f"k{i}",
            value=b"%d" % i,
            delete=i == 2,
            write_id=f"w-k{i}-{(b'%d' % i).hex()}",
            accepted_ms=ACCEPTED_MS,
            traceparent=TRACEPARENT,
            sequence=entry_id,
            replayed=False,
            # A fresh key's first write gets version 1; a delete keeps version 0.
            version=0 if i == 2 else 1,
        )
        for i, entry_id in enumerate(ids)
    ]
    assert (page.count, page.last_id, page.gone) == (5, ids[-1], [])
    assert sorted(ids, key=sequence_order) == ids
    assert await part.read_new(b"a") == []
    assert await part.read_new(b"b") == []  # the group delivered them already


async def test_pending_writes_are_reread_until_acked(part: Partition) -> None:
    ids = [await part.enqueue(f"k{i}") for i in range(3)]
    await part.queue.ensure_group(part.stream)
    assert [w.entry_id for w in await part.read_new(count=100)] == ids
    assert [w.entry_id for w in await part.pending()] == ids
    first_two = await part.queue.read(part.stream, b"a", 2, after=b"0")
    assert ([w.entry_id for w in first_two.writes], first_two.last_id) == (ids[:2], ids[1])
    rest = await part.queue.read(part.stream, b"a", 2, after=ids[1])
    assert [w.entry_id for w in rest.writes] == ids[2:]
    assert await part.pending(b"b") == []  # pending entries are per consumer
    assert await part.stats() == QueueStats(3, 3, sequence_order(ids[0])[0], 0)
    await part.queue.ack(part.stream, part.history, ids[:2])
    assert [w.entry_id for w in await part.pending()] == ids[2:]
    assert await part.stats() == QueueStats(1, 1, sequence_order(ids[2])[0], 0)
    await part.queue.ack(part.stream, part.history, [])  # nothing to do
    assert (await part.stats()).pending == 1


async def test_a_read_returns_at_most_count_writes(part: Partition) -> None:
    ids = [await part.enqueue(f"k{i}") for i in range(5)]
    await part.queue.ensure_group(part.stream)
    assert [w.entry_id for w in await part.read_new(count=2)] == ids[:2]
    assert [w.entry_id for w in await part.read_new(count=2)] == ids[2:4]
    assert [w.entry_id for w in await part.read_new(count=2)] == ids[4:]


async def test_claim_takes_over_what_another_consumer_left_pending(part: Partition) -> None:
    ids = [await part.enqueue(f"k{i}") for i in range(3)]
    await part.queue.ensure_group(part.stream)
    await part.read_new(b"crashed")
    assert await part.queue.claim(part.stream, b"b", 2) == 3  # pages of 2, to the end
    assert [w.entry_id for w in await part.pending(b"b")] == ids
    assert await part.pending(b"crashed") == []


async def test_dead_letters_replay_and_the_keys_history(part: Partition) -> None:
    await part.queue.ensure_group(part.stream)
    first = await part.enqueue("k", b"old")
    [poison] = await part.read_new()
    await part.queue.dead_letter(part.stream, part.dead, part.history, poison, "rejected")
    assert await part.stats() == QueueStats(0, 0, None, 1)
    assert await part.queue.written_since(part.history, ["k", "other"]) == {"k": b"0-0"}
    # A newer write of the key is written meanwhile: the history records it.
    newer_id = await part.enqueue("k", b"new")
    [newer] = await part.read_new()
    await part.queue.ack(part.stream, part.history, [newer_id], written=[newer])
    assert await part.queue.written_since(part.history, ["k"]) == {"k": newer_id}
    # Replayed: back on the queue, keeping its place in the key's history.
    assert await part.queue.replay(part.stream, part.dead, 10) == 1
    stats = await part.stats()
    assert (stats.pending, stats.in_flight, stats.dead_letters) == (1, 0, 0)
    [replayed] = await part.read_new()
    assert (replayed.key, replayed.value, replayed.replayed) == ("k", b"old", True)
    assert replayed.sequence == first != replayed.entry_id
    assert replayed.order < newer.order  # so the flusher can drop it as superseded
    await part.queue.ack(part.stream, part.history, [replayed.entry_id], settled=[replayed])
    assert await part.queue.written_since(part.history, ["k"]) == {}
    assert await part.stats() == QueueStats(0, 0, None, 0)


async def test_replay_moves_the_oldest_dead_letters_first(part: Partition) -> None:
    await part.queue.ensure_group(part.stream)
    for key in ("k1", "k2", "k3"):
        await part.enqueue(key)
    for write in await part.read_new():
        await part.queue.dead_letter(part.stream, part.dead, part.history, write, "no")
    assert await part.queue.replay(part.stream, part.dead, 2) == 2
    assert [w.key for w in await part.read_new()] == ["k1", "k2"]
    assert (await part.stats()).dead_letters == 1
    assert await part.queue.replay(part.stream, part.dead, 10) == 1
    assert await part.queue.replay(part.stream, part.dead, 10) == 0


async def test_one_owner_per_partition(part: Partition) -> None:
    q, owner = part.queue, part.owner
    epoch = owner + b":epoch"  # the owner key's hash tag: the same cluster slot
    first = await q.take(owner, b"A", LONG, epoch)
    assert first > 0
    assert await q.take(owner, b"B", LONG, epoch) == 0
    assert await q.take(owner, b"A", LONG, epoch) > 0  # still ours: taking it again is fine
    assert await q.renew(owner, b"A", LONG) is True
    assert await q.renew(owner, b"B", LONG) is False
    await q.give_up(owner, b"B")  # not the owner: changes nothing
    assert await q.take(owner, b"B", LONG, epoch) == 0
    await q.give_up(owner, b"A")
    # A takeover bumps the owner epoch: a former owner's late batch carries a lower one.
    assert await q.take(owner, b"B", LONG, epoch) > first
    assert await q.renew(owner, b"A", LONG) is False


async def test_an_owner_that_stops_renewing_loses_the_partition(part: Partition) -> None:
    q, owner = part.queue, part.owner
    epoch = owner + b":epoch"
    first = await q.take(owner, b"A", SHORT, epoch)
    assert first > 0
    taken: list[int] = []

    async def taken_over() -> bool:
        taken.append(await q.take(owner, b"B", LONG, epoch))
        return taken[-1] > 0

    await eventually(taken_over, "another owner after the first one's lease ran out")
    assert taken[-1] > first
    assert await q.renew(owner, b"A", LONG) is False


async def test_enqueue_applies_the_version_rule_and_queues_only_what_it_stores(
    part: Partition,
) -> None:
    await part.queue.ensure_group(part.stream)
    first = await part.enqueue_versioned("k", b"v5", version=5)
    assert first.outcome == PutOutcome(PutStatus.STORED, 5)
    stale = await part.enqueue_versioned("k", b"v3", version=3)
    assert stale == Enqueued(b"", PutOutcome(PutStatus.STALE, 5))
    assert await part.stored("k") == b"entry:v5"
    assert [w.version for w in await part.read_new()] == [5]
    # Version 0: the cached version plus one, as a versioned put.
    assert (await part.enqueue_versioned("k", b"next")).outcome == PutOutcome(PutStatus.STORED, 6)
    assert [w.version for w in await part.read_new()] == [6]


async def test_enqueue_conditions_refuse_without_queueing(part: Partition) -> None:
    refused = [
        await part.enqueue_versioned("k", condition=Condition.PRESENT),
        await part.enqueue_versioned("k", condition=Condition.VERSION, expected=0),
    ]
    assert [r.outcome for r in refused] == [PutOutcome(PutStatus.UNMET, 0)] * 2
    assert (await part.enqueue_versioned("k", condition=Condition.ABSENT)).entry_id
    assert (await part.enqueue_versioned("k", condition=Condition.ABSENT)).outcome == PutOutcome(
        PutStatus.UNMET, 1
    )
    mismatch = await part.enqueue_versioned("k", condition=Condition.VERSION, expected=7)
    assert mismatch.outcome == PutOutcome(PutStatus.UNMET, 1)
    matched = await part.enqueue_versioned("k", b"v2", condition=Condition.VERSION, expected=1)
    assert matched.outcome == PutOutcome(PutStatus.STORED, 2)
    assert (await part.stats()).pending == 2
