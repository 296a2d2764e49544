"""The cache entry envelope: a small binary header in front of the app's bytes.

The header carries what the cache-aside policy needs and the backend cannot
tell us: whether the loader found the key (negative caching), when the entry
goes stale (its logical TTL; the physical TTL adds the grace period), and how
long the last load took (the delta of XFetch's early refresh).

    version:u8  flags:u8  stale_at_ms:i64  load_ms:u32  value...
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["Entry", "decode", "encode"]

_HEADER = struct.Struct(">BBqI")
_VERSION = 1
_FOUND = 0x01


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached value (or cached absence) with its freshness metadata."""

    found: bool
    value: bytes
    #: Unix time in milliseconds at which the entry stops being fresh.
    stale_at_ms: int
    #: How long the load that produced it took, in milliseconds.
    load_ms: int = 0

    def fresh(self, now_ms: int) -> bool:
        return now_ms < self.stale_at_ms


def encode(entry: Entry) -> bytes:
    flags = _FOUND if entry.found else 0
    header = _HEADER.pack(_VERSION, flags, entry.stale_at_ms, min(entry.load_ms, 0xFFFFFFFF))
    return header + entry.value


def decode(raw: bytes) -> Entry | None:
    """The entry, or None for bytes that are not a cachecar entry (treated as a miss)."""
    if len(raw) < _HEADER.size or raw[0] != _VERSION:
        return None
    _, flags, stale_at_ms, load_ms = _HEADER.unpack_from(raw)
    return Entry(bool(flags & _FOUND), raw[_HEADER.size :], stale_at_ms, load_ms)
