"""Time windows of windowed leaderboards: which window a moment falls in, in UTC.

``daily`` windows start at 00:00 UTC, ``weekly`` ones on Monday 00:00 UTC
(ISO weeks), ``monthly`` ones on the first of the month; a fixed length
(``1h``, ``15m``) cuts time into windows aligned to the unix epoch. A window
``windows_ago`` back is found by stepping whole windows back (whole calendar
months for ``monthly``), and a window is kept until the newest window it may
still be read as (``windows_ago == retain``) ends: that instant is its expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sidecar.config import BoardSettings

__all__ = ["Window", "window_at"]

_DAY_MS = 86_400_000
_WEEK_MS = 7 * _DAY_MS
# 1970-01-01 was a Thursday; ISO weeks start on Mondays, such as 1970-01-05.
_MONDAY_OFFSET_MS = 4 * _DAY_MS


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a board, in unix milliseconds: ``[starts_ms, ends_ms)``."""

    starts_ms: int
    ends_ms: int
    #: When the window's data expires: once it can no longer be selected.
    expires_ms: int


def window_at(settings: BoardSettings, now_s: float, windows_ago: int = 0) -> Window | None:
    """The window ``windows_ago`` before the one containing ``now_s``; None if unwindowed."""
    if settings.window == "none":
        return None
    now_ms = int(now_s * 1000)
    if settings.window == "monthly":
        return _monthly(now_ms, windows_ago, settings.retain)
    length_ms = _fixed_length_ms(settings)
    offset = _MONDAY_OFFSET_MS if settings.window == "weekly" else 0
    index = (now_ms - offset) // length_ms - windows_ago
    starts = index * length_ms + offset
    return Window(starts, starts + length_ms, starts + (settings.retain + 1) * length_ms)


def _fixed_length_ms(settings: BoardSettings) -> int:
    if settings.window == "daily":
        return _DAY_MS
    if settings.window == "weekly":
        return _WEEK_MS
    length = settings.window_length
    assert length is not None  # config validation: none, a calendar name or a duration
    return max(1, round(length.total_seconds() * 1000))


def _month_start_ms(month_index: int) -> int:
    """Unix ms of the first of the month ``month_index`` months after January 1970."""
    year, month = divmod(month_index, 12)
    start = datetime(1970 + year, month + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000)


def _monthly(now_ms: int, windows_ago: int, retain: int) -> Window:
    now = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=now_ms)
    index = (now.year - 1970) * 12 + (now.month - 1) - windows_ago
    return Window(
        _month_start_ms(index), _month_start_ms(index + 1), _month_start_ms(index + retain + 1)
    )
