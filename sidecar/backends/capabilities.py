"""Optional backend capabilities: session records, leaderboards and counters.

:class:`~sidecar.backends.base.Backend` is what every backend offers. The
session, leaderboard and counter patterns need more, and not every backend
has it; each capability here is a ``runtime_checkable`` Protocol that a
backend implements or not. A pattern checks with ``isinstance`` and answers
FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND when the capability is absent.

    capability           Redis / Cluster   Memcached
    SessionStore         yes               yes (whole records, gets/cas)
    SubjectRevocation    yes               no: it cannot enumerate a subject's sessions
    LeaderboardStore     yes               no: no sorted sets
    CounterStore         yes               no: incr/decr are unsigned, clamp at 0 and
                                           cannot report a window's remaining time

Outcomes that are not failures of the backend (a missing session, a lost
compare-and-set, a result too large) come back as values, never as
exceptions: the pattern turns them into the error tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from sidecar.backends.base import Missing

__all__ = [
    "BoardKeys",
    "Contended",
    "CounterStore",
    "CounterValue",
    "FieldChanges",
    "LeaderboardStore",
    "Overflow",
    "Ranked",
    "ScoreMode",
    "ScoreResult",
    "SessionKeys",
    "SessionRecord",
    "SessionStore",
    "SubjectRevocation",
    "TooLarge",
    "VersionMismatch",
]

# -- sessions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session as stored. Times are unix milliseconds."""

    subject: str
    data: Mapping[str, bytes]
    version: int
    created_ms: int
    #: Idle expiry: the session ends here unless used again.
    expires_ms: int
    #: Absolute expiry: the session ends here whatever its activity.
    absolute_ms: int
    #: The idle TTL every use extends the expiry by.
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """Where one session lives (see ``sidecar.patterns.keys``)."""

    #: The session record.
    key: bytes
    #: The session's entry in its subject's index (the digest of its id).
    member: bytes
    #: The subject index of the session's shard, without the subject: the
    #: index key is ``index_prefix + subject``.
    index_prefix: bytes
    #: The session key without ``member``: a subject's sessions are
    #: ``session_prefix + member`` for each member of its index.
    session_prefix: bytes


@dataclass(frozen=True, slots=True)
class FieldChanges:
    """One UpdateSession: fields to set and delete, applied together or not at all."""

    set_fields: Mapping[str, bytes]
    #: Distinct names, none of them in ``set_fields``.
    delete_fields: Sequence[str]
    #: Apply only at this version; 0 = whatever is stored.
    expected_version: int
    #: The most bytes (field names + values) the session may hold afterwards.
    max_size: int


@dataclass(frozen=True, slots=True)
class VersionMismatch:
    """The session is not at the expected version; nothing was changed."""

    current: int


@dataclass(frozen=True, slots=True)
class TooLarge:
    """The update would make the session larger than allowed; nothing was changed."""

    size: int


@dataclass(frozen=True, slots=True)
class Contended:
    """Concurrent writers kept winning the compare-and-swap; nothing was changed."""

    attempts: int


@runtime_checkable
class SessionStore(Protocol):
    """Session records with sliding and absolute expiry and per-field updates.

    ``now_ms`` is the sidecar's clock; ``slide`` moves the idle expiry to
    ``min(now + ttl, absolute)``.
    """

    async def session_create(self, keys: SessionKeys, record: SessionRecord, now_ms: int) -> bool:
        """Store a new session (and index it under its subject where supported);
        False if the key is taken."""
        ...

    async def session_read(
        self, keys: SessionKeys, now_ms: int, *, slide: bool, with_data: bool
    ) -> SessionRecord | Missing:
        """The session (its data only if ``with_data``), or MISSING."""
        ...

    async def session_update(
        self, keys: SessionKeys, now_ms: int, changes: FieldChanges, *, slide: bool
    ) -> SessionRecord | Missing | VersionMismatch | TooLarge | Contended:
        """Apply ``changes`` atomically and bump the version; the session after it."""
        ...

    async def session_delete(self, keys: SessionKeys, now_ms: int) -> bool:
        """End the session; True if a live one existed."""
        ...


@runtime_checkable
class SubjectRevocation(Protocol):
    """Ends every session of a subject at once."""

    async def session_revoke_subject(
        self, index_key: bytes, session_prefix: bytes, now_ms: int
    ) -> int:
        """Delete every session indexed under ``index_key``; how many were live."""
        ...


# -- leaderboards ---------------------------------------------------------------

ScoreMode = Literal["set", "increment", "keep_greater", "keep_lower"]


@dataclass(frozen=True, slots=True)
class BoardKeys:
    """Where one board (window) lives and when it expires."""

    #: The sorted set of members.
    scores: bytes
    #: The companion hash that keeps the tie-break order.
    ties: bytes
    #: Unix ms at which both keys expire (a windowed board); 0 = never.
    expire_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class Ranked:
    """A member's place: rank 1 is the best."""

    member: str
    score: float
    rank: int


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A member's score and rank after AddScore."""

    score: float
    rank: int
    updated: bool


@dataclass(frozen=True, slots=True)
class Overflow:
    """The result would not fit (a score past ±infinity, a counter past int64)."""


@runtime_checkable
class LeaderboardStore(Protocol):
    """Ranked boards; ``descending`` boards rank the highest score first.

    Among equal scores, the member that reached the score first ranks first.
    Reads return the board's member count with their result.
    """

    async def board_add(
        self, keys: BoardKeys, member: str, score: float, mode: ScoreMode, *, descending: bool
    ) -> ScoreResult | Overflow: ...

    async def board_page(
        self, keys: BoardKeys, offset: int, limit: int, *, descending: bool
    ) -> tuple[list[Ranked], int]: ...

    async def board_rank(
        self, keys: BoardKeys, member: str, *, descending: bool
    ) -> tuple[Ranked | Missing, int]: ...

    async def board_around(
        self, keys: BoardKeys, member: str, count: int, *, descending: bool
    ) -> tuple[list[Ranked] | Missing, int]: ...

    async def board_remove(self, keys: BoardKeys, member: str) -> bool: ...


# -- counters -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterValue:
    """A counter's value, and the time left in its window by the backend's clock."""

    value: int
    #: None: the counter has no window.
    remaining_ms: int | None


@runtime_checkable
class CounterStore(Protocol):
    """Atomic int64 counters, optionally living in a fixed window."""

    async def counter_increment(
        self, key: bytes, delta: int, window_ms: int
    ) -> CounterValue | Overflow:
        """Add ``delta``; a new counter with ``window_ms`` > 0 expires after it."""
        ...

    async def counter_get(self, key: bytes) -> CounterValue | Missing: ...
