"""LeaderboardService methods: ranked boards and atomic (windowed) counters.

Redis namespaces only; on Memcached every call raises FailedPrecondition /
NOT_SUPPORTED_BY_BACKEND.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from cachecar._base import _Base, duration
from cachecar.v1 import leaderboard_pb2

__all__ = ["ScoreMode"]

#: How add_score combines a score with the member's current one.
ScoreMode = Literal["set", "increment", "keep_greater", "keep_lower"]

_MODES: dict[str, leaderboard_pb2.ScoreMode.ValueType] = {
    "set": leaderboard_pb2.SCORE_MODE_SET,
    "increment": leaderboard_pb2.SCORE_MODE_INCREMENT,
    "keep_greater": leaderboard_pb2.SCORE_MODE_KEEP_GREATER,
    "keep_lower": leaderboard_pb2.SCORE_MODE_KEEP_LOWER,
}


class LeaderboardMethods(_Base):
    """The LeaderboardService part of :class:`cachecar.CacheCar`."""

    async def add_score(
        self,
        namespace: str,
        board: str,
        member: str,
        score: float,
        *,
        mode: ScoreMode = "set",
        timeout: float | None = None,
    ) -> leaderboard_pb2.AddScoreResponse:
        """Record a score; returns the member's resulting score and rank.

        Retried on UNAVAILABLE except in ``increment`` mode: setting or keeping
        the better of two scores twice changes nothing, adding twice does.
        """
        request = leaderboard_pb2.AddScoreRequest(
            namespace=namespace, board=board, member=member, score=score, mode=_MODES[mode]
        )
        return await self._unary(
            self._boards.AddScore,
            request,
            leaderboard_pb2.AddScoreResponse,
            timeout=timeout,
            idempotent=mode != "increment",
        )

    async def get_top(
        self,
        namespace: str,
        board: str,
        *,
        limit: int = 10,
        offset: int = 0,
        windows_ago: int = 0,
        timeout: float | None = None,
    ) -> leaderboard_pb2.GetTopResponse:
        """One page of the board, best first, with the board's member count."""
        request = leaderboard_pb2.GetTopRequest(
            namespace=namespace, board=board, offset=offset, limit=limit, windows_ago=windows_ago
        )
        return await self._unary(
            self._boards.GetTop,
            request,
            leaderboard_pb2.GetTopResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def get_rank(
        self,
        namespace: str,
        board: str,
        member: str,
        *,
        windows_ago: int = 0,
        timeout: float | None = None,
    ) -> leaderboard_pb2.GetRankResponse:
        """A member's entry (score, 1-based rank); NotFound / MEMBER_NOT_FOUND if absent."""
        request = leaderboard_pb2.GetRankRequest(
            namespace=namespace, board=board, member=member, windows_ago=windows_ago
        )
        return await self._unary(
            self._boards.GetRank,
            request,
            leaderboard_pb2.GetRankResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def get_around(
        self,
        namespace: str,
        board: str,
        member: str,
        *,
        count: int = 5,
        windows_ago: int = 0,
        timeout: float | None = None,
    ) -> leaderboard_pb2.GetAroundResponse:
        """A member's entry with up to ``count`` neighbours on each side."""
        request = leaderboard_pb2.GetAroundRequest(
            namespace=namespace, board=board, member=member, count=count, windows_ago=windows_ago
        )
        return await self._unary(
            self._boards.GetAround,
            request,
            leaderboard_pb2.GetAroundResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def remove_member(
        self,
        namespace: str,
        board: str,
        member: str,
        *,
        windows_ago: int = 0,
        timeout: float | None = None,
    ) -> bool:
        """Remove a member from the board; False if it was not on it."""
        request = leaderboard_pb2.RemoveMemberRequest(
            namespace=namespace, board=board, member=member, windows_ago=windows_ago
        )
        response = await self._unary(
            self._boards.RemoveMember,
            request,
            leaderboard_pb2.RemoveMemberResponse,
            timeout=timeout,
            idempotent=True,
        )
        return response.removed

    async def increment_counter(
        self,
        namespace: str,
        counter: str,
        delta: int = 1,
        *,
        window: timedelta | float | None = None,
        timeout: float | None = None,
    ) -> leaderboard_pb2.IncrementCounterResponse:
        """Add ``delta`` atomically; with ``window`` the counter lives in a
        fixed window (a rate limit is one call). Never retried: an increment
        that reached Redis before the connection broke would count twice."""
        request = leaderboard_pb2.IncrementCounterRequest(
            namespace=namespace, counter=counter, delta=delta, window=duration(window)
        )
        return await self._unary(
            self._boards.IncrementCounter,
            request,
            leaderboard_pb2.IncrementCounterResponse,
            timeout=timeout,
            idempotent=False,
        )

    async def get_counter(
        self, namespace: str, counter: str, *, timeout: float | None = None
    ) -> leaderboard_pb2.GetCounterResponse:
        """A counter's value (``found=False``, 0 if absent or its window ended)."""
        return await self._unary(
            self._boards.GetCounter,
            leaderboard_pb2.GetCounterRequest(namespace=namespace, counter=counter),
            leaderboard_pb2.GetCounterResponse,
            timeout=timeout,
            idempotent=True,
        )
