"""What one write-behind flush round reads: a prefix of the partition, in order.

Per key, the last acknowledged write must be written last. A round therefore
only ever takes a *prefix* of what the partition still holds: first every
entry the owner already has pending (retries after a failure, entries claimed
from a crashed owner), page by page in id order, and new entries only once
that pending list has been read to its end. Reading part of the pending list
and then new entries would put a key's newest write in this round and its
older leftovers in the next one: the database would end on an old value.

Within a prefix, coalescing is safe: each key's latest write (by sequence,
see backends/redis/queue.py) stands for all of its writes in the round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sidecar.backends.queue import QueuedWrite, WriteQueue

__all__ = ["Batch", "coalesce", "collect"]


@dataclass
class Batch:
    """Everything one round read, in queue order."""

    writes: list[QueuedWrite] = field(default_factory=list)
    #: Pending entries whose message was deleted meanwhile: acknowledged, never written.
    gone: list[bytes] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.writes or self.gone)


def coalesce(writes: list[QueuedWrite]) -> list[QueuedWrite]:
    """The latest write of each key (highest sequence), in queue order of those.

    The latest by sequence, not by queue position: a replayed dead letter sits
    behind newer writes of its key in the queue, but is older than they are.
    """
    last: dict[str, QueuedWrite] = {}
    for w in writes:
        seen = last.get(w.key)
        if seen is None or w.order > seen.order:
            last[w.key] = w
    return [w for w in writes if last[w.key] is w]


async def collect(
    queue: WriteQueue, stream: bytes, consumer: bytes, size: int, max_reads: int
) -> Batch:
    """Read until ``size`` distinct keys, the partition runs dry, or ``max_reads``
    reads of ``size`` entries (the memory bound); always a prefix of the partition."""
    batch = Batch()
    keys: set[str] = set()
    reads = 0
    cursor = b"0"
    while True:  # our pending entries first, all of them before anything new
        page = await queue.read(stream, consumer, size, after=cursor)
        reads += 1
        batch.writes += page.writes
        batch.gone += page.gone
        keys.update(w.key for w in page.writes)
        if page.count < size or page.last_id is None:
            break  # the pending list is read to its end
        if len(keys) >= size or reads >= max_reads:
            return batch  # a prefix of the pending list; the rest next round
        cursor = page.last_id
    while len(keys) < size and reads < max_reads:
        page = await queue.read(stream, consumer, size, after=None)
        reads += 1
        batch.writes += page.writes
        keys.update(w.key for w in page.writes)
        if page.count < size:
            break
    return batch
