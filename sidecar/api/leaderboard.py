"""LeaderboardService servicer: proto <-> domain, validation.

Thin on purpose: it resolves the namespace, checks names, scores, page sizes
and counter windows, and calls the leaderboard pattern. Page sizes are
capped here (GetTop at 1000 entries, GetAround at 100 on each side).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TypedDict

from cachecar.v1 import leaderboard_pb2, leaderboard_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from sidecar.api.access import NamespaceAccess
from sidecar.api.context import Context
from sidecar.api.decode import optional_duration
from sidecar.api.rpc import rpc
from sidecar.backends.base import Missing
from sidecar.backends.capabilities import CounterValue, Ranked, ScoreMode
from sidecar.errors import InvalidArgument
from sidecar.patterns.leaderboard import Board, Leaderboards
from sidecar.patterns.namespace import Namespace
from sidecar.telemetry import Telemetry

__all__ = ["LeaderboardServicer"]

DEFAULT_PAGE = 10
MAX_PAGE = 1000
DEFAULT_AROUND = 5
MAX_AROUND = 100
_MAX_WINDOW = timedelta(days=365)
_MIN_WINDOW = timedelta(milliseconds=1)

_MODES: dict[int, ScoreMode] = {
    leaderboard_pb2.SCORE_MODE_UNSPECIFIED: "set",
    leaderboard_pb2.SCORE_MODE_SET: "set",
    leaderboard_pb2.SCORE_MODE_INCREMENT: "increment",
    leaderboard_pb2.SCORE_MODE_KEEP_GREATER: "keep_greater",
    leaderboard_pb2.SCORE_MODE_KEEP_LOWER: "keep_lower",
}


def _check_name(ns: Namespace, what: str, value: str) -> None:
    if not value or len(value.encode()) > ns.settings.max_key_length:
        raise InvalidArgument(
            f"namespace {ns.name!r}: the {what} name is empty or longer than the namespace's "
            f"max_key_length of {ns.settings.max_key_length} bytes; send a non-empty {what}",
            reason=f"{what.upper()}_INVALID",
            metadata={"namespace": ns.name},
        )


def _entry(ranked: Ranked) -> leaderboard_pb2.Entry:
    return leaderboard_pb2.Entry(member=ranked.member, score=ranked.score, rank=ranked.rank)


def _window(board: Board) -> leaderboard_pb2.BoardWindow | None:
    if board.window is None:
        return None
    starts, ends = Timestamp(), Timestamp()
    starts.FromMilliseconds(board.window.starts_ms)
    ends.FromMilliseconds(board.window.ends_ms)
    return leaderboard_pb2.BoardWindow(starts_at=starts, ends_at=ends)


class _WindowTimes(TypedDict, total=False):
    """A windowed counter's response fields (absent for a counter without a window)."""

    window_ends_at: Timestamp
    window_remaining: Duration


class LeaderboardServicer(leaderboard_pb2_grpc.LeaderboardServiceServicer):
    """Serves cachecar.v1.LeaderboardService."""

    SERVICE = "cachecar.v1.LeaderboardService"

    def __init__(
        self, namespaces: NamespaceAccess, boards: Leaderboards, telemetry: Telemetry
    ) -> None:
        self.namespaces = namespaces
        self._boards = boards
        self.telemetry = telemetry

    def _counter_times(self, value: CounterValue) -> _WindowTimes:
        if value.remaining_ms is None:
            return _WindowTimes()
        remaining = Duration()
        remaining.FromMilliseconds(value.remaining_ms)
        ends = Timestamp()
        ends.FromMilliseconds(int(self._boards.clock() * 1000) + value.remaining_ms)
        return _WindowTimes(window_ends_at=ends, window_remaining=remaining)

    @rpc
    async def AddScore(
        self, request: leaderboard_pb2.AddScoreRequest, context: Context
    ) -> leaderboard_pb2.AddScoreResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "board", request.board)
        _check_name(ns, "member", request.member)
        if not math.isfinite(request.score):
            raise InvalidArgument(
                f"namespace {ns.name!r}: the score is {request.score}; send a finite number",
                reason="SCORE_INVALID",
                metadata={"namespace": ns.name},
            )
        mode = _MODES.get(request.mode)
        if mode is None:
            raise InvalidArgument(
                f"namespace {ns.name!r}: unknown score mode {request.mode}; use one of "
                "SCORE_MODE_SET, SCORE_MODE_INCREMENT, SCORE_MODE_KEEP_GREATER, "
                "SCORE_MODE_KEEP_LOWER",
                reason="SCORE_MODE_INVALID",
                metadata={"namespace": ns.name},
            )
        result, board = await self._boards.add_score(
            ns, request.board, request.member, request.score, mode
        )
        return leaderboard_pb2.AddScoreResponse(
            score=result.score, rank=result.rank, updated=result.updated, window=_window(board)
        )

    @rpc
    async def GetTop(
        self, request: leaderboard_pb2.GetTopRequest, context: Context
    ) -> leaderboard_pb2.GetTopResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "board", request.board)
        limit = min(request.limit or DEFAULT_PAGE, MAX_PAGE)
        entries, count, board = await self._boards.top(
            ns, request.board, request.offset, limit, request.windows_ago
        )
        return leaderboard_pb2.GetTopResponse(
            entries=[_entry(e) for e in entries], member_count=count, window=_window(board)
        )

    @rpc
    async def GetRank(
        self, request: leaderboard_pb2.GetRankRequest, context: Context
    ) -> leaderboard_pb2.GetRankResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "board", request.board)
        _check_name(ns, "member", request.member)
        entry, count, board = await self._boards.rank(
            ns, request.board, request.member, request.windows_ago
        )
        return leaderboard_pb2.GetRankResponse(
            entry=_entry(entry), member_count=count, window=_window(board)
        )

    @rpc
    async def GetAround(
        self, request: leaderboard_pb2.GetAroundRequest, context: Context
    ) -> leaderboard_pb2.GetAroundResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "board", request.board)
        _check_name(ns, "member", request.member)
        count = min(request.count or DEFAULT_AROUND, MAX_AROUND)
        entries, total, board = await self._boards.around(
            ns, request.board, request.member, count, request.windows_ago
        )
        return leaderboard_pb2.GetAroundResponse(
            entries=[_entry(e) for e in entries], member_count=total, window=_window(board)
        )

    @rpc
    async def RemoveMember(
        self, request: leaderboard_pb2.RemoveMemberRequest, context: Context
    ) -> leaderboard_pb2.RemoveMemberResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "board", request.board)
        _check_name(ns, "member", request.member)
        removed = await self._boards.remove(ns, request.board, request.member, request.windows_ago)
        return leaderboard_pb2.RemoveMemberResponse(removed=removed)

    @rpc
    async def IncrementCounter(
        self, request: leaderboard_pb2.IncrementCounterRequest, context: Context
    ) -> leaderboard_pb2.IncrementCounterResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "counter", request.counter)
        if request.delta == 0:
            raise InvalidArgument(
                f"namespace {ns.name!r}: delta is 0; send a non-zero delta, or read the "
                "counter with GetCounter",
                reason="DELTA_INVALID",
                metadata={"namespace": ns.name},
            )
        window = optional_duration(request, "window", namespace=ns.name, reason="WINDOW_INVALID")
        # A window set to less than 1 ms (zero included) is refused, not read as
        # "no window": the caller asked for one that cannot exist.
        if window is not None and not _MIN_WINDOW <= window <= _MAX_WINDOW:
            raise InvalidArgument(
                f"namespace {ns.name!r}: the counter window is {window.total_seconds()}s; send "
                "a window between 1ms and 365 days, or leave it unset for a counter that never "
                "resets",
                reason="WINDOW_INVALID",
                metadata={"namespace": ns.name},
            )
        value = await self._boards.increment(ns, request.counter, request.delta, window)
        return leaderboard_pb2.IncrementCounterResponse(
            value=value.value, **self._counter_times(value)
        )

    @rpc
    async def GetCounter(
        self, request: leaderboard_pb2.GetCounterRequest, context: Context
    ) -> leaderboard_pb2.GetCounterResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_name(ns, "counter", request.counter)
        value = await self._boards.counter(ns, request.counter)
        if isinstance(value, Missing):
            return leaderboard_pb2.GetCounterResponse(found=False, value=0)
        return leaderboard_pb2.GetCounterResponse(
            found=True, value=value.value, **self._counter_times(value)
        )
