"""One load of one key: lease (or wait for the sidecar holding it), load, fill.

A :class:`Flight` is what the single-flight map runs once per key per sidecar
(``CacheAside._load_once``) and what a background refresh runs
(``CacheAside._refresh_in_background``). It is a small class rather than a
closure so its state (the key, the caller's time left, whether it may wait)
is named and typed, and the steps read in order in ``__call__``.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass
from typing import Protocol

from opentelemetry.util.types import AttributeValue
from prometheus_client import Counter, Histogram

from sidecar.backends.base import Fence
from sidecar.callbacks import Loaded, LoaderClient
from sidecar.errors import CacheCarError
from sidecar.patterns.entry import Entry
from sidecar.patterns.lease import acquire_or_wait
from sidecar.patterns.namespace import Namespace

__all__ = ["Flight", "FlightCache", "LoadCounters", "Lookup", "Source", "now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Source(enum.Enum):
    """Where a returned value came from (mirrors the API's Source enum)."""

    CACHE = 1
    LOADER = 2
    STALE = 3
    #: From this sidecar's near cache (patterns/near_cache.py).
    NEAR = 4


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of reading one key."""

    found: bool
    value: bytes
    source: Source
    #: The value's version (0: unknown, e.g. a load whose fill was not stored).
    version: int = 0


@dataclass(frozen=True, slots=True)
class LoadCounters:
    """One namespace's metric children, resolved once."""

    hits: Counter
    misses: Counter
    stale: Counter
    joined: Counter
    by_lease: Counter
    lease_waits: Counter
    early: Counter
    found: Counter
    not_found: Counter
    failed: Counter
    fenced: Counter
    duration: Histogram


class FlightCache(Protocol):
    """What a flight uses of the cache-aside pattern."""

    async def read(self, ns: Namespace, key: str) -> Entry | None: ...

    async def read_parked(self, ns: Namespace, key: str) -> Entry | None: ...

    async def release(self, ns: Namespace, key: str, fence: Fence) -> None: ...

    async def fill(
        self, ns: Namespace, key: str, fence: Fence, loaded: Loaded, load_ms: int
    ) -> int: ...

    def event(self, name: str, **attributes: AttributeValue) -> None: ...


class Flight:
    """The body of one single-flight.

    ``wait``: False for a background refresh, which gives up (None) when
    another sidecar holds the lease. ``seen_stale_at``: the expiry of the
    entry whose read asked for the refresh; a newer entry means someone
    already did it.
    """

    def __init__(
        self,
        cache: FlightCache,
        ns: Namespace,
        key: str,
        loader: LoaderClient,
        counters: LoadCounters,
        *,
        time_left: float | None,
        wait: bool,
        seen_stale_at: int = 0,
    ) -> None:
        self._cache = cache
        self._ns = ns
        self._key = key
        self._loader = loader
        self._counters = counters
        self._time_left = time_left
        self._wait = wait
        self._seen_stale_at = seen_stale_at
        self._cap = ns.settings.loader_timeout.total_seconds()

    async def _read_fresh(self) -> Entry | None:
        cache, ns, key = self._cache, self._ns, self._key
        entry = await cache.read(ns, key) or await cache.read_parked(ns, key)
        return entry if entry is not None and entry.fresh(now_ms()) else None

    def _patience(self) -> float:
        # Without a caller deadline, a waiter waits out at most a crashed
        # holder's lease plus one load of its own. With one, give up a little
        # before it (a tenth, at most 200 ms), so the caller gets our
        # LEASE_WAIT_TIMEOUT / LOADER_TIMEOUT (with its ErrorInfo) instead of
        # a bare DEADLINE_EXCEEDED of its own racing ours.
        if self._time_left is None:
            return self._ns.lease_ttl_ms / 1000 + self._cap
        return max(0.0, self._time_left - min(0.2, self._time_left / 10))

    async def __call__(self) -> Lookup | None:
        cache, ns, key, counters = self._cache, self._ns, self._key, self._counters
        deadline = time.monotonic() + self._patience()
        outcome = await acquire_or_wait(
            ns, key, deadline=deadline, read_fresh=self._read_fresh, wait=self._wait
        )
        if isinstance(outcome.filled, Entry):
            counters.by_lease.inc()
            counters.lease_waits.inc()
            cache.event("cachecar.lease.waited", **{"cachecar.wait_ms": outcome.waited_s * 1000})
            filled = outcome.filled
            return Lookup(filled.found, filled.value, Source.LOADER, filled.version)
        if outcome.fence is None and not self._wait:
            return None  # someone else is refreshing this key
        if outcome.fence is not None:
            # Re-read under the lease: a load that filled the key (and released
            # its lease) between our miss and our lease must not be repeated.
            current = await cache.read(ns, key)
            if current is not None and (
                current.stale_at_ms > self._seen_stale_at
                if self._seen_stale_at
                else current.fresh(now_ms())
            ):
                await cache.release(ns, key, outcome.fence)
                counters.by_lease.inc()
                if not self._wait:
                    return None
                return Lookup(current.found, current.value, Source.LOADER, current.version)
        return await self._load(outcome.fence, deadline)

    async def _load(self, fence: Fence | None, deadline: float) -> Lookup:
        cache, ns, key, counters = self._cache, self._ns, self._key, self._counters
        budget = min(self._cap, max(0.0, deadline - time.monotonic()))
        started = time.monotonic()
        try:
            loaded = await self._loader.load(ns.name, key, budget)
        except CacheCarError:
            counters.failed.inc()
            if fence is not None:
                await cache.release(ns, key, fence)
            raise
        except asyncio.CancelledError:
            # Nobody wants this load any more: free its lease now, so another
            # sidecar does not wait out its TTL.
            if fence is not None:
                await cache.release(ns, key, fence)
            raise
        elapsed = time.monotonic() - started
        counters.duration.observe(elapsed)
        (counters.found if loaded.found else counters.not_found).inc()
        version = loaded.version
        if fence is not None:
            version = await cache.fill(ns, key, fence, loaded, int(elapsed * 1000))
        value = loaded.value if loaded.found else b""
        return Lookup(loaded.found, value, Source.LOADER, version)
