"""Windowed leaderboards against real Redis and Redis Cluster.

Windows roll over under an injected clock (``sidecar.leaderboards.clock``);
only the test of a window really expiring waits, for about a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import leaderboard_pb2

from sidecar.config import BoardSettings, ConfigError
from sidecar.patterns.windows import window_at
from tests import calls
from tests.appfixtures import SidecarFactory, make_settings, wait_until
from tests.calls import INCREMENT, NS


@pytest.fixture(params=["redis", "cluster"])
def ranked_url(request: pytest.FixtureRequest) -> str:
    """Redis and Redis Cluster: the backends that serve leaderboards and counters."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[arg-type, misc]


def _unix_ms(*args: int) -> int:
    return int(_at(*args) * 1000)


class FakeClock:
    """Wall-clock seconds the test sets by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# Far enough ahead that every window's expiry is still in the future for Redis.
@pytest.mark.parametrize(
    ("window", "before", "after", "starts", "expires_retain_2"),
    [
        # Sunday 23:59:59.5 -> Monday 00:00:00.5 rolls a daily and a weekly board.
        ("daily", (2036, 3, 9, 23, 59, 59), (2036, 3, 10, 0, 0, 0), (2036, 3, 10), (2036, 3, 13)),
        ("weekly", (2036, 3, 9, 23, 59, 59), (2036, 3, 10, 0, 0, 0), (2036, 3, 10), (2036, 3, 31)),
        ("monthly", (2036, 2, 29, 23, 59, 59), (2036, 3, 1, 0, 0, 0), (2036, 3, 1), (2036, 6, 1)),
        ("1h", (2036, 3, 9, 9, 59, 59), (2036, 3, 9, 10, 0, 0), (2036, 3, 9, 10), (2036, 3, 9, 13)),
    ],
)
async def test_windowed_boards_roll_over(
    window: str,
    before: tuple[int, ...],
    after: tuple[int, ...],
    starts: tuple[int, ...],
    expires_retain_2: tuple[int, ...],
    ranked_url: str,
    sidecar_for: SidecarFactory,
) -> None:
    sc = await sidecar_for(ranked_url, boards={"season": {"window": window, "retain": 2}})
    clock = FakeClock(_at(*before) + 0.5)
    sc.sidecar.leaderboards.clock = clock
    stub = calls.boards(sc)
    old = await calls.add(stub, "early", 10, board="season")
    await calls.add(stub, "both", 5, board="season")
    clock.now = _at(*after) + 0.5
    new = await calls.add(stub, "late", 20, board="season")
    assert (new.rank, new.window.starts_at.ToMilliseconds()) == (1, _unix_ms(*starts))
    assert old.window.ends_at.ToMilliseconds() == _unix_ms(*starts)
    both = await calls.add(stub, "both", 1, INCREMENT, board="season")
    assert both.score == 1  # a new window starts from scratch

    current = await calls.top(stub, board="season")
    assert calls.rows(current.entries) == [("late", 20, 1), ("both", 1, 2)]
    assert current.window.starts_at.ToMilliseconds() == _unix_ms(*starts)
    previous = await calls.top(stub, board="season", windows_ago=1)
    assert calls.rows(previous.entries) == [("early", 10, 1), ("both", 5, 2)]
    assert previous.window.ends_at.ToMilliseconds() == _unix_ms(*starts)
    assert list((await calls.top(stub, board="season", windows_ago=2)).entries) == []
    rank = await stub.GetRank(
        leaderboard_pb2.GetRankRequest(namespace=NS, board="season", member="early", windows_ago=1)
    )
    assert rank.entry.rank == 1
    await calls.fails(
        stub.GetRank(leaderboard_pb2.GetRankRequest(namespace=NS, board="season", member="early")),
        grpc.StatusCode.NOT_FOUND,
        "MEMBER_NOT_FOUND",
    )
    removed = await stub.RemoveMember(
        leaderboard_pb2.RemoveMemberRequest(
            namespace=NS, board="season", member="both", windows_ago=1
        )
    )
    assert removed.removed
    assert calls.members((await calls.top(stub, board="season")).entries) == ["late", "both"]
    await calls.fails(
        calls.top(stub, board="season", windows_ago=3),
        grpc.StatusCode.INVALID_ARGUMENT,
        "WINDOW_INVALID",
    )
    await calls.fails(
        calls.top(stub, windows_ago=1), grpc.StatusCode.INVALID_ARGUMENT, "WINDOW_INVALID"
    )

    # Each window's keys expire by themselves once windows_ago can no longer reach them.
    client = _direct(ranked_url)
    try:
        keys = _keys(client, "*season*")
        assert len(keys) == 4  # scores + ties, for each of the two windows
        current_keys = [k for k in keys if k.endswith(b"@%d" % _unix_ms(*starts))]
        assert len(current_keys) == 2
        for key in current_keys:
            assert client.pexpiretime(key) == _unix_ms(*expires_retain_2)
    finally:
        client.close()


def _keys(client: Any, pattern: str) -> list[bytes]:
    # A cluster client asks one node for KEYS unless told to ask every primary.
    found: list[Any] = (
        client.keys(pattern, target_nodes=redis.RedisCluster.PRIMARIES)
        if isinstance(client, redis.RedisCluster)
        else client.keys(pattern)
    )
    return [bytes(k) for k in found]


def _direct(url: str) -> Any:
    """A plain redis-py client of the test's Redis or Redis Cluster."""
    if url.startswith("redis+cluster://"):
        return redis.RedisCluster.from_url(url.replace("redis+cluster://", "redis://"))
    return redis.Redis.from_url(url)


async def test_old_windows_really_expire(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url, boards={"sprint": {"window": "1s", "retain": 0}})
    stub = calls.boards(sc)
    await calls.add(stub, "ann", 1, board="sprint")
    with redis.Redis.from_url(redis_url) as client:
        assert client.keys("*sprint*")
        await wait_until(lambda: not client.keys("*sprint*"), within=3)


def test_window_arithmetic() -> None:
    monthly = BoardSettings(window="monthly", retain=12)
    jan = window_at(monthly, _at(2025, 1, 15), windows_ago=1)
    assert jan is not None
    assert (jan.starts_ms, jan.ends_ms) == (_unix_ms(2024, 12, 1), _unix_ms(2025, 1, 1))
    assert jan.expires_ms == _unix_ms(2026, 1, 1)  # readable until it is 13 windows ago
    weekly = window_at(BoardSettings(window="weekly", retain=0), _at(2025, 1, 1))  # a Wednesday
    assert weekly is not None
    assert (weekly.starts_ms, weekly.ends_ms) == (_unix_ms(2024, 12, 30), _unix_ms(2025, 1, 6))
    assert weekly.expires_ms == weekly.ends_ms
    fixed = window_at(BoardSettings(window="15m"), _at(2025, 1, 1, 0, 44, 59), windows_ago=1)
    assert fixed is not None
    assert (fixed.starts_ms, fixed.ends_ms) == (
        _unix_ms(2025, 1, 1, 0, 15),
        _unix_ms(2025, 1, 1, 0, 30),
    )
    assert window_at(BoardSettings(), _at(2025, 1, 1)) is None


def test_board_config_is_validated() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("redis://127.0.0.1:1/0", None, boards={"x": {"window": "fortnightly"}})
    assert "namespaces.items.boards.x.window" in str(caught.value)
    with pytest.raises(ConfigError, match="at least 1s"):
        make_settings("redis://127.0.0.1:1/0", None, boards={"x": {"window": "10ms"}})
    with pytest.raises(ConfigError, match="order"):
        make_settings("redis://127.0.0.1:1/0", None, boards={"x": {"order": "sideways"}})
    settings = make_settings("redis://127.0.0.1:1/0", None, boards={"x": {"window": 3600}})
    assert settings.namespaces["items"].boards["x"].window == "3600s"
