"""Cache-aside (read-through): GetOrLoad, GetOrLoadMany, Get, Set, Invalidate.

Backend-agnostic: the namespace supplies the backend and key layout, the
callbacks supply the app's loader. A miss is loaded once per key per sidecar
at a time (single-flight); the result is stored with the namespace TTL minus
jitter, or the shorter negative TTL when the loader says found=false. When the
backend fails, reads fall back to the loader and stores are skipped: the app
sees its data, not the cache's outage.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sidecar.backends.base import MISSING, Missing
from sidecar.callbacks import CallbackClients, Loaded
from sidecar.errors import BackendUnavailable, CacheCarError, FailedPrecondition
from sidecar.patterns.entry import Entry, decode, encode
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.singleflight import SingleFlight

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


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class CacheAside:
    """The cache-aside pattern over any backend."""

    def __init__(self, callbacks: CallbackClients) -> None:
        self._callbacks = callbacks
        self._flights: SingleFlight[tuple[str, str], Lookup] = SingleFlight()

    @property
    def loads_in_flight(self) -> int:
        return len(self._flights)

    async def _read(self, ns: Namespace, key: str) -> Entry | None:
        try:
            raw = await ns.backend.get(ns.keys.value(key))
        except BackendUnavailable as exc:
            log.warning(
                "backend read failed, treating as a miss",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )
            return None
        return None if isinstance(raw, Missing) else decode(raw)

    async def get_or_load(self, ns: Namespace, key: str, time_left: float | None) -> Lookup:
        """The cached value, or one load of it shared by every concurrent caller."""
        entry = await self._read(ns, key)
        if entry is not None and entry.fresh(_now_ms()):
            return Lookup(entry.found, entry.value, Source.CACHE)
        return await self._load_once(ns, key, time_left)

    async def get_or_load_many(
        self, ns: Namespace, keys: list[str], time_left: float | None
    ) -> list[Lookup | CacheCarError]:
        """One outcome per key, in order; a failed key does not fail the batch."""
        unique = list(dict.fromkeys(keys))
        try:
            raws = await ns.backend.get_many([ns.keys.value(k) for k in unique])
        except BackendUnavailable:
            raws = [MISSING] * len(unique)
        now = _now_ms()
        found: dict[str, Lookup | CacheCarError] = {}
        misses = []
        for key, raw in zip(unique, raws, strict=True):
            entry = None if isinstance(raw, Missing) else decode(raw)
            if entry is not None and entry.fresh(now):
                found[key] = Lookup(entry.found, entry.value, Source.CACHE)
            else:
                misses.append(key)
        if misses:
            loaded = await asyncio.gather(
                *(self._load_once(ns, k, time_left) for k in misses), return_exceptions=True
            )
            for key, outcome in zip(misses, loaded, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, CacheCarError):
                    raise outcome
                found[key] = outcome
        return [found[k] for k in keys]

    async def _load_once(self, ns: Namespace, key: str, time_left: float | None) -> Lookup:
        if ns.settings.loader is None:
            raise FailedPrecondition(
                f"namespace {ns.name!r} has no loader, so GetOrLoad cannot fill a miss; set "
                f"namespaces.{ns.name}.loader to the app's LoaderService address, or use Get",
                reason="LOADER_NOT_CONFIGURED",
                metadata={"namespace": ns.name},
            )
        loader = self._callbacks.loader(ns.settings.loader)
        cap = ns.settings.loader_timeout.total_seconds()
        budget = cap if time_left is None else min(time_left, cap)

        async def load_and_store() -> Lookup:
            started = time.monotonic()
            loaded = await loader.load(ns.name, key, budget)
            load_ms = int((time.monotonic() - started) * 1000)
            await self._store(ns, key, loaded, load_ms)
            return Lookup(loaded.found, loaded.value if loaded.found else b"", Source.LOADER)

        lookup, _shared = await self._flights.do((ns.name, key), load_and_store)
        return lookup

    async def _store(self, ns: Namespace, key: str, loaded: Loaded, load_ms: int) -> None:
        if loaded.found and len(loaded.value) > ns.settings.max_value_size:
            log.warning(
                "loaded value over max_value_size is returned but not cached",
                extra={"namespace": ns.name, "size": len(loaded.value)},
            )
            return
        ttl_ms = ns.ttl_ms(loaded.ttl, negative=not loaded.found)
        entry = Entry(
            loaded.found, loaded.value if loaded.found else b"", _now_ms() + ttl_ms, load_ms
        )
        try:
            await ns.backend.set(ns.keys.value(key), encode(entry), ttl_ms + ns.grace_ms)
        except BackendUnavailable as exc:
            log.warning(
                "backend write failed, value served uncached",
                extra={"namespace": ns.name, "backend": ns.backend.name, "error": str(exc)},
            )

    async def get(self, ns: Namespace, key: str) -> Lookup:
        """The fresh cached value, never calling the loader."""
        raw = await ns.backend.get(ns.keys.value(key))
        entry = None if isinstance(raw, Missing) else decode(raw)
        if entry is None or not entry.fresh(_now_ms()) or not entry.found:
            return Lookup(False, b"", Source.CACHE)
        return Lookup(True, entry.value, Source.CACHE)

    async def set(self, ns: Namespace, key: str, value: bytes, ttl: timedelta | None) -> None:
        """Store ``value`` (the cache only)."""
        ttl_ms = ns.ttl_ms(ttl)
        entry = Entry(True, value, _now_ms() + ttl_ms)
        await ns.backend.set(ns.keys.value(key), encode(entry), ttl_ms + ns.grace_ms)

    async def invalidate(self, ns: Namespace, keys: list[str]) -> int:
        """Remove keys; how many had an entry."""
        unique = list(dict.fromkeys(keys))
        return await ns.backend.delete([ns.keys.value(k) for k in unique])
