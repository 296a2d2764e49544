"""The leaderboard and counter contracts (LeaderboardStore, CounterStore).

Boards: ranks in either direction, ties broken by arrival (the member that
reached a score first ranks first), score modes, pages, a member's rank and
neighbourhood, removal, full double precision, windows that expire. Counters:
signed int64 with overflow refused, and a window set by the increment that
creates the counter.
"""

from __future__ import annotations

import math
import time

import pytest

from sidecar.backends.base import MISSING, Backend
from sidecar.backends.capabilities import (
    BoardKeys,
    CounterStore,
    CounterValue,
    LeaderboardStore,
    Overflow,
    Ranked,
    ScoreMode,
    ScoreResult,
)
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import eventually, implementation, needs

LONG = 60_000
SHORT = 300
INT64_MAX = 2**63 - 1


def board(keys: KeyLayout, name: str = "b", expire_at_ms: int = 0) -> BoardKeys:
    return BoardKeys(
        scores=keys.tagged(b"b", name), ties=keys.tagged(b"t", name), expire_at_ms=expire_at_ms
    )


async def filled(
    boards: LeaderboardStore, where: BoardKeys, scores: dict[str, float], *, descending: bool
) -> None:
    for member, score in scores.items():
        assert isinstance(
            await boards.board_add(where, member, score, "set", descending=descending), ScoreResult
        )


async def order(boards: LeaderboardStore, where: BoardKeys, *, descending: bool) -> list[str]:
    page, _ = await boards.board_page(where, 0, 100, descending=descending)
    return [r.member for r in page]


# -- LeaderboardStore -----------------------------------------------------------------


@needs(LeaderboardStore)
@pytest.mark.parametrize("descending", [True, False], ids=["descending", "ascending"])
async def test_a_board_ranks_in_its_direction(
    component: Backend, keys: KeyLayout, descending: bool
) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)
    first = await boards.board_add(where, "alice", 10, "set", descending=descending)
    assert first == ScoreResult(score=10.0, rank=1, updated=True)
    bob = await boards.board_add(where, "bob", 30, "set", descending=descending)
    assert bob == ScoreResult(score=30.0, rank=1 if descending else 2, updated=True)
    await boards.board_add(where, "carol", 20, "set", descending=descending)
    ranked = [("bob", 30.0), ("carol", 20.0), ("alice", 10.0)]
    if not descending:
        ranked.reverse()
    expected = [Ranked(m, s, rank) for rank, (m, s) in enumerate(ranked, 1)]
    assert await boards.board_page(where, 0, 10, descending=descending) == (expected, 3)


@needs(LeaderboardStore)
async def test_equal_scores_rank_by_arrival(component: Backend, keys: KeyLayout) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)
    await filled(boards, where, {"a": 5, "b": 5, "c": 5}, descending=True)
    assert await order(boards, where, descending=True) == ["a", "b", "c"]
    await boards.board_add(where, "b", 5, "set", descending=True)  # unchanged: keeps its place
    assert await order(boards, where, descending=True) == ["a", "b", "c"]
    await boards.board_add(where, "a", 6, "set", descending=True)
    await boards.board_add(where, "a", 5, "set", descending=True)  # reached 5 last now
    assert await order(boards, where, descending=True) == ["b", "c", "a"]


@needs(LeaderboardStore)
async def test_score_modes(component: Backend, keys: KeyLayout) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)

    async def add(score: float, mode: ScoreMode) -> ScoreResult | Overflow:
        return await boards.board_add(where, "m", score, mode, descending=True)

    assert await add(1, "increment") == ScoreResult(1.0, 1, True)  # a new member starts at 0
    assert await add(2.5, "increment") == ScoreResult(3.5, 1, True)
    assert await add(2, "keep_greater") == ScoreResult(3.5, 1, False)
    assert await add(10, "keep_greater") == ScoreResult(10.0, 1, True)
    assert await add(20, "keep_lower") == ScoreResult(10.0, 1, False)
    assert await add(-1, "keep_lower") == ScoreResult(-1.0, 1, True)
    assert await add(7, "set") == ScoreResult(7.0, 1, True)
    assert await boards.board_add(where, "new", 3, "keep_lower", descending=True) == ScoreResult(
        3.0, 2, True
    )


@needs(LeaderboardStore)
async def test_a_score_past_the_doubles_range_is_refused(
    component: Backend, keys: KeyLayout
) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)
    await boards.board_add(where, "m", 1.5e308, "set", descending=True)
    assert await boards.board_add(where, "m", 1.5e308, "increment", descending=True) == Overflow()
    assert await boards.board_rank(where, "m", descending=True) == (Ranked("m", 1.5e308, 1), 1)


@needs(LeaderboardStore)
async def test_scores_keep_full_precision(component: Backend, keys: KeyLayout) -> None:
    boards = implementation(component, LeaderboardStore)
    scores = {"tenths": 0.1 + 0.2, "tiny": 1e-300, "big": float(2**53 + 2), "neg": -2.5}
    for descending in (True, False):
        here = board(keys, f"precision-{descending}")
        await filled(boards, here, {**scores, "zero": -0.0}, descending=descending)
        page, _ = await boards.board_page(here, 0, 10, descending=descending)
        got = {r.member: r.score for r in page}
        assert got == {**scores, "zero": 0.0}
        assert math.copysign(1.0, got["zero"]) == 1.0  # zero reads as 0, not -0


@needs(LeaderboardStore)
async def test_pages_ranks_and_neighbourhoods(component: Backend, keys: KeyLayout) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)
    members = {f"m{i}": float(100 - i) for i in range(1, 11)}  # m1 ranks 1 ... m10 ranks 10
    await filled(boards, where, members, descending=True)

    def ranked(*ranks: int) -> list[Ranked]:
        return [Ranked(f"m{r}", float(100 - r), r) for r in ranks]

    assert await boards.board_page(where, 3, 4, descending=True) == (ranked(4, 5, 6, 7), 10)
    assert await boards.board_page(where, 10, 5, descending=True) == ([], 10)
    assert await boards.board_rank(where, "m7", descending=True) == (ranked(7)[0], 10)
    assert await boards.board_rank(where, "nobody", descending=True) == (MISSING, 10)
    assert await boards.board_around(where, "m5", 2, descending=True) == (
        ranked(3, 4, 5, 6, 7),
        10,
    )
    assert await boards.board_around(where, "m1", 2, descending=True) == (ranked(1, 2, 3), 10)
    assert await boards.board_around(where, "m10", 2, descending=True) == (
        ranked(8, 9, 10),
        10,
    )
    assert await boards.board_around(where, "nobody", 2, descending=True) == (MISSING, 10)
    # Another board is another board.
    assert await boards.board_page(board(keys, "other"), 0, 10, descending=True) == ([], 0)


@needs(LeaderboardStore)
async def test_removing_a_member(component: Backend, keys: KeyLayout) -> None:
    boards, where = implementation(component, LeaderboardStore), board(keys)
    await filled(boards, where, {"a": 1, "b": 1}, descending=True)
    assert await boards.board_remove(where, "a") is True
    assert await boards.board_remove(where, "a") is False
    assert await boards.board_rank(where, "a", descending=True) == (MISSING, 1)
    await boards.board_add(where, "a", 1, "set", descending=True)  # back, and last to reach 1
    assert await order(boards, where, descending=True) == ["b", "a"]


@needs(LeaderboardStore)
async def test_a_windowed_board_expires_at_its_end(component: Backend, keys: KeyLayout) -> None:
    boards = implementation(component, LeaderboardStore)
    windowed = board(keys, "window", expire_at_ms=time.time_ns() // 1_000_000 + SHORT)
    lasting = board(keys, "lasting")
    await filled(boards, windowed, {"a": 1}, descending=True)
    await filled(boards, lasting, {"a": 1}, descending=True)

    async def ended() -> bool:
        return await boards.board_page(windowed, 0, 10, descending=True) == ([], 0)

    await eventually(ended, "a board window to end")
    assert await order(boards, lasting, descending=True) == ["a"]


# -- CounterStore ---------------------------------------------------------------------


@needs(CounterStore)
async def test_counters_add_signed_deltas(component: Backend, keys: KeyLayout) -> None:
    counters, key = implementation(component, CounterStore), keys.tagged(b"c", "c")
    assert await counters.counter_get(key) is MISSING
    assert await counters.counter_increment(key, 5, 0) == CounterValue(5, None)
    assert await counters.counter_increment(key, -8, 0) == CounterValue(-3, None)
    assert await counters.counter_get(key) == CounterValue(-3, None)
    assert await counters.counter_get(keys.tagged(b"c", "other")) is MISSING


@needs(CounterStore)
@pytest.mark.parametrize("sign", [1, -1], ids=["max", "min"])
async def test_a_counter_past_int64_is_refused(
    component: Backend, keys: KeyLayout, sign: int
) -> None:
    counters, key = implementation(component, CounterStore), keys.tagged(b"c", "c")
    edge = INT64_MAX if sign > 0 else -INT64_MAX - 1
    assert await counters.counter_increment(key, edge, 0) == CounterValue(edge, None)
    assert await counters.counter_increment(key, sign, 0) == Overflow()
    assert await counters.counter_get(key) == CounterValue(edge, None)


@needs(CounterStore)
async def test_a_window_is_set_by_the_first_increment(component: Backend, keys: KeyLayout) -> None:
    counters, key = implementation(component, CounterStore), keys.tagged(b"c", "c")
    first = await counters.counter_increment(key, 1, LONG)
    assert isinstance(first, CounterValue)
    assert first.value == 1
    assert first.remaining_ms is not None
    assert 0 < first.remaining_ms <= LONG
    # A later increment asking for a longer window does not move the end.
    later = await counters.counter_increment(key, 1, 100 * LONG)
    assert isinstance(later, CounterValue)
    assert later.value == 2
    assert later.remaining_ms is not None
    assert 0 < later.remaining_ms <= LONG
    read = await counters.counter_get(key)
    assert isinstance(read, CounterValue)
    assert read.remaining_ms is not None
    assert 0 < read.remaining_ms <= LONG


@needs(CounterStore)
async def test_a_window_ends_the_counter(component: Backend, keys: KeyLayout) -> None:
    counters, key = implementation(component, CounterStore), keys.tagged(b"c", "c")
    await counters.counter_increment(key, 7, SHORT)

    async def ended() -> bool:
        return await counters.counter_get(key) is MISSING

    await eventually(ended, "a counter's window to end")
    fresh = await counters.counter_increment(key, 1, LONG)  # a new window, from zero
    assert isinstance(fresh, CounterValue)
    assert fresh.value == 1
