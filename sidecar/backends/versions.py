"""The versioned-store capability: versioned, conditional and batched writes,
TTL changes without a rewrite, and tag generation counters.

A component enforces versions where it stores (a Redis script, Memcached
gets/cas), so it must read a stored value's version. It cannot import the
pattern layer's entry codec, so the part of a cachecar record a store reads
is fixed here, and ``patterns/entry.py`` builds its format on it::

    format:u8 (=2)  flags:u8  version:u64  stale_at_ms:i64  ...opaque

``flags`` bit 0: the loader found the key; bit 1: a tombstone (a delete that
remembers its version). A record of any other format (format 1 entries,
Memcached's lease placeholder) has version 0 and is live only if it is a
format 1 entry with its found bit set.

The version rule, the same on every component: a record whose version is 0
gets the stored version plus one (the sidecar's own per-key counter), except
a "not found" (a loader's found=false), which keeps the stored version: it
states the absence a delete's tombstone already versioned, and must not push
the key's version past the application's next write. Any other version is
stored only if it is not lower than the stored one. So a fill or write never
replaces a value with a lower application version.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from sidecar.backends.base import Fence

__all__ = [
    "FLAG_FOUND",
    "FLAG_TOMBSTONE",
    "RECORD_FORMAT",
    "RECORD_HEAD",
    "Condition",
    "Put",
    "PutOutcome",
    "PutStatus",
    "VersionedStore",
    "record_live",
    "record_version",
    "stamp",
]

RECORD_FORMAT: Final = 2
FLAG_FOUND: Final = 0x01
FLAG_TOMBSTONE: Final = 0x02
#: format, flags, version, stale_at_ms: what a store reads of a record.
RECORD_HEAD: Final = struct.Struct(">BBQq")
VERSION_AT: Final = 2
STALE_AT: Final = 10
MAX_VERSION: Final = 2**64 - 1


class Condition(enum.Enum):
    """When a write may store (the API's Condition)."""

    ALWAYS = 0
    #: Only if no live value is stored (missing, expired, tombstone, cached not-found).
    ABSENT = 1
    #: Only if a live value is stored.
    PRESENT = 2
    #: Only if a live value with exactly ``Put.expected`` as its version is stored.
    VERSION = 3


class PutStatus(enum.Enum):
    STORED = 1
    #: A fill whose lease was broken (a write or delete landed during the load).
    FENCED = 2
    #: The record's version is lower than the stored one.
    STALE = 3
    #: The write's condition did not hold.
    UNMET = 4
    #: Memcached only: the key kept changing under a compare-and-swap.
    CONTENDED = 5


@dataclass(frozen=True, slots=True)
class Put:
    """One write of a record: an app write (``fence`` None: breaks any lease)
    or a load's fill (stores only while ``fence`` holds)."""

    key: bytes
    lease_key: bytes
    record: bytes
    ttl_ms: int
    fence: Fence | None = None
    condition: Condition = Condition.ALWAYS
    expected: int = 0


@dataclass(frozen=True, slots=True)
class PutOutcome:
    status: PutStatus
    #: STORED: the version now stored; otherwise the stored version (0: none).
    version: int


def record_version(raw: bytes | None) -> int:
    if raw is None or len(raw) < RECORD_HEAD.size or raw[0] != RECORD_FORMAT:
        return 0
    return int.from_bytes(raw[VERSION_AT:STALE_AT], "big")


def record_live(raw: bytes | None) -> bool:
    """Whether ``raw`` is a value a reader would see (found, not a tombstone)."""
    if raw is None or len(raw) < 2:
        return False
    if raw[0] == RECORD_FORMAT:
        return bool(raw[1] & FLAG_FOUND) and not raw[1] & FLAG_TOMBSTONE
    return raw[0] == 1 and bool(raw[1] & FLAG_FOUND)


def stamp(record: bytes, version: int) -> bytes:
    """``record`` carrying ``version``."""
    return record[:VERSION_AT] + version.to_bytes(8, "big") + record[STALE_AT:]


def restale(raw: bytes, stale_at_ms: int) -> bytes | None:
    """``raw`` (format 1 or 2) with a new stale-at time, or None for non-records."""
    at = STALE_AT if raw[:1] == bytes([RECORD_FORMAT]) else 2 if raw[:1] == b"\x01" else None
    if at is None or len(raw) < at + 8:
        return None
    return raw[:at] + stale_at_ms.to_bytes(8, "big", signed=True) + raw[at + 8 :]


def decide(current: bytes | None, put: Put) -> PutOutcome | int:
    """Whether ``put`` may replace ``current``: the version to store, or the refusal.

    The rule each component applies inside its atomic step (Memcached; the
    Redis script mirrors it in Lua).
    """
    stored = record_version(current)
    live = record_live(current)
    condition = put.condition
    if (
        (condition is Condition.ABSENT and live)
        or (condition is Condition.PRESENT and not live)
        or (condition is Condition.VERSION and (not live or stored != put.expected))
    ):
        return PutOutcome(PutStatus.UNMET, stored)
    wanted = record_version(put.record)
    if wanted == 0:
        if not put.record[1] & FLAG_FOUND:
            return stored
        # The counter cannot pass the largest version: nothing is newer.
        return PutOutcome(PutStatus.STALE, stored) if stored == MAX_VERSION else stored + 1
    if wanted < stored:
        return PutOutcome(PutStatus.STALE, stored)
    return wanted


@runtime_checkable
class VersionedStore(Protocol):
    """Versioned writes, TTL changes and tag generations (every component)."""

    async def put(self, puts: Sequence[Put]) -> list[PutOutcome]:
        """Apply each put atomically (per key), by the version rule; one outcome
        per put, in order. A stored put breaks (app write) or releases (fill)
        the key's lease. Batches are sent one round trip per cluster slot or
        server where the component can."""
        ...

    async def touch(self, key: bytes, stale_at_ms: int, ttl_ms: int) -> bool:
        """Give a live record a new stale-at time and physical TTL without sending
        its value again; False if there is none."""
        ...

    async def generations(self, keys: Sequence[bytes], *, create: int | None) -> list[int | None]:
        """Tag generation counters, one per key (None: missing). With ``create``,
        a missing counter is first set to it (writers record generations)."""
        ...

    async def bump(self, keys: Sequence[bytes], seed: int) -> None:
        """Advance each counter by one (a missing one starts past ``seed``):
        one command per tag, whatever the number of values carrying it."""
        ...
