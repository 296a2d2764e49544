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
import logging
import math
import random
from datetime import timedelta

from opentelemetry.util.types import AttributeValue

from sidecar.backends.base import Fence, Missing
from sidecar.backends.replicas import ReplicaReads
from sidecar.backends.versions import PutStatus
from sidecar.callbacks import CallbackClients, Loaded
from sidecar.errors import (
    BackendUnavailable,
    CacheCarError,
    FailedPrecondition,
    ResourceExhausted,
)
from sidecar.patterns import tags as tagging
from sidecar.patterns import versions
from sidecar.patterns.entry import Entry, decode
from sidecar.patterns.flight import Flight, LoadCounters, Lookup, Source, now_ms
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.singleflight import SingleFlight
from sidecar.telemetry import Telemetry
from sidecar.telemetry.logs import RateLimit
from sidecar.telemetry.tracing import current_span

__all__ = ["CacheAside", "Lookup", "Source"]

log = logging.getLogger("cachecar.cache_aside")


_now_ms = now_ms


def _nearable(entry: Entry | None) -> Entry | None:
    """What the near cache may keep of an entry read from the backend. Tagged
    values never: InvalidateTags bumps a tag counter, a key the invalidation
    feed does not watch, so a near copy could outlive the invalidation."""
    return None if entry is None or entry.tags else entry


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
        self._refreshes: set[asyncio.Task[tuple[Lookup | None, bool]]] = set()
        self._counters: dict[str, LoadCounters] = {}
        self._too_large = RateLimit(interval=60.0)
        #: limits.max_inflight_loads: distinct keys loading at once. A miss past
        #: it fails fast instead of piling loads (and memory) onto a slow loader.
        self.max_loads = max_loads

    @property
    def loads_in_flight(self) -> int:
        return self._flights.running

    def _count(self, ns: Namespace) -> LoadCounters:
        found = self._counters.get(ns.name)
        if found is None:
            m = self._telemetry.metrics
            found = self._counters[ns.name] = LoadCounters(
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

    def event(self, name: str, **attributes: AttributeValue) -> None:
        """A span event on the current call (only when tracing is on)."""
        if self._tracing:
            current_span().add_event(name, attributes)

    async def _fetch(self, ns: Namespace, key: str) -> Entry | None:
        """The backend's entry (None if its tags moved); kept in the near cache
        unless a write raced it."""
        stored = ns.keys.value(key)
        if ns.near is None:
            raw = await ns.backend.get(stored)
            entry = None if isinstance(raw, Missing) else decode(raw)
            if entry is not None and entry.tags:
                (entry,) = await tagging.valid(ns, [entry])
            return entry
        ticket, entry = ns.near.begin(stored), None
        try:
            raw = await ns.backend.get(stored)
            entry = None if isinstance(raw, Missing) else decode(raw)
            if entry is not None and entry.tags:
                (entry,) = await tagging.valid(ns, [entry])
        finally:
            ns.near.finish(ticket, _nearable(entry), ns.grace_ms, _now_ms())
        return entry

    async def _fetch_many(self, ns: Namespace, keys: list[str]) -> list[Entry | None]:
        """The backend's entries (None: a miss, or the backend failed: read as misses)."""
        if not keys:
            return []
        stored = [ns.keys.value(k) for k in keys]
        tickets = [ns.near.begin(k) for k in stored] if ns.near is not None else []
        entries: list[Entry | None] = [None] * len(keys)
        try:
            raws = await ns.backend.get_many(stored)
            entries = await tagging.valid(
                ns, [None if isinstance(raw, Missing) else decode(raw) for raw in raws]
            )
        except BackendUnavailable:
            self.event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
        finally:
            if ns.near is not None:
                now = _now_ms()
                for ticket, entry in zip(tickets, entries, strict=True):
                    ns.near.finish(ticket, _nearable(entry), ns.grace_ms, now)
        return entries

    def _near(self, ns: Namespace, key: str, now_ms: int) -> Lookup | None:
        """The answer from this sidecar's near cache, or None."""
        if ns.near is None:
            return None
        entry = ns.near.lookup(ns.keys.value(key), now_ms)
        return None if entry is None else self._served(ns, key, entry, now_ms, Source.NEAR)

    async def read(self, ns: Namespace, key: str) -> Entry | None:
        try:
            return await self._fetch(ns, key)
        except BackendUnavailable as exc:
            self.event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
            # Debug only: during an outage this happens on every call; the
            # breaker's transitions and the error metrics tell the story.
            log.debug(
                "backend read failed, treating as a miss",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return None

    async def read_parked(self, ns: Namespace, key: str) -> Entry | None:
        """A lease waiter's second look: the value another sidecar's fill parked
        in the lease key (a Redis Cluster slot held mid-migration)."""
        try:
            raw = await ns.backend.parked(ns.keys.value(key), ns.keys.lease(key))
        except BackendUnavailable:
            return None
        return None if isinstance(raw, Missing) else decode(raw)

    async def get_or_load(self, ns: Namespace, key: str, time_left: float | None) -> Lookup:
        """The cached value, or one load of it shared by every concurrent caller."""
        if (near := self._near(ns, key, _now_ms())) is not None:
            return near
        entry = await self.read(ns, key)
        return await self._resolve(ns, key, entry, _now_ms(), time_left)

    def _served(
        self,
        ns: Namespace,
        key: str,
        entry: Entry | None,
        now_ms: int,
        source: Source = Source.CACHE,
    ) -> Lookup | None:
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
            return Lookup(entry.found, entry.value, source, entry.version)
        if ns.grace_ms > 0:
            counters.stale.inc()
            self.event("cachecar.stale_served", **{"cachecar.stale_ms": now_ms - entry.stale_at_ms})
            self._refresh_in_background(ns, key, entry)
            return Lookup(entry.found, entry.value, Source.STALE, entry.version)
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
        now = _now_ms()
        found: dict[str, Lookup | CacheCarError] = {}
        unique = []
        for key in dict.fromkeys(keys):
            if (near := self._near(ns, key, now)) is not None:
                found[key] = near
            else:
                unique.append(key)
        entries = await self._fetch_many(ns, unique)
        misses = []
        for key, entry in zip(unique, entries, strict=True):
            served = self._served(ns, key, entry, now)
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
    ) -> Flight:
        if ns.settings.loader is None:
            raise FailedPrecondition(
                f"namespace {ns.name!r} has no loader, so GetOrLoad cannot fill a miss; set "
                f"namespaces.{ns.name}.loader to the app's LoaderService address, or use Get",
                reason="LOADER_NOT_CONFIGURED",
                metadata={"namespace": ns.name},
            )
        return Flight(
            self,
            ns,
            key,
            self._callbacks.loader(ns.settings.loader),
            self._count(ns),
            time_left=time_left,
            wait=wait,
            seen_stale_at=seen_stale_at,
        )

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
            self.event("cachecar.singleflight.joined")
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

    def _refresh_done(self, task: asyncio.Task[tuple[Lookup | None, bool]]) -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Inside the grace a failed refresh is not the caller's problem: the
            # stale value keeps being served and the next read tries again.
            log.warning(
                "background refresh failed; serving stale within grace", extra={"error": str(error)}
            )

    async def fill(
        self, ns: Namespace, key: str, fence: Fence, loaded: Loaded, load_ms: int
    ) -> int:
        """Store a load's result (fenced, versioned); the version it was stored
        with, or the loader's own when it was not stored."""
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
            await self.release(ns, key, fence)
            return loaded.version
        ttl_ms = ns.ttl_ms(loaded.ttl, negative=not loaded.found)
        value = loaded.value if loaded.found else b""
        entry = Entry(loaded.found, value, _now_ms() + ttl_ms, load_ms, loaded.version)
        try:
            outcome = await versions.fill(
                ns, fence, key, entry, tags=loaded.tags, ttl_ms=ttl_ms + ns.grace_ms
            )
        except BackendUnavailable as exc:
            self.written(ns, [key])
            log.debug(
                "backend write failed, value served uncached",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return loaded.version
        self.written(ns, [key])
        if outcome.status is PutStatus.STORED:
            return outcome.version
        # An Invalidate or Set landed during the load, or a newer version (or
        # a tombstone of one) is stored: it wins.
        self._count(ns).fenced.inc()
        self.event("cachecar.fill.fenced", **{"cachecar.fill.outcome": outcome.status.name})
        return loaded.version

    async def release(self, ns: Namespace, key: str, fence: Fence) -> None:
        with contextlib.suppress(BackendUnavailable):
            await ns.backend.release(fence, ns.keys.value(key), ns.keys.lease(key))

    async def get(self, ns: Namespace, key: str) -> Lookup:
        """The fresh cached value, never calling the loader."""
        replica = ns.backend.capabilities.get(ReplicaReads)
        if replica is None:
            return (await self.get_many(ns, [key]))[0]
        # The one read a replica may answer (read_from; backends/replicas.py):
        # never kept in the near cache, which must only hold what the primary
        # (and so the invalidation feed) has seen.
        now = _now_ms()
        if ns.near is not None and (near := ns.near.lookup(ns.keys.value(key), now)) is not None:
            if near.fresh(now) and near.found:
                return Lookup(True, near.value, Source.NEAR, near.version)
            return Lookup(False, b"", Source.CACHE)
        raw = await replica.get_from_replica(ns.keys.value(key))
        entry = None if isinstance(raw, Missing) else decode(raw)
        if entry is not None and entry.tags:
            (entry,) = await tagging.valid(ns, [entry])
        if entry is None or not entry.fresh(now) or not entry.found:
            return Lookup(False, b"", Source.CACHE)
        return Lookup(True, entry.value, Source.CACHE, entry.version)

    async def get_many(self, ns: Namespace, keys: list[str]) -> list[Lookup]:
        """The fresh cached values, never calling the loader (from the near cache,
        else one round trip, plus one for tag counters if any value is tagged)."""
        now = _now_ms()
        found: dict[str, Lookup] = {}
        fetch = []
        for key in dict.fromkeys(keys):
            entry = None if ns.near is None else ns.near.lookup(ns.keys.value(key), now)
            if entry is None:
                fetch.append(key)
            elif entry.fresh(now) and entry.found:
                found[key] = Lookup(True, entry.value, Source.NEAR, entry.version)
        if fetch:
            stored = [ns.keys.value(k) for k in fetch]
            tickets = [ns.near.begin(k) for k in stored] if ns.near is not None else []
            entries: list[Entry | None] = [None] * len(fetch)
            try:
                raws = await ns.backend.get_many(stored)
                entries = await tagging.valid(
                    ns, [None if isinstance(raw, Missing) else decode(raw) for raw in raws]
                )
            finally:
                if ns.near is not None:
                    for ticket, e in zip(tickets, entries, strict=True):
                        ns.near.finish(ticket, _nearable(e), ns.grace_ms, _now_ms())
            for key, e in zip(fetch, entries, strict=True):
                if e is not None and e.fresh(now) and e.found:
                    found[key] = Lookup(True, e.value, Source.CACHE, e.version)
        missing = Lookup(False, b"", Source.CACHE)
        return [found.get(k, missing) for k in keys]

    async def set(
        self,
        ns: Namespace,
        key: str,
        value: bytes,
        ttl: timedelta | None,
        options: versions.WriteOptions = versions.WriteOptions(),  # noqa: B008 (frozen)
    ) -> int:
        """Store ``value`` (the cache only); it wins over any load in flight.
        The stored version; raises when the version or condition refuses it."""
        (outcome,) = await self.set_many(ns, [versions.SetItem(key, value, ttl, options)])
        if isinstance(outcome, CacheCarError):
            raise outcome
        return outcome

    async def set_many(
        self, ns: Namespace, items: list[versions.SetItem]
    ) -> list[int | CacheCarError]:
        """Store many values, by version and condition; per item, its outcome."""
        try:
            outcomes = await versions.set_many(ns, items)
        finally:
            self.written(ns, [item.key for item in items])
        for item in items:
            # Readers from now on must not join a load that started before the Set.
            self._flights.forget((ns.name, item.key))
        return outcomes

    async def invalidate(self, ns: Namespace, keys: list[str], version: int = 0) -> int:
        """Remove keys; how many had an entry. Wins over any load in flight.
        With a version, each key keeps a tombstone of it (``versions.delete``)."""
        unique = list(dict.fromkeys(keys))
        try:
            if version:
                removed = await versions.delete(ns, unique, version)
            else:
                removed = await ns.backend.clear(
                    [ns.keys.value(k) for k in unique], [ns.keys.lease(k) for k in unique]
                )
        finally:
            self.written(ns, unique)
        for key in unique:
            self._flights.forget((ns.name, key))
        return removed

    @staticmethod
    def written(ns: Namespace, keys: list[str]) -> None:
        """A write through this sidecar returned (or failed: its outcome is
        unknown): drop the keys from the near cache, so the next read here sees
        it (read-your-writes) and a read that raced it cannot put the old back."""
        if ns.near is not None:
            ns.near.discard([ns.keys.value(k) for k in keys])

    async def aclose(self) -> None:
        """Cancel background refreshes and loads whose callers gave up (shutdown)."""
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        await self._flights.cancel_all()
