"""LeaderboardService boards against real Redis and Redis Cluster: score modes,
tie-breaks, paging, ranks, neighbours, removal, bad input, Memcached refusal.

Windowed boards are in ``test_leaderboard_windows.py``, counters in
``test_leaderboard_counters.py``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import grpc
import pytest
from cachecar.v1 import leaderboard_pb2

from tests import calls
from tests.appfixtures import SidecarFactory, error_info
from tests.calls import INCREMENT, KEEP_GREATER, KEEP_LOWER, NS, SET


@pytest.fixture(params=["redis", "cluster"])
def ranked_url(request: pytest.FixtureRequest) -> str:
    """Redis and Redis Cluster: the backends that serve leaderboards and counters."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


# -- scores -----------------------------------------------------------------------


async def test_score_modes(ranked_url: str, sidecar_for: SidecarFactory) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    first = await calls.add(stub, "ann", 50)
    assert (first.score, first.rank, first.updated, first.HasField("window")) == (
        50,
        1,
        True,
        False,
    )
    assert (await calls.add(stub, "bob", 70)).rank == 1
    assert (await calls.add(stub, "ann", 30, INCREMENT)).score == 80  # 50 + 30
    assert (await calls.add(stub, "cat", -2.5, INCREMENT)).score == -2.5  # a new member starts at 0
    kept = await calls.add(stub, "ann", 60, KEEP_GREATER)
    assert (kept.score, kept.rank, kept.updated) == (80, 1, False)
    assert not (await calls.add(stub, "ann", 80, KEEP_GREATER)).updated  # equal is not greater
    beaten = await calls.add(stub, "bob", 90, KEEP_GREATER)
    assert (beaten.score, beaten.rank, beaten.updated) == (90, 1, True)
    assert (await calls.add(stub, "cat", 10, KEEP_LOWER)).score == -2.5
    lowered = await calls.add(stub, "cat", -7, KEEP_LOWER)
    assert (lowered.score, lowered.updated) == (-7, True)
    fresh = await calls.add(stub, "dan", 5, KEEP_LOWER)  # a new member takes any score
    assert (fresh.score, fresh.rank, fresh.updated) == (5, 3, True)
    assert (await calls.add(stub, "bob", 1, SET)).score == 1
    top = await calls.top(stub)
    assert calls.rows(top.entries) == [("ann", 80, 1), ("dan", 5, 2), ("bob", 1, 3), ("cat", -7, 4)]
    assert top.member_count == 4


async def test_scores_keep_full_double_precision(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    values = [0.1 + 0.2, 1 / 3, 2.0**53 + 2, -1e-300, 1.7976931348623157e308, 123456789.12345679]
    for i, value in enumerate(values):
        assert (await calls.add(stub, f"m{i}", value)).score == value
    got = {e.member: e.score for e in (await calls.top(stub)).entries}
    assert got == {f"m{i}": v for i, v in enumerate(values)}
    assert (await calls.add(stub, "m1", 1 / 3, INCREMENT)).score == 1 / 3 + 1 / 3


async def test_concurrent_increments_are_atomic(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    first, second = await sidecar_for(ranked_url), await sidecar_for(ranked_url)
    await asyncio.gather(
        *(
            calls.add(calls.boards(first if i % 2 else second), "ann", 1, INCREMENT)
            for i in range(100)
        )
    )
    assert calls.rows((await calls.top(calls.boards(first))).entries) == [("ann", 100, 1)]


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_equal_scores_rank_who_got_there_first(
    order: str, ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(ranked_url, boards={"main": {"order": order}})
    stub = calls.boards(sc)
    # Neither alphabetical nor reverse: Redis's own order for equal scores is the bytes.
    arrival = ["kim", "zed", "amy", "lee", "bob"]
    for member in arrival:
        await calls.add(stub, member, 100)
    await calls.add(stub, "fay", 99 if order == "asc" else 101)  # the best score, reached last
    assert calls.members((await calls.top(stub)).entries) == ["fay", *arrival]
    # zed leaves 100 and comes back: now he reached it last.
    await calls.add(stub, "zed", 50)
    await calls.add(stub, "zed", 100)
    # Writes that leave a score unchanged keep the member's place.
    await calls.add(stub, "kim", 100)
    await calls.add(stub, "kim", 0, INCREMENT)
    await calls.add(stub, "amy", 100, KEEP_GREATER)
    await calls.add(stub, "amy", 100, KEEP_LOWER)
    top = await calls.top(stub)
    assert calls.rows(top.entries)[1:] == [
        ("kim", 100, 2),
        ("amy", 100, 3),
        ("lee", 100, 4),
        ("bob", 100, 5),
        ("zed", 100, 6),
    ]
    rank = await stub.GetRank(
        leaderboard_pb2.GetRankRequest(namespace=NS, board="main", member="zed")
    )
    assert rank.entry.rank == 6
    around = await stub.GetAround(
        leaderboard_pb2.GetAroundRequest(namespace=NS, board="main", member="lee", count=1)
    )
    assert calls.members(around.entries) == ["amy", "lee", "bob"]


async def test_ascending_boards_rank_the_lowest_first(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(ranked_url, boards={"laps": {"order": "asc"}})
    stub = calls.boards(sc)
    for member, seconds in (("ann", 61.5), ("bob", 59.25), ("cat", 75.0)):
        await calls.add(stub, member, seconds, board="laps")
    assert (await calls.add(stub, "cat", 58.0, KEEP_LOWER, board="laps")).rank == 1
    assert (await calls.add(stub, "ann", 70.0, KEEP_LOWER, board="laps")).updated is False
    top = await calls.top(stub, board="laps")
    assert calls.rows(top.entries) == [("cat", 58.0, 1), ("bob", 59.25, 2), ("ann", 61.5, 3)]
    # Another board in the same namespace keeps the default order.
    await calls.add(stub, "ann", 1, board="points")
    await calls.add(stub, "bob", 2, board="points")
    assert calls.members((await calls.top(stub, board="points")).entries) == ["bob", "ann"]


# -- reads ----------------------------------------------------------------------------


async def test_get_top_pages(ranked_url: str, sidecar_for: SidecarFactory) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    for batch in range(0, 1005, 50):  # the cluster client's pool (64) does not queue
        await asyncio.gather(
            *(calls.add(stub, f"p{i:04d}", i) for i in range(batch, min(batch + 50, 1005)))
        )
    first = await calls.top(stub)  # limit 0 means 10
    assert calls.rows(first.entries) == [(f"p{1004 - i:04d}", 1004 - i, i + 1) for i in range(10)]
    assert first.member_count == 1005
    page = await calls.top(stub, offset=10, limit=5)
    assert [e.rank for e in page.entries] == [11, 12, 13, 14, 15]
    assert page.entries[0].member == "p0994"
    capped = await calls.top(stub, limit=5000)
    assert len(capped.entries) == 1000
    tail = await calls.top(stub, offset=1000, limit=100)
    assert [e.rank for e in tail.entries] == [1001, 1002, 1003, 1004, 1005]
    assert calls.members(tail.entries)[-1] == "p0000"
    assert (await calls.top(stub, offset=2000)).entries == []
    empty = await calls.top(stub, board="never-written")
    assert (list(empty.entries), empty.member_count) == ([], 0)


async def test_get_rank(ranked_url: str, sidecar_for: SidecarFactory) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    for i in range(5):
        await calls.add(stub, f"m{i}", i * 10)
    got = await stub.GetRank(
        leaderboard_pb2.GetRankRequest(namespace=NS, board="main", member="m1")
    )
    assert (got.entry.member, got.entry.score, got.entry.rank, got.member_count) == (
        "m1",
        10,
        4,
        5,
    )
    for member, board in (("nobody", "main"), ("m1", "other")):
        await calls.fails(
            stub.GetRank(leaderboard_pb2.GetRankRequest(namespace=NS, board=board, member=member)),
            grpc.StatusCode.NOT_FOUND,
            "MEMBER_NOT_FOUND",
        )


async def test_get_around_in_the_middle_and_at_both_edges(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    for i in range(1, 13):  # r1 has the best score, r12 the worst
        await calls.add(stub, f"r{i}", 100 - i)

    async def around(member: str, count: int = 0) -> list[int]:
        response = await stub.GetAround(
            leaderboard_pb2.GetAroundRequest(namespace=NS, board="main", member=member, count=count)
        )
        assert response.member_count == 12
        assert [e.member for e in response.entries] == [f"r{e.rank}" for e in response.entries]
        return [e.rank for e in response.entries]

    assert await around("r6", 2) == [4, 5, 6, 7, 8]
    assert await around("r1", 2) == [1, 2, 3]  # the top: nothing above
    assert await around("r2", 3) == [1, 2, 3, 4, 5]
    assert await around("r12", 2) == [10, 11, 12]  # the bottom: nothing below
    assert await around("r6") == list(range(1, 12))  # count 0 means 5
    assert await around("r6", 1000) == list(range(1, 13))  # capped at 100, board is smaller
    await calls.fails(
        stub.GetAround(leaderboard_pb2.GetAroundRequest(namespace=NS, board="main", member="x")),
        grpc.StatusCode.NOT_FOUND,
        "MEMBER_NOT_FOUND",
    )


async def test_remove_member(ranked_url: str, sidecar_for: SidecarFactory) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    for member, score in (("a", 3), ("b", 2), ("c", 1)):
        await calls.add(stub, member, score)
    remove = leaderboard_pb2.RemoveMemberRequest(namespace=NS, board="main", member="b")
    assert (await stub.RemoveMember(remove)).removed
    assert not (await stub.RemoveMember(remove)).removed
    top = await calls.top(stub)
    assert (calls.rows(top.entries), top.member_count) == ([("a", 3, 1), ("c", 1, 2)], 2)
    # A removed member comes back as a new one (its old tie-break place is gone).
    assert (await calls.add(stub, "b", 2, INCREMENT)).score == 2


# -- errors ---------------------------------------------------------------------------


async def test_bad_input(redis_url: str, sidecar_for: SidecarFactory) -> None:
    stub = calls.boards(await sidecar_for(redis_url, max_key_length=16))
    for score in (math.nan, math.inf, -math.inf):
        await calls.fails(
            calls.add(stub, "m", score), grpc.StatusCode.INVALID_ARGUMENT, "SCORE_INVALID"
        )
    await calls.fails(calls.add(stub, "", 1), grpc.StatusCode.INVALID_ARGUMENT, "MEMBER_INVALID")
    await calls.fails(
        calls.add(stub, "m" * 17, 1), grpc.StatusCode.INVALID_ARGUMENT, "MEMBER_INVALID"
    )
    await calls.fails(
        calls.add(stub, "m", 1, board=""), grpc.StatusCode.INVALID_ARGUMENT, "BOARD_INVALID"
    )
    await calls.fails(
        calls.add(stub, "m", 1, mode=99), grpc.StatusCode.INVALID_ARGUMENT, "SCORE_MODE_INVALID"
    )
    await calls.add(stub, "m", 1.5e308)
    await calls.fails(
        calls.add(stub, "m", 1.5e308, INCREMENT), grpc.StatusCode.OUT_OF_RANGE, "SCORE_OVERFLOW"
    )
    assert (await calls.top(stub)).entries[0].score == 1.5e308
    await calls.fails(calls.incr(stub, "c", 0), grpc.StatusCode.INVALID_ARGUMENT, "DELTA_INVALID")
    await calls.fails(calls.incr(stub, "", 1), grpc.StatusCode.INVALID_ARGUMENT, "COUNTER_INVALID")
    await calls.fails(
        calls.incr(stub, "c", 1, window=-1), grpc.StatusCode.INVALID_ARGUMENT, "WINDOW_INVALID"
    )
    await calls.fails(
        stub.GetTop(leaderboard_pb2.GetTopRequest(namespace="nope", board="b")),
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_UNKNOWN",
    )


async def test_memcached_answers_not_supported(
    memcached_url: str, sidecar_for: SidecarFactory
) -> None:
    stub = calls.boards(await sidecar_for(memcached_url))
    requests: list[Any] = [
        calls.add(stub, "m", 1),
        calls.top(stub),
        stub.GetRank(leaderboard_pb2.GetRankRequest(namespace=NS, board="b", member="m")),
        stub.GetAround(leaderboard_pb2.GetAroundRequest(namespace=NS, board="b", member="m")),
        stub.RemoveMember(leaderboard_pb2.RemoveMemberRequest(namespace=NS, board="b", member="m")),
        calls.incr(stub, "c", 1),
        calls.counter(stub, "c"),
    ]
    for call in requests:
        error = await calls.fails(
            call, grpc.StatusCode.FAILED_PRECONDITION, "NOT_SUPPORTED_BY_BACKEND"
        )
        assert "memcached" in error.details()
        assert NS in error.details()
        assert error_info(error).metadata["namespace"] == NS
