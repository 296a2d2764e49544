"""Tags: invalidate every value carrying a tag in O(1), by generation counters.

Each (namespace, tag) has a counter at ``<prefix>g{<namespace>:<tag>}``. A
write (Set, WriteThrough, a load whose loader returned tags) records the
counters' values in the entry; InvalidateTags advances each named counter by
one (one command per tag, however many values carry it); a read of a tagged
entry fetches the counters of its tags (one MGET per batch of reads) and
treats the entry as a miss if any moved. Untagged entries pay nothing.

Cluster placement: a counter's hash tag is ``{<namespace>:<tag>}``, so each
tag lives in its own slot, spread over the cluster like any key, and not in
its values' slots: a tag's members span every slot, and a per-slot counter
would make InvalidateTags O(slots). The price is that a read of a tagged value
is two round trips (value, then counters), which ``bench/tags.py`` measures.

A counter that vanishes (eviction, a Memcached restart) is recreated from the
clock (µs since the epoch), above any value an older entry may have recorded,
and a missing counter at read time is a miss: both fail towards a reload.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sidecar.backends.versions import VersionedStore
from sidecar.errors import InvalidArgument
from sidecar.patterns.entry import Entry
from sidecar.patterns.namespace import Namespace

__all__ = ["MAX_TAGS", "MAX_TAG_BYTES", "check_tags", "invalidate", "snapshot", "valid"]

#: Bounds keep a tagged entry's header inside Memcached's ITEM_OVERHEAD (1 KiB
#: for key and envelope): 8 * (2 + 64 + 8) bytes of tags at most.
MAX_TAGS = 8
MAX_TAG_BYTES = 64


def _seed() -> int:
    return time.time_ns() // 1000


def check_tags(ns: Namespace, tags: Sequence[str]) -> tuple[str, ...]:
    """The tags, deduplicated, or INVALID_ARGUMENT / TAGS_INVALID."""
    unique = tuple(dict.fromkeys(tags))
    bad = next((t for t in unique if not t or len(t.encode()) > MAX_TAG_BYTES), None)
    if len(unique) > MAX_TAGS or bad is not None:
        raise InvalidArgument(
            f"namespace {ns.name!r}: a value takes at most {MAX_TAGS} tags of 1 to "
            f"{MAX_TAG_BYTES} bytes each (got {len(unique)}"
            + ("" if bad is None else f", one of {len(bad.encode())} bytes")
            + ")",
            reason="TAGS_INVALID",
            metadata={"namespace": ns.name},
        )
    return unique


def _keys(ns: Namespace, tags: Sequence[str]) -> list[bytes]:
    return [ns.keys.tagged(b"g", tag) for tag in tags]


async def snapshot(ns: Namespace, tags: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """The current generation of each tag, for a write to record."""
    if not tags:
        return ()
    store = ns.require(VersionedStore)
    found = await store.generations(_keys(ns, tags), create=_seed())
    # A counter evicted between create and read: record 0, which never matches.
    return tuple((tag, g or 0) for tag, g in zip(tags, found, strict=True))


async def valid(ns: Namespace, entries: Sequence[Entry | None]) -> list[Entry | None]:
    """``entries`` with every tagged entry whose tags moved replaced by None.
    One round trip for the whole batch, none when nothing is tagged."""
    wanted = list(dict.fromkeys(t for e in entries if e is not None for t, _ in e.tags))
    if not wanted:
        return list(entries)
    found = await ns.require(VersionedStore).generations(_keys(ns, wanted), create=None)
    current = dict(zip(wanted, found, strict=True))
    return [
        None if e is not None and any(current[t] != g for t, g in e.tags) else e for e in entries
    ]


async def invalidate(ns: Namespace, tags: Sequence[str]) -> None:
    """Make every value carrying any of ``tags`` a miss."""
    if tags:
        await ns.require(VersionedStore).bump(_keys(ns, tags), _seed())
