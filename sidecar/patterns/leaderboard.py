"""Leaderboards and counters: board policy (order, windows), paging, capability checks.

A board is created by its first write; one not declared under the namespace's
``boards`` ranks the highest score first and has no windows. A windowed board
writes to the window the clock is in and reads the one ``windows_ago`` back,
up to its ``retain``; every window's keys expire by themselves when it falls
out of reach (see :mod:`sidecar.patterns.windows`). The clock is injectable
(``Leaderboards.clock``), so tests roll windows over without waiting.

Only backends with sorted sets and signed counters serve these (Redis and
Redis Cluster); others answer FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sidecar.backends.base import Missing
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
from sidecar.config import BoardSettings
from sidecar.errors import InvalidArgument, NotFound, OutOfRange
from sidecar.patterns.keys import KeyLayout
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.windows import Window, window_at

__all__ = ["Board", "Leaderboards", "board_keys"]

_SCORES = b"b"
_TIES = b"t"
_COUNTER = b"c"
_DEFAULT_BOARD = BoardSettings()


def board_keys(layout: KeyLayout, name: str, window: Window | None = None) -> BoardKeys:
    """The keys of board ``name`` (its ``window``, if windowed) in a namespace's layout."""
    suffix = b"" if window is None else b"@%d" % window.starts_ms
    return BoardKeys(
        scores=layout.tagged(_SCORES, name, suffix),
        ties=layout.tagged(_TIES, name, suffix),
        expire_at_ms=0 if window is None else window.expires_ms,
    )


@dataclass(frozen=True, slots=True)
class Board:
    """One board (window) resolved for a call."""

    keys: BoardKeys
    settings: BoardSettings
    #: None for a board without windows.
    window: Window | None

    @property
    def descending(self) -> bool:
        return self.settings.order == "desc"


class Leaderboards:
    """Board and counter operations for namespaces whose backend can rank."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        #: Wall-clock seconds; it decides which window a write goes to.
        self.clock = clock

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _store(ns: Namespace) -> LeaderboardStore:
        return ns.require(LeaderboardStore)

    @staticmethod
    def _counters(ns: Namespace) -> CounterStore:
        return ns.require(CounterStore)

    def board(self, ns: Namespace, name: str, windows_ago: int = 0) -> Board:
        """Where board ``name`` (its window ``windows_ago`` back) lives."""
        settings = ns.settings.boards.get(name, _DEFAULT_BOARD)
        if windows_ago and settings.window == "none":
            raise InvalidArgument(
                f"namespace {ns.name!r}: board {name!r} has no windows, so windows_ago must be 0 "
                "(declare the board with a window under the namespace's `boards:` to keep "
                "daily, weekly or monthly boards)",
                reason="WINDOW_INVALID",
                metadata={"namespace": ns.name},
            )
        if windows_ago > settings.retain:
            raise InvalidArgument(
                f"namespace {ns.name!r}: board {name!r} keeps {settings.retain} past window(s), "
                f"so windows_ago {windows_ago} is out of reach; ask for 0 to {settings.retain}",
                reason="WINDOW_INVALID",
                metadata={"namespace": ns.name, "retain": str(settings.retain)},
            )
        window = window_at(settings, self.clock(), windows_ago)
        return Board(board_keys(ns.keys, name, window), settings, window)

    @staticmethod
    def _member_not_found(ns: Namespace, board: Board) -> NotFound:
        where = "" if board.window is None else " (in the selected window)"
        return NotFound(
            f"namespace {ns.name!r}: the member is not on the board{where}; add it with AddScore",
            reason="MEMBER_NOT_FOUND",
            metadata={"namespace": ns.name},
        )

    # -- boards ---------------------------------------------------------------

    async def add_score(
        self, ns: Namespace, name: str, member: str, score: float, mode: ScoreMode
    ) -> tuple[ScoreResult, Board]:
        """Record a score in the board's current window; the member's score and rank."""
        store = self._store(ns)
        board = self.board(ns, name)
        result = await store.board_add(board.keys, member, score, mode, descending=board.descending)
        if isinstance(result, Overflow):
            raise OutOfRange(
                f"namespace {ns.name!r}: adding {score!r} to the member's score would leave the "
                "range of a double (±1.8e308); the score is unchanged",
                reason="SCORE_OVERFLOW",
                metadata={"namespace": ns.name},
            )
        return result, board

    async def top(
        self, ns: Namespace, name: str, offset: int, limit: int, windows_ago: int
    ) -> tuple[list[Ranked], int, Board]:
        """One page of the board, best first, and its member count."""
        store = self._store(ns)
        board = self.board(ns, name, windows_ago)
        entries, count = await store.board_page(
            board.keys, offset, limit, descending=board.descending
        )
        return entries, count, board

    async def rank(
        self, ns: Namespace, name: str, member: str, windows_ago: int
    ) -> tuple[Ranked, int, Board]:
        """The member's entry and the board's member count; NOT_FOUND if absent."""
        store = self._store(ns)
        board = self.board(ns, name, windows_ago)
        entry, count = await store.board_rank(board.keys, member, descending=board.descending)
        if isinstance(entry, Missing):
            raise self._member_not_found(ns, board)
        return entry, count, board

    async def around(
        self, ns: Namespace, name: str, member: str, count: int, windows_ago: int
    ) -> tuple[list[Ranked], int, Board]:
        """Up to ``count`` entries above and below the member, with the member's own."""
        store = self._store(ns)
        board = self.board(ns, name, windows_ago)
        entries, total = await store.board_around(
            board.keys, member, count, descending=board.descending
        )
        if isinstance(entries, Missing):
            raise self._member_not_found(ns, board)
        return entries, total, board

    async def remove(self, ns: Namespace, name: str, member: str, windows_ago: int) -> bool:
        """Take the member off the board (window); False if it was not on it."""
        store = self._store(ns)
        board = self.board(ns, name, windows_ago)
        return await store.board_remove(board.keys, member)

    # -- counters -------------------------------------------------------------

    async def increment(
        self, ns: Namespace, counter: str, delta: int, window: timedelta | None
    ) -> CounterValue:
        """Add ``delta``; a new counter with a window lives for that window."""
        store = self._counters(ns)
        window_ms = max(1, round(window.total_seconds() * 1000)) if window else 0
        result = await store.counter_increment(ns.keys.tagged(_COUNTER, counter), delta, window_ms)
        if isinstance(result, Overflow):
            raise OutOfRange(
                f"namespace {ns.name!r}: adding {delta} to the counter would leave the int64 "
                "range; the counter is unchanged",
                reason="COUNTER_OVERFLOW",
                metadata={"namespace": ns.name},
            )
        return result

    async def counter(self, ns: Namespace, counter: str) -> CounterValue | Missing:
        """The counter's value, or MISSING if it does not exist (or its window ended)."""
        return await self._counters(ns).counter_get(ns.keys.tagged(_COUNTER, counter))
