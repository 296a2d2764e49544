"""Prometheus metrics: what every pattern counts, and the backends' own figures.

Each :class:`Metrics` has its own registry (two sidecars in one process stay
apart). Names follow Prometheus conventions: ``cachecar_<what>_total`` for
counters, ``_seconds`` / ``_bytes`` for units. Labels are namespaces, backends
and RPC names — never keys, values or ids. Label children are cached, since
``labels()`` on every call would be a visible share of a cache hit's CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from sidecar.telemetry import multiprocess
from sidecar.telemetry.multiprocess import SharedBackendStats

__all__ = ["BackendStats", "Metrics"]

M = TypeVar("M", bound=MetricWrapperBase)

_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_LOAD = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BackendStats(Collector):
    """The backends' own memory use and evictions, from the last INFO / stats poll."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: dict[tuple[str, str], dict[str, float]] = {}

    def update(self, backend: str, server: str, figures: dict[str, float]) -> None:
        with self._lock:
            self._snapshot[(backend, server)] = figures

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = dict(self._snapshot)
        memory = GaugeMetricFamily(
            "cachecar_backend_memory_bytes",
            "Memory the cache server uses, as it reports.",
            labels=["backend", "server"],
        )
        limit = GaugeMetricFamily(
            "cachecar_backend_memory_limit_bytes",
            "The cache server's memory limit (0 = none).",
            labels=["backend", "server"],
        )
        evictions = CounterMetricFamily(
            "cachecar_backend_evictions",
            "Keys the cache server evicted for memory.",
            labels=["backend", "server"],
        )
        for (backend, server), figures in sorted(snapshot.items()):
            memory.add_metric([backend, server], figures.get("memory_bytes", 0.0))
            limit.add_metric([backend, server], figures.get("memory_limit_bytes", 0.0))
            evictions.add_metric([backend, server], figures.get("evictions", 0.0))
        yield from (memory, limit, evictions)


class Metrics:
    """Every counter, gauge and histogram of the sidecar, on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.rpc_handled = Counter(
            "cachecar_rpc_handled",
            "RPCs completed, by status code.",
            ["service", "method", "code"],
            registry=r,
        )
        self.rpc_duration = Histogram(
            "cachecar_rpc_duration_seconds",
            "Server-side RPC latency.",
            ["service", "method"],
            buckets=_FAST,
            registry=r,
        )
        self.hits = Counter(
            "cachecar_cache_hits", "Reads served from the cache.", ["namespace"], registry=r
        )
        self.misses = Counter(
            "cachecar_cache_misses", "Reads the cache could not serve.", ["namespace"], registry=r
        )
        self.stale_served = Counter(
            "cachecar_cache_stale_served",
            "Reads served past the TTL, within grace.",
            ["namespace"],
            registry=r,
        )
        self.loads = Counter(
            "cachecar_loads",
            "Calls to the app's loader, by outcome.",
            ["namespace", "outcome"],
            registry=r,
        )
        self.loads_suppressed = Counter(
            "cachecar_loads_suppressed",
            "Loads avoided because another caller's load was in flight (stampede control).",
            ["namespace", "by"],
            registry=r,
        )
        self.lease_waits = Counter(
            "cachecar_lease_waits",
            "Loads that waited for another sidecar's lease.",
            ["namespace"],
            registry=r,
        )
        self.early_refreshes = Counter(
            "cachecar_early_refreshes",
            "Background refreshes started before expiry (XFetch).",
            ["namespace"],
            registry=r,
        )
        self.values_too_large = Counter(
            "cachecar_loaded_values_too_large",
            "Loaded values returned but not cached: larger than the namespace's max_value_size.",
            ["namespace"],
            registry=r,
        )
        self.fills_fenced = Counter(
            "cachecar_fills_fenced",
            "Loaded values dropped because an Invalidate or Set landed during the load.",
            ["namespace"],
            registry=r,
        )
        self.load_duration = Histogram(
            "cachecar_load_duration_seconds",
            "Latency of the app's loader.",
            ["namespace"],
            buckets=_LOAD,
            registry=r,
        )
        self.wb_enqueued = Counter(
            "cachecar_writebehind_enqueued",
            "Writes accepted into the write-behind queue.",
            ["namespace"],
            registry=r,
        )
        self.wb_flushed = Counter(
            "cachecar_writebehind_flushed",
            "Queued writes acknowledged after the writer applied them (coalesced ones included).",
            ["namespace"],
            registry=r,
        )
        self.wb_batches = Counter(
            "cachecar_writebehind_batches",
            "WriteBatch calls, by outcome.",
            ["namespace", "outcome"],
            registry=r,
        )
        self.wb_retries = Counter(
            "cachecar_writebehind_retries",
            "Flushes retried after a writer failure.",
            ["namespace"],
            registry=r,
        )
        self.wb_dead_letters = Counter(
            "cachecar_writebehind_dead_letters",
            "Writes moved to the dead-letter stream.",
            ["namespace"],
            registry=r,
        )
        self.wb_superseded = Counter(
            "cachecar_writebehind_superseded",
            "Replayed dead letters not written: a newer write of their key was written first.",
            ["namespace"],
            registry=r,
        )
        # multiprocess_mode: how workers: N add up (sidecar/telemetry/multiprocess.py);
        # every worker sees the same queue, the same backend, its own streams.
        self.wb_pending = Gauge(
            "cachecar_writebehind_pending",
            "Writes accepted and not yet written (last poll).",
            ["namespace"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.wb_lag = Gauge(
            "cachecar_writebehind_lag_seconds",
            "Age of the oldest unwritten write (last poll).",
            ["namespace"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.backend_duration = Histogram(
            "cachecar_backend_duration_seconds",
            "Latency of backend commands.",
            ["backend", "operation"],
            buckets=_FAST,
            registry=r,
        )
        self.backend_errors = Counter(
            "cachecar_backend_errors",
            "Backend commands that failed.",
            ["backend", "operation"],
            registry=r,
        )
        self.backend_up = Gauge(
            "cachecar_backend_up",
            "1 if the backend answers its health ping.",
            ["backend"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.breaker_open = Gauge(
            "cachecar_backend_breaker_open",
            "1 while the circuit breaker skips a backend that keeps failing.",
            ["backend"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.pubsub_subscribers = Gauge(
            "cachecar_pubsub_subscribers",
            "Open Subscribe streams.",
            ["namespace"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pubsub_published = Counter(
            "cachecar_pubsub_published",
            "Messages published, by channel kind (fire_and_forget, durable).",
            ["namespace", "kind"],
            registry=r,
        )
        self.pubsub_delivered = Counter(
            "cachecar_pubsub_delivered",
            "Messages handed to Subscribe streams.",
            ["namespace"],
            registry=r,
        )
        self.pubsub_dropped = Counter(
            "cachecar_pubsub_dropped",
            "Messages subscribers missed: slow_subscriber (dropped oldest), trimmed (retention).",
            ["namespace", "reason"],
            registry=r,
        )
        self.pubsub_reconnects = Counter(
            "cachecar_pubsub_reconnects",
            "Times a sidecar's shared Redis subscriber connection was re-established.",
            ["backend"],
            registry=r,
        )
        self.loads_in_flight = Gauge(
            "cachecar_loads_in_flight",
            "Distinct keys whose loader call is running now (cachecar top shows it).",
            registry=r,
            multiprocess_mode="livesum",
        )
        # The near cache (patterns/near_cache.py), per namespace.
        self.near_hits = Counter(
            "cachecar_near_hits",
            "Reads answered from the sidecar's near cache.",
            ["namespace"],
            registry=r,
        )
        self.near_misses = Counter(
            "cachecar_near_misses",
            "Near-cache lookups that found nothing (the read went to the backend).",
            ["namespace"],
            registry=r,
        )
        self.near_invalidations = Counter(
            "cachecar_near_invalidations",
            "Key invalidations the near cache received from the backend's feed.",
            ["namespace"],
            registry=r,
        )
        self.near_flushes = Counter(
            "cachecar_near_flushes",
            "Times the near cache was emptied (whole or some slots), by cause: link_lost, "
            "ping_timeout, server_flush, topology.",
            ["namespace", "cause"],
            registry=r,
        )
        self.near_evictions = Counter(
            "cachecar_near_evictions",
            "Entries the near cache evicted to stay within max_bytes.",
            ["namespace"],
            registry=r,
        )
        self.near_fills_dropped = Counter(
            "cachecar_near_fills_dropped",
            "Backend replies not kept because an invalidation or flush raced them.",
            ["namespace"],
            registry=r,
        )
        self.near_bytes = Gauge(
            "cachecar_near_bytes",
            "Bytes the near cache accounts for (entries incl. per-entry overhead).",
            ["namespace"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.near_entries = Gauge(
            "cachecar_near_entries",
            "Entries in the near cache.",
            ["namespace"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.near_link_up = Gauge(
            "cachecar_near_link_up",
            "1 while the backend's invalidation feed vouches for every slot, else 0.",
            ["backend"],
            registry=r,
            multiprocess_mode="livemin",
        )
        self.backend_stats: BackendStats | SharedBackendStats
        if multiprocess.active():
            self.backend_stats = SharedBackendStats(r)
        else:
            self.backend_stats = BackendStats()
            r.register(self.backend_stats)
        self._children: dict[tuple[object, ...], MetricWrapperBase] = {}
        self._http: Any = None

    def child(self, metric: M, *labels: str) -> M:
        """``metric.labels(*labels)``, cached."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        assert isinstance(found, type(metric))  # labels() returns a child of its own class
        return found

    def serve(self, listen: str) -> int:
        """Serve ``/metrics`` on ``host:port`` from a thread; the bound port."""
        host, _, port = listen.rpartition(":")
        server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        self._http = server
        return int(server.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
