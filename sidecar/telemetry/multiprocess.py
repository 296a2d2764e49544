"""One ``/metrics`` for all workers: prometheus_client's multiprocess mode.

With ``workers: N`` the supervisor (sidecar/workers.py) makes a private
directory, hands it to every worker as ``PROMETHEUS_MULTIPROC_DIR`` (which
prometheus_client reads when it is imported, so each worker's counters,
histograms and gauges live in memory-mapped files there), and serves
``metrics_listen`` itself with a :class:`MultiProcessCollector` that adds
them up: counters and histograms summed over workers, living or dead (a
restarted worker does not reset the pod's totals), each gauge by the mode it
declares (``livemax``, ``livesum``). The cost is on every metric update: a
counter increment or histogram observation writes to the mapped file
(measured in bench/metrics_mode.py), which is why a single process keeps
prometheus_client's in-memory values.

Custom collectors do not cross processes, so in this mode the backends' own
memory and eviction figures are gauges too (:class:`SharedBackendStats`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, multiprocess, start_http_server

__all__ = ["ENV", "SharedBackendStats", "SharedMetrics", "active"]

ENV = "PROMETHEUS_MULTIPROC_DIR"


def active() -> bool:
    """True in a worker whose metrics live in the shared directory."""
    return bool(os.environ.get(ENV))


class SharedBackendStats:
    """:class:`~sidecar.telemetry.metrics.BackendStats` as gauges (same names)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["backend", "server"]
        # Every worker polls the same servers: the freshest of the living ones.
        self._gauges = {
            "memory_bytes": Gauge(
                "cachecar_backend_memory_bytes",
                "Memory the cache server uses, as it reports.",
                labels,
                registry=registry,
                multiprocess_mode="livemax",
            ),
            "memory_limit_bytes": Gauge(
                "cachecar_backend_memory_limit_bytes",
                "The cache server's memory limit (0 = none).",
                labels,
                registry=registry,
                multiprocess_mode="livemax",
            ),
            # The server's own running total, so a gauge: a counter cannot be
            # set, and each worker adding the deltas it saw would count N times.
            "evictions": Gauge(
                "cachecar_backend_evictions_total",
                "Keys the cache server evicted for memory (its running total).",
                labels,
                registry=registry,
                multiprocess_mode="livemax",
            ),
        }

    def update(self, backend: str, server: str, figures: dict[str, float]) -> None:
        for key, gauge in self._gauges.items():
            gauge.labels(backend, server).set(figures.get(key, 0.0))


class SharedMetrics:
    """The supervisor's side: the directory, the workers' environment, the endpoint."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="cachecar-metrics-")
        self._http: Any = None

    @property
    def env(self) -> dict[str, str]:
        return {ENV: self.directory}

    def serve(self, listen: str) -> int:
        """Serve the sum of every worker's metrics on ``host:port``; the bound port."""
        registry = CollectorRegistry()
        # prometheus_client leaves its multiprocess module unannotated.
        multiprocess.MultiProcessCollector(registry, path=self.directory)  # type: ignore[no-untyped-call]
        host, _, port = listen.rpartition(":")
        self._http, _thread = start_http_server(int(port), addr=host, registry=registry)
        return int(self._http.server_port)

    def worker_exited(self, pid: int) -> None:
        # Its live gauges go; its counters stay in the pod's totals.
        multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        shutil.rmtree(self.directory, ignore_errors=True)
