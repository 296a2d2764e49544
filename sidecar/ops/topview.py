"""What ``cachecar top`` shows, computed from /metrics scrapes (no terminal here).

A :class:`Snapshot` is one scrape of every target (a sidecar, or each of its
workers) summed into one set of samples; :func:`view` turns two successive
snapshots into per-second rates, ratios and latency quantiles, the way
PromQL's ``rate`` and ``histogram_quantile`` would over that one interval.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Snapshot", "View", "scrape", "view"]

Labels = frozenset[tuple[str, str]]
K = TypeVar("K")
Rate = Callable[..., dict[str, float]]
#: Gauges that are the same figure seen from every worker: max, not sum.
_MAX_GAUGES = (
    "cachecar_backend_breaker_open",
    "cachecar_writebehind_pending",
    "cachecar_writebehind_lag_seconds",
)


@dataclass
class Snapshot:
    at: float
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, labels: dict[str, str], value: float) -> None:
        key = (name, frozenset(labels.items()))
        if name in _MAX_GAUGES:
            self.samples[key] = max(self.samples.get(key, value), value)
        elif name == "cachecar_backend_up":
            self.samples[key] = min(self.samples.get(key, value), value)
        else:
            self.samples[key] = self.samples.get(key, 0.0) + value

    def select(self, name: str) -> Iterable[tuple[dict[str, str], float]]:
        for (sample, labels), value in self.samples.items():
            if sample == name:
                yield dict(labels), value


def scrape(urls: list[str], timeout: float = 2.0) -> Snapshot:
    snapshot = Snapshot(time.monotonic())
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (an operator's URL)
                text = response.read().decode()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            snapshot.errors.append(f"{url}: {reason}")
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("cachecar_"):
                    snapshot.add(sample.name, sample.labels, sample.value)
    return snapshot


@dataclass
class Row:
    name: str
    figures: dict[str, float | None]


@dataclass
class View:
    """One frame: totals, one row per method, namespace and backend."""

    interval: float
    calls: float
    errors: float
    p50: float | None
    p99: float | None
    loads_in_flight: float | None
    methods: list[Row]
    namespaces: list[Row]
    backends: list[Row]
    problems: list[str]


def _by(
    snapshot: Snapshot, name: str, label: str, where: dict[str, str] | None = None
) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for labels, value in snapshot.select(name):
        if where and any(labels.get(k) != v for k, v in where.items()):
            continue
        totals[labels.get(label, "")] += value
    return totals


def _delta(now: dict[K, float], before: dict[K, float] | None) -> dict[K, float]:
    # A counter that went down restarted (a worker came back): count from zero.
    if before is None:
        return dict(now)
    return {k: v - before.get(k, 0.0) if v >= before.get(k, 0.0) else v for k, v in now.items()}


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket that holds q."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # past the last finite bucket: its bound is all we know
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return None


def _buckets(snapshot: Snapshot, name: str, label: str | None) -> dict[str, dict[float, float]]:
    out: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for labels, value in snapshot.select(name + "_bucket"):
        key = labels.get(label, "") if label else ""
        out[key][float(labels["le"])] += value
    return out


def _bucket_delta(
    now: dict[str, dict[float, float]], before: dict[str, dict[float, float]] | None
) -> dict[str, dict[float, float]]:
    return {k: _delta(v, before.get(k) if before else None) for k, v in now.items()}


def view(now: Snapshot, before: Snapshot | None) -> View:
    """Rates over the interval between two snapshots (totals since start without one)."""
    interval = max(now.at - before.at, 1e-9) if before else 0.0

    def rate(name: str, label: str, where: dict[str, str] | None = None) -> dict[str, float]:
        delta = _delta(
            _by(now, name, label, where), _by(before, name, label, where) if before else None
        )
        return {k: v / interval if interval else v for k, v in delta.items()}

    calls = rate("cachecar_rpc_handled_total", "method")
    ok = rate("cachecar_rpc_handled_total", "method", {"code": "OK"})
    rpc = _bucket_delta(
        _buckets(now, "cachecar_rpc_duration_seconds", "method"),
        _buckets(before, "cachecar_rpc_duration_seconds", "method") if before else None,
    )
    overall: dict[float, float] = defaultdict(float)
    for per_method in rpc.values():
        for bound, count in per_method.items():
            overall[bound] += count
    methods = [
        Row(
            method,
            {
                "calls/s": calls[method],
                "errors/s": calls[method] - ok.get(method, 0.0),
                "p50": quantile(0.5, rpc.get(method, {})),
                "p99": quantile(0.99, rpc.get(method, {})),
            },
        )
        for method in sorted(calls, key=lambda m: -calls[m])
    ]
    return View(
        interval=interval,
        calls=sum(calls.values()),
        errors=sum(calls.values()) - sum(ok.values()),
        p50=quantile(0.5, overall),
        p99=quantile(0.99, overall),
        loads_in_flight=next((v for _, v in now.select("cachecar_loads_in_flight")), None),
        methods=methods,
        namespaces=_namespaces(now, rate),
        backends=_backends(now, before, rate),
        problems=list(now.errors),
    )


def _namespaces(now: Snapshot, rate: Rate) -> list[Row]:
    hits = rate("cachecar_cache_hits_total", "namespace")
    misses = rate("cachecar_cache_misses_total", "namespace")
    stale = rate("cachecar_cache_stale_served_total", "namespace")
    loads = rate("cachecar_loads_total", "namespace")
    pending = _by(now, "cachecar_writebehind_pending", "namespace")
    lag = _by(now, "cachecar_writebehind_lag_seconds", "namespace")
    rows = []
    for ns in sorted(set(hits) | set(misses) | set(stale) | set(pending)):
        reads = hits.get(ns, 0.0) + misses.get(ns, 0.0) + stale.get(ns, 0.0)
        rows.append(
            Row(
                ns,
                {
                    "reads/s": reads,
                    "hit ratio": hits.get(ns, 0.0) / reads if reads else None,
                    "loads/s": loads.get(ns),
                    "wb pending": pending.get(ns),
                    "wb oldest": lag.get(ns),
                },
            )
        )
    return rows


def _backends(now: Snapshot, before: Snapshot | None, rate: Rate) -> list[Row]:
    up = _by(now, "cachecar_backend_up", "backend")
    breaker = _by(now, "cachecar_backend_breaker_open", "backend")
    errors = rate("cachecar_backend_errors_total", "backend")
    latency = _bucket_delta(
        _buckets(now, "cachecar_backend_duration_seconds", "backend"),
        _buckets(before, "cachecar_backend_duration_seconds", "backend") if before else None,
    )
    return [
        Row(
            name,
            {
                "up": up.get(name),
                "breaker open": breaker.get(name, 0.0),
                "errors/s": errors.get(name, 0.0),
                "p99": quantile(0.99, latency.get(name, {})),
            },
        )
        for name in sorted(set(up) | set(breaker))
    ]
