"""Counters (LeaderboardService.IncrementCounter / GetCounter) against real Redis
and Redis Cluster: atomic increments, int64 range, fixed windows for rate limits.

The window tests wait for a one-second window to end, once.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from tests import calls
from tests.appfixtures import SidecarFactory


@pytest.fixture(params=["redis", "cluster"])
def ranked_url(request: pytest.FixtureRequest) -> str:
    """Redis and Redis Cluster: the backends that serve leaderboards and counters."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_counters(ranked_url: str, sidecar_for: SidecarFactory) -> None:
    first, second = await sidecar_for(ranked_url), await sidecar_for(ranked_url)
    stub = calls.boards(first)
    missing = await calls.counter(stub, "visits")
    assert (missing.found, missing.value, missing.HasField("window_ends_at")) == (False, 0, False)
    await asyncio.gather(
        *(calls.incr(calls.boards(sc), "visits", 1) for sc in (first, second) * 50)
    )
    assert (await calls.incr(stub, "visits", -30)).value == 70
    got = await calls.counter(stub, "visits")
    assert (got.found, got.value, got.HasField("window_remaining")) == (True, 70, False)
    big = 2**60 + 1  # beyond a double's exact integers
    assert (await calls.incr(stub, "big", big)).value == big
    assert (await calls.incr(stub, "big", big)).value == 2 * big
    assert (await calls.counter(stub, "big")).value == 2 * big


async def test_counter_overflow_leaves_it_unchanged(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    await calls.incr(stub, "c", 2**63 - 1)
    await calls.fails(calls.incr(stub, "c", 1), grpc.StatusCode.OUT_OF_RANGE, "COUNTER_OVERFLOW")
    assert (await calls.counter(stub, "c")).value == 2**63 - 1
    await calls.incr(stub, "d", -(2**63))
    await calls.fails(calls.incr(stub, "d", -1), grpc.StatusCode.OUT_OF_RANGE, "COUNTER_OVERFLOW")


async def test_fixed_window_rate_limit_is_one_call(
    ranked_url: str, sidecar_for: SidecarFactory
) -> None:
    stub = calls.boards(await sidecar_for(ranked_url))
    limit = 3
    replies = [await calls.incr(stub, "login:ann", 1, window=1.0) for _ in range(5)]
    assert [r.value for r in replies] == [1, 2, 3, 4, 5]
    allowed = [r.value <= limit for r in replies]
    assert allowed == [True, True, True, False, False]
    ends = {r.window_ends_at.ToMilliseconds() for r in replies}
    remaining = [r.window_remaining.ToMilliseconds() for r in replies]
    assert all(0 < ms <= 1000 for ms in remaining)
    assert remaining == sorted(remaining, reverse=True)  # increments never extend the window
    assert max(ends) - min(ends) < 1000
    # A different window is ignored while one is open.
    assert (
        await calls.incr(stub, "login:ann", 1, window=60)
    ).window_remaining.ToMilliseconds() <= 1000
    got = await calls.counter(stub, "login:ann")
    assert (got.value, got.HasField("window_ends_at")) == (6, True)
    await asyncio.sleep(1.1)
    assert not (await calls.counter(stub, "login:ann")).found
    again = await calls.incr(stub, "login:ann", 1, window=1.0)
    assert again.value == 1  # a new window
    # A windowless counter ignores a window asked for later.
    await calls.incr(stub, "forever", 1)
    assert not (await calls.incr(stub, "forever", 1, window=1.0)).HasField("window_remaining")
