"""Fencing for the app's writer: refuse a write-behind batch a former owner sent late.

Every WriteBatch carries its partition's owner epoch (bumped each time a
sidecar takes the partition over) and every write its key's sequence. A
sidecar paused past its lease (GC, SIGSTOP, a VM migration) can still deliver
the batch it held after the new owner wrote newer values of the same keys.
Keeping, per key, the highest ``(owner_epoch, sequence)`` applied and skipping
any write that is not higher makes such a batch harmless:

    fence = WriteFence()
    async with serve_app(write_batch=apply, fence=fence) as app: ...

:class:`WriteFence` keeps that state in memory, for one writer process. An app
with several writer processes, or one that restarts, keeps the pair in the
row itself and applies a write only where it is higher, e.g.
``UPDATE ... SET v = $1, epoch = $2, seq = $3 WHERE k = $4 AND (epoch, seq) < ($2, $3)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cachecar._serve import Write

__all__ = ["WriteFence"]


class WriteFence:
    """Per key, the highest (owner_epoch, sequence) applied; admits only higher ones.

    Writes without a sequence (write-through) always pass and change nothing.
    """

    def __init__(self) -> None:
        self._applied: dict[tuple[str, str], tuple[int, str]] = {}
        #: Writes refused so far (late or repeated), for the app's metrics.
        self.refused = 0

    def applied_mark(self, namespace: str, key: str) -> tuple[int, str] | None:
        """The (owner_epoch, sequence) last applied for a key, if any."""
        return self._applied.get((namespace, key))

    def fresh(self, writes: Sequence[Write]) -> list[Write]:
        """The writes higher than what was applied for their key, in order."""
        kept = []
        for write in writes:
            if not write.sequence:
                kept.append(write)
                continue
            mark = self._applied.get((write.namespace, write.key))
            if mark is None or (write.owner_epoch, write.sequence) > mark:
                kept.append(write)
            else:
                self.refused += 1
        return kept

    def applied(self, writes: Iterable[Write]) -> None:
        """Record writes the app has applied (call only after they succeeded)."""
        for write in writes:
            if not write.sequence:
                continue
            slot = (write.namespace, write.key)
            mark = (write.owner_epoch, write.sequence)
            if slot not in self._applied or mark > self._applied[slot]:
                self._applied[slot] = mark
