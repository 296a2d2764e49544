"""The bench's one table, its target lines and the machine it ran on.

Every ratio is between rows measured in the same run, never against a figure
from another machine or day. Targets print "met" or "not met"; nothing here
decides an exit code (benchmarks never fail CI on a timing).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc

from bench.measure import Measured

__all__ = ["REDIS", "SERVER", "SINK", "TARGETS", "Row", "machine_lines", "render"]

#: Labels of the watched processes in :attr:`Measured.server_cpu_us`.
SERVER = "server"
REDIS = "redis"
#: Watched so that its CPU is not mistaken for outside noise; never in a ratio.
SINK = "sink"


@dataclass(frozen=True)
class Targets:
    """The figures the hit path is held to (DESIGN.md §7 measures the floor)."""

    hit_vs_floor: float = 1.15
    hit_cpu_us: float = 300.0
    many_cpu_us_per_key: float = 15.0
    #: The bench's own check, not a DESIGN figure: a dead collector may cost
    #: no more than a live one and fails no call. The slack is the run-to-run
    #: spread of CPU/RPC seen on a 2-core machine (about ±10%).
    dead_vs_live: float = 1.15


TARGETS = Targets()


@dataclass(frozen=True)
class Row:
    """One scenario: a loaded run (CPU measured) and a sequential one (latency)."""

    key: str
    title: str
    loaded: Measured
    sequential: Measured
    keys_per_call: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def server_cpu(self) -> float | None:
        return self.loaded.cpu_per_call(SERVER)


def _n(value: float | None, fmt: str = ",.0f") -> str:
    return "—" if value is None else format(value, fmt)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT MET")


def _table(rows: list[Row]) -> list[str]:
    floor = next((r.server_cpu for r in rows if r.key == "echo"), None)
    concurrency = rows[0].loaded.concurrency if rows else 0
    header = [
        "scenario",
        f"RPC/s ({concurrency} in flight)",
        f"p50 / p99 µs ({concurrency})",
        "p50 µs (1 in flight)",
        "server CPU µs/RPC",
        "x echo floor",
        "redis CPU µs/RPC",
        "server cores",
        "loadgen cores",
        "other cores",
        "errors",
    ]
    body = []
    for row in rows:
        loaded, seq = row.loaded, row.sequential
        ratio = _ratio(row.server_cpu, floor)
        body.append(
            [
                row.title,
                _n(loaded.rate),
                f"{_n(loaded.p50_us)} / {_n(loaded.p99_us)}",
                _n(seq.p50_us),
                _n(row.server_cpu),
                "—" if ratio is None else f"{ratio:.2f}x",
                _n(loaded.cpu_per_call(REDIS), ",.1f"),
                _n(loaded.cores(SERVER), ".2f"),
                _n(loaded.client_cores, ".2f"),
                _n(loaded.other_cores, ".2f"),
                str(loaded.errors + seq.errors + loaded.check_failures),
            ]
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [fmt(header), rule, *(fmt(line) for line in body)]


def _target_lines(rows: list[Row]) -> list[str]:
    by = {r.key: r for r in rows}
    t = TARGETS
    lines = []
    floor = by["echo"].server_cpu if "echo" in by else None
    if "hit" in by:
        hit = by["hit"].server_cpu
        ratio = _ratio(hit, floor)
        ok = (
            None
            if hit is None or ratio is None
            else (ratio <= t.hit_vs_floor and hit <= t.hit_cpu_us)
        )
        lines.append(
            f"hit CPU ≤ {t.hit_vs_floor}x echo floor and ≤ {t.hit_cpu_us:.0f} µs: "
            f"{_n(hit)} µs/RPC = {_n(ratio, '.2f')}x the floor ({_n(floor)} µs)"
            f"  → {_verdict(ok)}"
        )
    if {"hit", "traced", "dead"} <= by.keys():
        off, on, dead = by["hit"], by["traced"], by["dead"]
        on_cpu, dead_cpu = (
            _ratio(on.server_cpu, off.server_cpu),
            _ratio(dead.server_cpu, off.server_cpu),
        )
        on_rate, dead_rate = (
            _ratio(on.loaded.rate, off.loaded.rate),
            _ratio(dead.loaded.rate, off.loaded.rate),
        )
        on_p50 = _ratio(on.sequential.p50_us, off.sequential.p50_us)
        dead_p50 = _ratio(dead.sequential.p50_us, off.sequential.p50_us)
        lines.append(
            "tracing off vs on 100% vs dead endpoint, server CPU/RPC: "
            f"{_n(off.server_cpu)} vs {_n(on.server_cpu)} ({_n(on_cpu, '.2f')}x) "
            f"vs {_n(dead.server_cpu)} µs ({_n(dead_cpu, '.2f')}x); "
            f"RPC/s {_n(on_rate, '.2f')}x / {_n(dead_rate, '.2f')}x; "
            f"sequential p50 {_n(on_p50, '.2f')}x / {_n(dead_p50, '.2f')}x  → reported (no target)"
        )
        live_vs = _ratio(dead.server_cpu, on.server_cpu)
        failed = dead.loaded.errors + dead.sequential.errors
        ok = None if live_vs is None else (live_vs <= t.dead_vs_live and failed == 0)
        lines.append(
            f"dead collector costs ≤ {t.dead_vs_live}x a live one and fails no call: "
            f"{_n(live_vs, '.2f')}x, {failed} failed calls  → {_verdict(ok)}"
        )
    if "many" in by:
        many = by["many"]
        per_key = None if many.server_cpu is None else many.server_cpu / many.keys_per_call
        ok = None if per_key is None else per_key <= t.many_cpu_us_per_key
        lines.append(
            f"GetOrLoadMany ≤ {t.many_cpu_us_per_key:.0f} µs per key: "
            f"{_n(per_key, '.1f')} µs/key ({many.keys_per_call} keys per RPC, "
            f"{_n(many.loaded.rate * many.keys_per_call)} keys/s)  → {_verdict(ok)}"
        )
    return lines


def machine_lines(extra: list[str]) -> list[str]:
    """Date, CPUs, Python, grpcio and whatever the caller adds (node, redis)."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?"
            )
    except OSError:
        pass
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"machine: nproc {len(os.sched_getaffinity(0))} ({model}), {platform.platform()}",
        f"python {platform.python_version()}, grpcio {grpc.__version__}, " + ", ".join(extra),
    ]


def render(rows: list[Row], machine: list[str], notes: list[str]) -> str:
    """The whole report as printed at the end of ``python -m bench``."""
    out = ["", "cachecar bench — hit path and the cost of tracing", *machine, ""]
    out += _table(rows)
    out += ["", "targets (measured in this run; never a failure exit):"]
    out += [f"  {line}" for line in _target_lines(rows)]
    row_notes = [f"  {r.title}: {n}" for r in rows for n in r.notes]
    if notes or row_notes:
        out += ["", "notes:", *(f"  {n}" for n in notes), *row_notes]
    return "\n".join(out)
