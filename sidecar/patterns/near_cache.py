"""The near cache: a namespace's hottest entries in the sidecar's own memory.

A hit costs a dict lookup instead of a Redis round trip. It stays coherent
through the backend's invalidation feed (``backends/invalidation.py``): this
class is the feed's sink. The rules, each against a hazard:

- **Nothing is stored unless the feed vouches for its slot.** Until the feed
  says ``resume`` (its link is subscribed), and from any ``flush`` (link lost,
  silent, server restarted, slots moved) until the next ``resume``, reads go
  to the backend and nothing is kept.
- **A late reply is not cached.** Redis may push a key's invalidation before
  the reply of a read that started earlier (the Redis docs' race). Every read
  that may fill takes a :class:`Ticket` first: the key's generation (bumped by
  every invalidation of that key while a read of it is in flight) and the
  cache's epoch (bumped by every flush). A reply is kept only if neither moved.
- **This sidecar's writes are read at once.** A Set, Invalidate, WriteThrough,
  EnqueueWrite or fill through this sidecar drops the key here when its write
  returns (``discard``), and bumps its generation, so a read racing the write
  cannot put the old value back.
- **An entry's own expiry holds.** It is dropped at its stale time plus the
  namespace grace (what Redis keeps), or after ``max_staleness`` if set.

Bounded by bytes, per-entry overhead included (``ENTRY_OVERHEAD``, measured
with tracemalloc: see docs/near-cache.md). Eviction is a segmented LRU: a new
entry enters a probation segment (20 %); a second hit promotes it to the
protected segment (80 %). A scan of cold keys only churns probation, so hot
keys survive it. Why not a library (theine's W-TinyLFU, cachebox): neither
bounds by bytes, and a hit through them cost more than this one (measured in
docs/near-cache.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sidecar.patterns.entry import Entry
from sidecar.telemetry import Telemetry

__all__ = ["ENTRY_OVERHEAD", "NearCache", "Ticket"]

#: Bytes one entry costs beyond its key and value: the key and value objects'
#: headers, the Entry and _Item objects, and the OrderedDict's slot and link.
ENTRY_OVERHEAD = 370
_PROTECTED_SHARE = 0.8


class _Item:
    __slots__ = ("entry", "expires_ms", "size", "slot")

    def __init__(self, entry: Entry, expires_ms: int, size: int, slot: int) -> None:
        self.entry = entry
        self.expires_ms = expires_ms
        self.size = size
        self.slot = slot


@dataclass(slots=True)
class _Reading:
    readers: int = 0
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before a read that may fill the near cache."""

    key: bytes
    reading: _Reading
    generation: int
    epoch: int


class NearCache:
    """One namespace's near cache; also its invalidation feed's sink."""

    def __init__(
        self,
        namespace: str,
        max_bytes: int,
        *,
        slot: Callable[[bytes], int] | None = None,
        max_staleness_ms: int | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.namespace = namespace
        self.max_bytes = max_bytes
        self._protected_max = int(max_bytes * _PROTECTED_SHARE)
        self._slot = slot
        self._max_staleness_ms = max_staleness_ms
        self._probation: OrderedDict[bytes, _Item] = OrderedDict()
        self._protected: OrderedDict[bytes, _Item] = OrderedDict()
        self.bytes = 0
        self._protected_bytes = 0
        self._reading: dict[bytes, _Reading] = {}
        self._epoch = 0
        # With a feed: nothing is vouched for until it resumes. Without one
        # (Memcached, bounded staleness): always open, max_staleness bounds it.
        self._down_all = slot is not None
        self._down: set[int] = set()
        m = (telemetry or Telemetry()).metrics
        self._hits = m.child(m.near_hits, namespace)
        self._misses = m.child(m.near_misses, namespace)
        self._invalidations = m.child(m.near_invalidations, namespace)
        self._evictions = m.child(m.near_evictions, namespace)
        self._raced = m.child(m.near_fills_dropped, namespace)
        self._bytes_gauge = m.child(m.near_bytes, namespace)
        self._entries_gauge = m.child(m.near_entries, namespace)
        self._flush_metric = m.near_flushes
        self._metrics = m

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    @property
    def serving(self) -> bool:
        """Whether the feed vouches for every slot (standalone: the link is up)."""
        return not self._down_all and not self._down

    # -- reads -------------------------------------------------------------------

    def lookup(self, key: bytes, now_ms: int) -> Entry | None:
        """The entry held for ``key``, or None (counted as a near hit or miss)."""
        item = self._protected.get(key)
        if item is not None:
            self._protected.move_to_end(key)
        else:
            item = self._probation.pop(key, None)
            if item is None:
                self._misses.inc()
                return None
            self._promote(key, item)
        if item.expires_ms <= now_ms:
            self._drop(key)
            self._misses.inc()
            return None
        self._hits.inc()
        return item.entry

    def begin(self, key: bytes) -> Ticket:
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = _Reading()
        reading.readers += 1
        return Ticket(key, reading, reading.generation, self._epoch)

    def finish(self, ticket: Ticket, entry: Entry | None, grace_ms: int, now_ms: int) -> None:
        """End a read begun with :meth:`begin`; keep ``entry`` if nothing raced it."""
        key, reading = ticket.key, ticket.reading
        reading.readers -= 1
        if reading.readers == 0 and self._reading.get(key) is reading:
            del self._reading[key]
        if entry is None:
            return
        if reading.generation != ticket.generation or self._epoch != ticket.epoch:
            self._raced.inc()  # an invalidation or flush landed while it was read
            return
        slot = 0 if self._slot is None else self._slot(key)
        if self._down_all or (self._down and slot in self._down):
            return
        expires = entry.stale_at_ms + grace_ms
        if self._max_staleness_ms is not None:
            expires = min(expires, now_ms + self._max_staleness_ms)
        if expires <= now_ms:
            return
        self._store(key, _Item(entry, expires, len(key) + len(entry.value) + ENTRY_OVERHEAD, slot))

    # -- local writes ------------------------------------------------------------

    def discard(self, keys: Sequence[bytes]) -> None:
        """This sidecar wrote ``keys``: forget them, and fence reads in flight."""
        for key in keys:
            self._drop(key)
            reading = self._reading.get(key)
            if reading is not None:
                reading.generation += 1

    # -- InvalidationSink ----------------------------------------------------------

    def invalidate(self, keys: Sequence[bytes]) -> None:
        self._invalidations.inc(len(keys))
        self.discard(keys)

    def flush(self, slots: Collection[int] | None, cause: str) -> None:
        self._epoch += 1
        self._metrics.child(self._flush_metric, self.namespace, cause).inc()
        if slots is None:
            self._down_all = self._slot is not None
            self._probation.clear()
            self._protected.clear()
            self.bytes = self._protected_bytes = 0
            self._gauges()
            return
        self._down.update(slots)
        wanted = slots if isinstance(slots, set | frozenset) else set(slots)
        for segment in (self._probation, self._protected):
            for key in [k for k, item in segment.items() if item.slot in wanted]:
                self._drop(key)

    def resume(self, slots: Collection[int] | None) -> None:
        # A read that began while the feed was down may have read a value whose
        # invalidation nobody heard: only reads from now on may fill.
        self._epoch += 1
        if slots is None:
            self._down_all = False
            self._down.clear()
        else:
            self._down.difference_update(slots)
            if self._slot is not None and self._down_all:
                # A cluster feed resumes slot by slot: the start state (all down)
                # becomes "every slot down but these".
                self._down_all = False
                self._down = set(range(16384)) - set(slots)

    # -- the store ---------------------------------------------------------------------

    def _promote(self, key: bytes, item: _Item) -> None:
        # Second hit: from probation to protected, demoting protected's LRU back.
        self._protected[key] = item
        self._protected_bytes += item.size
        while self._protected_bytes > self._protected_max and len(self._protected) > 1:
            old_key, old = self._protected.popitem(last=False)
            self._protected_bytes -= old.size
            self._probation[old_key] = old

    def _store(self, key: bytes, item: _Item) -> None:
        if item.size > self.max_bytes // 4:
            return  # one value would evict a quarter of the cache: not worth it
        self._drop(key)
        self._probation[key] = item
        self.bytes += item.size
        evicted = 0
        while self.bytes > self.max_bytes:
            segment = self._probation or self._protected
            _, old = segment.popitem(last=False)
            self.bytes -= old.size
            if segment is self._protected:
                self._protected_bytes -= old.size
            evicted += 1
        if evicted:
            self._evictions.inc(evicted)
        self._gauges()

    def _drop(self, key: bytes) -> None:
        item = self._probation.pop(key, None)
        if item is None:
            item = self._protected.pop(key, None)
            if item is None:
                return
            self._protected_bytes -= item.size
        self.bytes -= item.size
        self._gauges()

    def _gauges(self) -> None:
        self._bytes_gauge.set(self.bytes)
        self._entries_gauge.set(len(self))
