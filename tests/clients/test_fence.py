"""cachecar.WriteFence: per key, only writes above the highest (owner_epoch, sequence) pass."""

from __future__ import annotations

from datetime import UTC, datetime

from cachecar import Write, WriteFence


def _w(key: str, epoch: int, ms: int, n: int = 0, value: bytes = b"") -> Write:
    return Write(
        namespace="ns",
        key=key,
        value=value,
        write_id=f"{key}-{epoch}-{ms}-{n}",
        delete=False,
        accepted_at=datetime.now(UTC),
        sequence=f"{ms:016d}-{n:010d}",
        owner_epoch=epoch,
    )


def test_a_late_batch_from_a_former_owner_is_refused() -> None:
    fence = WriteFence()
    newer = [_w("a", 2, 200), _w("b", 2, 201)]
    assert fence.fresh(newer) == newer
    fence.applied(newer)
    late = [_w("a", 1, 100), _w("b", 1, 150), _w("c", 1, 160)]
    assert [w.key for w in fence.fresh(late)] == ["c"]  # c was never written since
    assert fence.refused == 2
    assert fence.applied_mark("ns", "a") == (2, f"{200:016d}-{0:010d}")


def test_sequence_orders_within_an_epoch_and_write_through_passes() -> None:
    fence = WriteFence()
    fence.applied([_w("a", 3, 300, 1)])
    assert fence.fresh([_w("a", 3, 300, 1)]) == []  # redelivered: already applied
    assert len(fence.fresh([_w("a", 3, 300, 2)])) == 1
    # Sequences are fixed width: string order is numeric order (9 < 10).
    fence.applied([_w("b", 1, 9)])
    assert len(fence.fresh([_w("b", 1, 10)])) == 1
    through = Write("ns", "a", b"", "t", False, datetime.now(UTC))
    assert fence.fresh([through]) == [through]
