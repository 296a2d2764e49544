"""The soak run's bookkeeping: calls and errors, writes, subscribers, and the report.

Everything here is plain data the driver (``bench.soak``) fills in and renders;
nothing starts a process or opens a channel.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from bench.soak_proc import ProcSample

__all__ = [
    "Calls",
    "Histogram",
    "Row",
    "Subscriber",
    "WriteLedger",
    "error_reason",
    "markdown_table",
]

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class Histogram:
    """Latencies in log buckets 2% wide: percentiles in bounded memory."""

    _BASE = math.log(1.02)

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0

    def add(self, ms: float) -> None:
        self.buckets[int(math.log(max(ms, 0.001)) / self._BASE)] += 1
        self.count += 1

    def percentile(self, pct: float) -> float | None:
        if self.count == 0:
            return None
        rank = math.ceil(self.count * pct / 100)
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return math.exp((bucket + 0.5) * self._BASE)
        return None


def error_reason(exc: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a failed call ("-" when it carries none)."""
    for key, value in exc.trailing_metadata() or ():
        if key != _STATUS_DETAILS_KEY:
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # noqa: BLE001 - a malformed trailer must not hide the error
            return "-"
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return str(info.reason)
    return "-"


@dataclass
class Calls:
    """Calls made, cumulative and for the current sampling interval."""

    requests: Counter[str] = field(default_factory=Counter)
    #: (method, code, reason) -> count.
    errors: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    by_method: dict[str, Histogram] = field(default_factory=dict)
    interval_requests: int = 0
    interval_errors: Counter[str] = field(default_factory=Counter)
    interval_latency: Histogram = field(default_factory=Histogram)

    def ok(self, method: str, ms: float) -> None:
        self.requests[method] += 1
        self.interval_requests += 1
        self.by_method.setdefault(method, Histogram()).add(ms)
        self.interval_latency.add(ms)

    def failed(self, method: str, code: str, reason: str) -> None:
        self.requests[method] += 1
        self.interval_requests += 1
        self.errors[(method, code, reason)] += 1
        self.interval_errors[code] += 1

    def take_interval(self) -> tuple[int, Counter[str], Histogram]:
        taken = (self.interval_requests, self.interval_errors, self.interval_latency)
        self.interval_requests, self.interval_errors = 0, Counter()
        self.interval_latency = Histogram()
        return taken


@dataclass
class WriteLedger:
    """EnqueueWrite per key: increasing sequence numbers, which ones were acknowledged.

    Each key belongs to one worker, which enqueues its updates one at a time,
    so a key's sequence order is its enqueue order.
    """

    next_seq: Counter[str] = field(default_factory=Counter)
    last_acked: dict[str, int] = field(default_factory=dict)
    #: Sequence numbers whose EnqueueWrite failed: the outcome is unknown (a
    #: timed-out call may still have been applied).
    unknown: dict[str, set[int]] = field(default_factory=dict)
    acked: int = 0
    failed: int = 0

    def take(self, key: str) -> int:
        self.next_seq[key] += 1
        return self.next_seq[key]

    def acknowledged(self, key: str, seq: int) -> None:
        self.acked += 1
        self.last_acked[key] = seq

    def not_acknowledged(self, key: str, seq: int) -> None:
        self.failed += 1
        self.unknown.setdefault(key, set()).add(seq)

    def compare(self, received: dict[str, list[int]], namespace: str) -> dict[str, Any]:
        """Each key's last acknowledged update against the writer's last row for it.

        ``received`` is the app's ``keys``: ``"ns/key" -> [rows, last, max, regressions]``.
        A key is fine when the writer's last is its last acknowledged update,
        or a later update whose call failed (applied after all). Otherwise the
        acknowledged update is lost (never received, or overwritten by an
        older one).
        """
        exact = later_unknown = 0
        lost: list[str] = []
        for key, acked in sorted(self.last_acked.items()):
            rows = received.get(f"{namespace}/{key}")
            last = rows[1] if rows else None
            if last == acked:
                exact += 1
            elif last is not None and last > acked and last in self.unknown.get(key, set()):
                later_unknown += 1
            else:
                lost.append(f"{key}: acknowledged #{acked}, writer's last #{last}")
        return {"keys": len(self.last_acked), "exact": exact, "later": later_unknown, "lost": lost}


@dataclass
class Subscriber:
    """One long-lived Subscribe stream (reopened when it ends) and what it delivered."""

    name: str
    channel: str
    durable: bool
    confirmed_at: float | None = None
    last_id: str = ""
    delivered: int = 0
    duplicates: int = 0
    missed: int = 0
    reopened: int = 0
    ends: Counter[str] = field(default_factory=Counter)
    ids: set[str] = field(default_factory=set)

    def message(self, message_id: str) -> None:
        self.delivered += 1
        if message_id:
            if message_id in self.ids:
                self.duplicates += 1
            self.ids.add(message_id)
            self.last_id = message_id


@dataclass(frozen=True)
class Row:
    """One sample of the time series."""

    t: float
    requests: int
    seconds: float
    errors: Counter[str]
    p50: float | None
    p99: float | None
    proc: ProcSample
    faults: str
    #: The sidecar's CPU over the interval, in % of one core.
    cpu_pct: float = 0.0

    def cells(self) -> list[str]:
        rate = self.requests / self.seconds if self.seconds > 0 else 0.0
        errors = ", ".join(f"{code} {n}" for code, n in self.errors.most_common()) or "-"
        c = self.proc.conns
        conns = (
            f"{self.proc.established} ({c['redis']}/{c['memcached']}/"
            f"{c['loader'] + c['writer']}/{c['clients']})"
        )
        return [
            f"{self.t:.0f}",
            f"{rate:,.0f}",
            _ms(self.p50),
            _ms(self.p99),
            errors,
            f"{self.cpu_pct:.0f}",
            f"{self.proc.rss_mib:.1f}",
            str(self.proc.threads),
            str(self.proc.fds),
            conns,
            self.faults or "-",
        ]


ROW_HEADER = [
    "t s",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors (interval)",
    "CPU %",
    "RSS MiB",
    "threads",
    "fds",
    "conns (redis/mc/app/clients)",
    "fault",
]


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def markdown_table(header: list[str], body: list[list[str]]) -> list[str]:
    """A Markdown table padded to line up in a terminal too."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in body
    ]


def ms(value: float | None) -> str:
    """A latency in ms for the report."""
    return _ms(value)
