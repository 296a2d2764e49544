"""The cache entry envelope: a small binary header in front of the app's bytes.

The header carries what the cache-aside policy needs and the backend cannot
tell us: whether the loader found the key (negative caching), when the entry
goes stale (its logical TTL; the physical TTL adds the grace period), how
long the last load took (the delta of XFetch's early refresh), the value's
version, and the generations of its tags when it was written.

Format 2 (written since versions; its first 18 bytes are the record head a
store reads, ``sidecar/backends/versions.py``)::

    2:u8  flags:u8  version:u64  stale_at_ms:i64  load_ms:u32  ntags:u16
    (len:u16 tag generation:u64) * ntags  value...

Format 1 (older sidecars) still decodes, as version 0 without tags::

    1:u8  flags:u8  stale_at_ms:i64  load_ms:u32  value...
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sidecar.backends.versions import FLAG_FOUND, FLAG_TOMBSTONE, RECORD_FORMAT, RECORD_HEAD

__all__ = ["Entry", "decode", "decode_record", "encode"]

_V1 = struct.Struct(">BBqI")
_V2 = struct.Struct(">BBQqIH")
_TAG_LEN = struct.Struct(">H")
_GENERATION = struct.Struct(">Q")
# Format 2 starts with the record head a store reads.
assert _V2.format.startswith(RECORD_HEAD.format)


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached value (or cached absence) with its freshness metadata."""

    found: bool
    value: bytes
    #: Unix time in milliseconds at which the entry stops being fresh.
    stale_at_ms: int
    #: How long the load that produced it took, in milliseconds.
    load_ms: int = 0
    #: The value's version; 0 asks the store to assign the next one.
    version: int = 0
    #: The value's tags, each with its generation counter when written.
    tags: tuple[tuple[str, int], ...] = ()
    #: A delete that keeps its version (never served: reads see a miss).
    tombstone: bool = False

    def fresh(self, now_ms: int) -> bool:
        return now_ms < self.stale_at_ms


def encode(entry: Entry) -> bytes:
    flags = (FLAG_FOUND if entry.found else 0) | (FLAG_TOMBSTONE if entry.tombstone else 0)
    parts = [
        _V2.pack(
            RECORD_FORMAT,
            flags,
            entry.version,
            entry.stale_at_ms,
            min(entry.load_ms, 0xFFFFFFFF),
            len(entry.tags),
        )
    ]
    for tag, generation in entry.tags:
        name = tag.encode()
        parts += (_TAG_LEN.pack(len(name)), name, _GENERATION.pack(generation))
    parts.append(entry.value)
    return b"".join(parts)


def decode(raw: bytes) -> Entry | None:
    """The entry, or None for a tombstone or bytes that are not a cachecar entry
    (both read as a miss)."""
    entry = decode_record(raw)
    return None if entry is None or entry.tombstone else entry


def decode_record(raw: bytes) -> Entry | None:
    """Like :func:`decode`, but a tombstone is returned (for versioned writes)."""
    if len(raw) >= _V2.size and raw[0] == RECORD_FORMAT:
        _, flags, version, stale_at_ms, load_ms, count = _V2.unpack_from(raw)
        at = _V2.size
        tags = []
        try:
            for _ in range(count):
                (size,) = _TAG_LEN.unpack_from(raw, at)
                name = raw[at + 2 : at + 2 + size].decode()
                (generation,) = _GENERATION.unpack_from(raw, at + 2 + size)
                tags.append((name, generation))
                at += 2 + size + _GENERATION.size
        except (struct.error, UnicodeDecodeError):
            return None  # truncated or foreign bytes: a miss
        return Entry(
            bool(flags & FLAG_FOUND),
            raw[at:],
            stale_at_ms,
            load_ms,
            version,
            tuple(tags),
            bool(flags & FLAG_TOMBSTONE),
        )
    if len(raw) >= _V1.size and raw[0] == 1:
        _, flags, stale_at_ms, load_ms = _V1.unpack_from(raw)
        return Entry(bool(flags & FLAG_FOUND), raw[_V1.size :], stale_at_ms, load_ms)
    return None
