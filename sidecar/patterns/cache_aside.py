"""Cache-aside (read-through): GetOrLoad, GetOrLoadMany, Get, Set, Invalidate.

Backend-agnostic: the namespace supplies the backend and key layout, the
callbacks supply the app's loader. A miss is loaded once per key per sidecar
at a time (single-flight); the result is stored with the namespace TTL minus
jitter, or the shorter negative TTL when the loader says found=false.

Grace (stale-while-revalidate): an entry lives in the backend for its TTL plus
the namespace's grace. Read past its TTL, it is served at once as STALE while
one background refresh runs; if that refresh fails the stale value keeps being
served until the grace runs out, so a loader outage inside the grace is
invisible to callers.

When the backend fails, reads fall back to the loader and stores are skipped:
the app sees its data, not the cache's outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sidecar.backends.base import MISSING, Fence, Missing
from sidecar.callbacks import CallbackClients, Loaded
from sidecar.errors import (
    BackendUnavailable,
    CacheCarError,
    FailedPrecondition,
    ResourceExhausted,
)
from sidecar.patterns.entry import Entry, decode, encode
from sidecar.patterns.lease import acquire_or_wait
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.singleflight import SingleFlight
from sidecar.telemetry import Telemetry
from sidecar.telemetry.logs import RateLimit
from sidecar.telemetry.tracing import current_span

__all__ = ["CacheAside", "Lookup", "Source"]

log = logging.getLogger("cachecar.cache_aside")


class Source(enum.Enum):
    """Where a returned value came from (mirrors the API's Source enum)."""

    CACHE = 1
    LOADER = 2
    STALE = 3


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of reading one key."""

    found: bool
    value: bytes
    source: Source


@dataclass(frozen=True, slots=True)
class _Counters:
    """One namespace's metric children, resolved once."""

    hits: Any
    misses: Any
    stale: Any
    joined: Any
    by_lease: Any
    lease_waits: Any
    early: Any
    found: Any
    not_found: Any
    failed: Any
    fenced: Any
    duration: Any


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class CacheAside:
    """The cache-aside pattern over any backend."""

    def __init__(
        self,
        callbacks: CallbackClients,
        telemetry: Telemetry | None = None,
        *,
        max_loads: int = 10_000,
    ) -> None:
        self._callbacks = callbacks
        self._telemetry = telemetry or Telemetry()
        self._tracing = self._telemetry.tracing.tracer is not None
        self._flights: SingleFlight[tuple[str, str], Lookup | None] = SingleFlight()
        self._refreshes: set[asyncio.Task[Any]] = set()
        self._counters: dict[str, _Counters] = {}
        self._too_large = RateLimit(interval=60.0)
        #: limits.max_inflight_loads: distinct keys loading at once. A miss past
        #: it fails fast instead of piling loads (and memory) onto a slow loader.
        self.max_loads = max_loads

    @property
    def loads_in_flight(self) -> int:
        return self._flights.running

    def _count(self, ns: Namespace) -> _Counters:
        found = self._counters.get(ns.name)
        if found is None:
            m = self._telemetry.metrics
            found = self._counters[ns.name] = _Counters(
                hits=m.hits.labels(ns.name),
                misses=m.misses.labels(ns.name),
                stale=m.stale_served.labels(ns.name),
                joined=m.loads_suppressed.labels(ns.name, "singleflight"),
                by_lease=m.loads_suppressed.labels(ns.name, "lease"),
                lease_waits=m.lease_waits.labels(ns.name),
                early=m.early_refreshes.labels(ns.name),
                found=m.loads.labels(ns.name, "found"),
                not_found=m.loads.labels(ns.name, "not_found"),
                failed=m.loads.labels(ns.name, "error"),
                fenced=m.fills_fenced.labels(ns.name),
                duration=m.load_duration.labels(ns.name),
            )
        return found

    def _event(self, name: str, **attributes: Any) -> None:
        if self._tracing:
            current_span().add_event(name, attributes)

    async def _read(self, ns: Namespace, key: str) -> Entry | None:
        try:
            raw = await ns.backend.get(ns.keys.value(key))
        except BackendUnavailable as exc:
            self._event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
            # Debug only: during an outage this happens on every call; the
            # breaker's transitions and the error metrics tell the story.
            log.debug(
                "backend read failed, treating as a miss",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return None
        return None if isinstance(raw, Missing) else decode(raw)

    async def _read_parked(self, ns: Namespace, key: str) -> Entry | None:
        """A lease waiter's second look: the value another sidecar's fill parked
        in the lease key (a Redis Cluster slot held mid-migration)."""
        try:
            raw = await ns.backend.parked(ns.keys.value(key), ns.keys.lease(key))
        except BackendUnavailable:
            return None
        return None if isinstance(raw, Missing) else decode(raw)

    async def get_or_load(self, ns: Namespace, key: str, time_left: float | None) -> Lookup:
        """The cached value, or one load of it shared by every concurrent caller."""
        entry = await self._read(ns, key)
        return await self._resolve(ns, key, entry, _now_ms(), time_left)

    def _served(self, ns: Namespace, key: str, entry: Entry | None, now_ms: int) -> Lookup | None:
        """The answer straight from the cache (fresh, or stale within grace), or None
        when the key must be loaded. Synchronous, so batches of hits pay no task each."""
        if entry is None:
            return None
        counters = self._count(ns)
        if entry.fresh(now_ms):
            counters.hits.inc()
            if self._refresh_early(ns, entry, now_ms):
                counters.early.inc()
                self._refresh_in_background(ns, key, entry)
            return Lookup(entry.found, entry.value, Source.CACHE)
        if ns.grace_ms > 0:
            counters.stale.inc()
            self._event(
                "cachecar.stale_served", **{"cachecar.stale_ms": now_ms - entry.stale_at_ms}
            )
            self._refresh_in_background(ns, key, entry)
            return Lookup(entry.found, entry.value, Source.STALE)
        return None

    async def _resolve(
        self, ns: Namespace, key: str, entry: Entry | None, now_ms: int, time_left: float | None
    ) -> Lookup:
        served = self._served(ns, key, entry, now_ms)
        if served is not None:
            return served
        self._count(ns).misses.inc()
        return await self._load_once(ns, key, time_left)

    async def get_or_load_many(
        self, ns: Namespace, keys: list[str], time_left: float | None
    ) -> list[Lookup | CacheCarError]:
        """One outcome per key, in order; a failed key does not fail the batch."""
        unique = list(dict.fromkeys(keys))
        raws: list[bytes | Missing]
        try:
            raws = await ns.backend.get_many([ns.keys.value(k) for k in unique])
        except BackendUnavailable:
            self._event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
            raws = [MISSING] * len(unique)
        now = _now_ms()
        found: dict[str, Lookup | CacheCarError] = {}
        misses = []
        for key, raw in zip(unique, raws, strict=True):
            served = self._served(ns, key, None if isinstance(raw, Missing) else decode(raw), now)
            if served is None:
                misses.append(key)
            else:
                found[key] = served
        if misses:
            self._count(ns).misses.inc(len(misses))
            loaded = await asyncio.gather(
                *(self._load_once(ns, k, time_left) for k in misses), return_exceptions=True
            )
            for key, outcome in zip(misses, loaded, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, CacheCarError):
                    raise outcome
                found[key] = outcome
        return [found[k] for k in keys]

    @staticmethod
    def _refresh_early(ns: Namespace, entry: Entry, now_ms: int) -> bool:
        """XFetch: refresh before expiry with a probability that rises as expiry
        nears, scaled by how long the last load took (delta) and beta."""
        beta = ns.settings.early_refresh_beta
        if beta <= 0 or entry.load_ms <= 0:
            return False
        # -ln(U) for U in (0, 1] is an exponential sample with mean 1.
        return now_ms - entry.load_ms * beta * math.log(1.0 - random.random()) >= entry.stale_at_ms  # noqa: S311

    def _flight(
        self,
        ns: Namespace,
        key: str,
        time_left: float | None,
        *,
        wait: bool,
        seen_stale_at: int = 0,
    ) -> Any:
        """The body of one single-flight: lease (or wait for another sidecar), load, fill.

        ``seen_stale_at`` (background refreshes): the expiry of the entry whose
        read asked for the refresh; a newer entry means someone already did it."""
        if ns.settings.loader is None:
            raise FailedPrecondition(
                f"namespace {ns.name!r} has no loader, so GetOrLoad cannot fill a miss; set "
                f"namespaces.{ns.name}.loader to the app's LoaderService address, or use Get",
                reason="LOADER_NOT_CONFIGURED",
                metadata={"namespace": ns.name},
            )
        loader = self._callbacks.loader(ns.settings.loader)
        cap = ns.settings.loader_timeout.total_seconds()
        counters = self._count(ns)

        async def read_fresh() -> Entry | None:
            entry = await self._read(ns, key) or await self._read_parked(ns, key)
            return entry if entry is not None and entry.fresh(_now_ms()) else None

        async def flight() -> Lookup | None:
            # Without a caller deadline, a waiter waits out at most a crashed
            # holder's lease plus one load of its own. With one, give up a little
            # before it (a tenth, at most 200 ms), so the caller gets our
            # LEASE_WAIT_TIMEOUT / LOADER_TIMEOUT (with its ErrorInfo) instead of
            # a bare DEADLINE_EXCEEDED of its own racing ours.
            if time_left is None:
                patience = ns.lease_ttl_ms / 1000 + cap
            else:
                patience = max(0.0, time_left - min(0.2, time_left / 10))
            deadline = time.monotonic() + patience
            outcome = await acquire_or_wait(
                ns, key, deadline=deadline, read_fresh=read_fresh, wait=wait
            )
            if isinstance(outcome.filled, Entry):
                counters.by_lease.inc()
                counters.lease_waits.inc()
                self._event(
                    "cachecar.lease.waited", **{"cachecar.wait_ms": outcome.waited_s * 1000}
                )
                return Lookup(outcome.filled.found, outcome.filled.value, Source.LOADER)
            if outcome.fence is None and not wait:
                return None  # someone else is refreshing this key
            if outcome.fence is not None:
                # Re-read under the lease: a load that filled the key (and released
                # its lease) between our miss and our lease must not be repeated.
                current = await self._read(ns, key)
                if current is not None and (
                    current.stale_at_ms > seen_stale_at
                    if seen_stale_at
                    else current.fresh(_now_ms())
                ):
                    await self._release(ns, key, outcome.fence)
                    counters.by_lease.inc()
                    if not wait:
                        return None
                    return Lookup(current.found, current.value, Source.LOADER)
            budget = min(cap, max(0.0, deadline - time.monotonic()))
            started = time.monotonic()
            try:
                loaded = await loader.load(ns.name, key, budget)
            except CacheCarError:
                counters.failed.inc()
                if outcome.fence is not None:
                    await self._release(ns, key, outcome.fence)
                raise
            except asyncio.CancelledError:
                # Nobody wants this load any more: free its lease now, so another
                # sidecar does not wait out its TTL.
                if outcome.fence is not None:
                    await self._release(ns, key, outcome.fence)
                raise
            elapsed = time.monotonic() - started
            counters.duration.observe(elapsed)
            (counters.found if loaded.found else counters.not_found).inc()
            if outcome.fence is not None:
                await self._fill(ns, key, outcome.fence, loaded, int(elapsed * 1000))
            return Lookup(loaded.found, loaded.value if loaded.found else b"", Source.LOADER)

        return flight

    async def _load_once(self, ns: Namespace, key: str, time_left: float | None) -> Lookup:
        running = self._flights.running
        if running >= self.max_loads and (ns.name, key) not in self._flights:
            raise ResourceExhausted(
                f"{running} loads are already running on this sidecar "
                "(limits.max_inflight_loads); your loader is slower than the miss rate: "
                "retry with backoff, or raise the limit if the loader can take more",
                reason="LOADS_EXHAUSTED",
                metadata={"namespace": ns.name},
            )
        lookup, shared = await self._flights.do(
            (ns.name, key), self._flight(ns, key, time_left, wait=True)
        )
        if shared:
            self._count(ns).joined.inc()
            self._event("cachecar.singleflight.joined")
        if lookup is None:  # joined a background refresh that found another sidecar refreshing
            return await self._load_once(ns, key, time_left)
        return lookup

    def _refresh_in_background(self, ns: Namespace, key: str, seen: Entry) -> None:
        if (ns.name, key) in self._flights or ns.settings.loader is None:
            return  # a refresh (or load) is already running, or nothing can refresh
        if self._flights.running >= self.max_loads:
            return  # at the load limit: the entry is still fresh, a later hit retries
        flight = self._flight(ns, key, None, wait=False, seen_stale_at=seen.stale_at_ms)
        task = asyncio.ensure_future(self._flights.do((ns.name, key), flight))
        self._refreshes.add(task)
        task.add_done_callback(self._refresh_done)

    def _refresh_done(self, task: asyncio.Task[Any]) -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Inside the grace a failed refresh is not the caller's problem: the
            # stale value keeps being served and the next read tries again.
            log.warning(
                "background refresh failed; serving stale within grace", extra={"error": str(error)}
            )

    async def _fill(
        self, ns: Namespace, key: str, fence: Fence, loaded: Loaded, load_ms: int
    ) -> None:
        if loaded.found and len(loaded.value) > ns.settings.max_value_size:
            # Returned to every caller waiting on this load, never cached: each
            # later read loads again. Counted, and logged once a minute at most.
            self._telemetry.metrics.values_too_large.labels(ns.name).inc()
            if (suppressed := self._too_large.allow(ns.name)) is not None:
                log.warning(
                    "loaded value over max_value_size is returned but not cached; every "
                    "read of such a key reaches the loader: raise the namespace's "
                    "max_value_size or store less under one key",
                    extra={
                        "namespace": ns.name,
                        "size": len(loaded.value),
                        "max_value_size": ns.settings.max_value_size,
                        "suppressed": suppressed,
                    },
                )
            await self._release(ns, key, fence)
            return
        ttl_ms = ns.ttl_ms(loaded.ttl, negative=not loaded.found)
        entry = Entry(
            loaded.found, loaded.value if loaded.found else b"", _now_ms() + ttl_ms, load_ms
        )
        try:
            stored = await ns.backend.fill(
                fence, ns.keys.value(key), ns.keys.lease(key), encode(entry), ttl_ms + ns.grace_ms
            )
        except BackendUnavailable as exc:
            log.debug(
                "backend write failed, value served uncached",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return
        if not stored:
            # An Invalidate or Set landed during the load: it wins.
            self._count(ns).fenced.inc()
            self._event("cachecar.fill.fenced")

    async def _release(self, ns: Namespace, key: str, fence: Fence) -> None:
        with contextlib.suppress(BackendUnavailable):
            await ns.backend.release(fence, ns.keys.value(key), ns.keys.lease(key))

    async def get(self, ns: Namespace, key: str) -> Lookup:
        """The fresh cached value, never calling the loader."""
        raw = await ns.backend.get(ns.keys.value(key))
        entry = None if isinstance(raw, Missing) else decode(raw)
        if entry is None or not entry.fresh(_now_ms()) or not entry.found:
            return Lookup(False, b"", Source.CACHE)
        return Lookup(True, entry.value, Source.CACHE)

    async def set(self, ns: Namespace, key: str, value: bytes, ttl: timedelta | None) -> None:
        """Store ``value`` (the cache only); it wins over any load in flight."""
        ttl_ms = ns.ttl_ms(ttl)
        entry = Entry(True, value, _now_ms() + ttl_ms)
        await ns.backend.overwrite(
            ns.keys.value(key), ns.keys.lease(key), encode(entry), ttl_ms + ns.grace_ms
        )
        # Readers from now on must not join a load that started before the Set.
        self._flights.forget((ns.name, key))

    async def invalidate(self, ns: Namespace, keys: list[str]) -> int:
        """Remove keys; how many had an entry. Wins over any load in flight."""
        unique = list(dict.fromkeys(keys))
        removed = await ns.backend.clear(
            [ns.keys.value(k) for k in unique], [ns.keys.lease(k) for k in unique]
        )
        for key in unique:
            self._flights.forget((ns.name, key))
        return removed

    async def aclose(self) -> None:
        """Cancel background refreshes and loads whose callers gave up (shutdown)."""
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        await self._flights.cancel_all()
