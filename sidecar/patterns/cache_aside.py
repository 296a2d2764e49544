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

from sidecar.backends.base import MISSING, Fence, Missing
from sidecar.backends.replicas import ReplicaReads
from sidecar.callbacks import CallbackClients, Loaded
from sidecar.errors import (
    BackendUnavailable,
    CacheCarError,
    FailedPrecondition,
    ResourceExhausted,
)
from sidecar.patterns.entry import Entry, decode, encode
from sidecar.patterns.flight import Flight, LoadCounters, Lookup, Source, now_ms
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.singleflight import SingleFlight
from sidecar.telemetry import Telemetry
from sidecar.telemetry.logs import RateLimit
from sidecar.telemetry.tracing import current_span

__all__ = ["CacheAside", "Lookup", "Source"]

log = logging.getLogger("cachecar.cache_aside")


_now_ms = now_ms


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

    async def read(self, ns: Namespace, key: str) -> Entry | None:
        try:
            raw = await ns.backend.get(ns.keys.value(key))
        except BackendUnavailable as exc:
            self.event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
            # Debug only: during an outage this happens on every call; the
            # breaker's transitions and the error metrics tell the story.
            log.debug(
                "backend read failed, treating as a miss",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return None
        return None if isinstance(raw, Missing) else decode(raw)

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
        entry = await self.read(ns, key)
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
            self.event("cachecar.stale_served", **{"cachecar.stale_ms": now_ms - entry.stale_at_ms})
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
            self.event("cachecar.backend.fallback", **{"cachecar.backend": ns.backend.name})
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
            await self.release(ns, key, fence)
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
            self.event("cachecar.fill.fenced")

    async def release(self, ns: Namespace, key: str, fence: Fence) -> None:
        with contextlib.suppress(BackendUnavailable):
            await ns.backend.release(fence, ns.keys.value(key), ns.keys.lease(key))

    async def get(self, ns: Namespace, key: str) -> Lookup:
        """The fresh cached value, never calling the loader."""
        # The one read a replica may answer (read_from; backends/replicas.py).
        replica = ns.backend.capabilities.get(ReplicaReads)
        read = replica.get_from_replica if replica is not None else ns.backend.get
        raw = await read(ns.keys.value(key))
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
