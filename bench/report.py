"""The bench's tables, its target lines and the machine it ran on.

The hit-path rows share one table (their columns are the same); every other
scenario (stampede, expiry storm, write-behind, leaderboards, pub/sub) is a
:class:`Section` with its own small table, built by its own module. Every
ratio is between figures measured in the same run, never against a figure
from another machine or day. Targets print "met" or "NOT MET"; nothing here
decides an exit code (benchmarks never fail CI on a timing).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc

from bench.measure import Measured

__all__ = [
    "REDIS",
    "SERVER",
    "SINK",
    "TARGETS",
    "Row",
    "Section",
    "format_table",
    "machine_lines",
    "num",
    "render",
    "verdict",
]

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
    #: DESIGN.md §4: exactly one load per key at a time across all sidecars.
    stampede_loads_per_key: int = 1
    #: An expiring hot key is reloaded once per expiry, and its callers wait
    #: no longer than the hit path's tail (early refresh hides the load).
    expiry_loads_per_expiry: float = 1.0
    expiry_p99_vs_hit: float = 2.0
    #: Write-behind coalescing: database writes per queued update, and never
    #: more than one write per key per flush window.
    wb_updates_per_write: float = 50.0
    wb_writes_per_key_window: float = 1.0


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


@dataclass(frozen=True)
class Section:
    """A scenario outside the hit-path table: its own table, target lines and notes."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: Lines ending in "→ met" / "→ NOT MET" / "→ reported (no target)".
    targets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def num(value: float | None, fmt: str = ",.0f") -> str:
    """A figure for a table cell; "—" when it was not measured."""
    return "—" if value is None else format(value, fmt)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def verdict(ok: bool | None) -> str:
    """The word a target line ends with: met, NOT MET, or n/a (not measured)."""
    return "n/a" if ok is None else ("met" if ok else "NOT MET")


def format_table(header: list[str] | tuple[str, ...], body: list[list[str]]) -> list[str]:
    """A Markdown table: first column left-aligned, the figures right-aligned."""
    widths = [max(len(line[i]) for line in [list(header), *body]) for i in range(len(header))]

    def fmt(cells: list[str] | tuple[str, ...]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [fmt(header), rule, *(fmt(line) for line in body)]


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
                num(loaded.rate),
                f"{num(loaded.p50_us)} / {num(loaded.p99_us)}",
                num(seq.p50_us),
                num(row.server_cpu),
                "—" if ratio is None else f"{ratio:.2f}x",
                num(loaded.cpu_per_call(REDIS), ",.1f"),
                num(loaded.cores(SERVER), ".2f"),
                num(loaded.client_cores, ".2f"),
                num(loaded.other_cores, ".2f"),
                str(loaded.errors + seq.errors + loaded.check_failures),
            ]
        )
    return format_table(header, body)


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
            f"{num(hit)} µs/RPC = {num(ratio, '.2f')}x the floor ({num(floor)} µs)"
            f"  → {verdict(ok)}"
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
            f"{num(off.server_cpu)} vs {num(on.server_cpu)} ({num(on_cpu, '.2f')}x) "
            f"vs {num(dead.server_cpu)} µs ({num(dead_cpu, '.2f')}x); "
            f"RPC/s {num(on_rate, '.2f')}x / {num(dead_rate, '.2f')}x; "
            f"sequential p50 {num(on_p50, '.2f')}x / {num(dead_p50, '.2f')}x"
            "  → reported (no target)"
        )
        live_vs = _ratio(dead.server_cpu, on.server_cpu)
        failed = dead.loaded.errors + dead.sequential.errors
        ok = None if live_vs is None else (live_vs <= t.dead_vs_live and failed == 0)
        lines.append(
            f"dead collector costs ≤ {t.dead_vs_live}x a live one and fails no call: "
            f"{num(live_vs, '.2f')}x, {failed} failed calls  → {verdict(ok)}"
        )
    if "many" in by:
        many = by["many"]
        per_key = None if many.server_cpu is None else many.server_cpu / many.keys_per_call
        ok = None if per_key is None else per_key <= t.many_cpu_us_per_key
        lines.append(
            f"GetOrLoadMany ≤ {t.many_cpu_us_per_key:.0f} µs per key: "
            f"{num(per_key, '.1f')} µs/key ({many.keys_per_call} keys per RPC, "
            f"{num(many.loaded.rate * many.keys_per_call)} keys/s)  → {verdict(ok)}"
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


def render(
    rows: list[Row],
    machine: list[str],
    notes: list[str],
    sections: list[Section] | None = None,
) -> str:
    """The whole report as printed at the end of ``python -m bench``."""
    sections = sections or []
    out = ["", "cachecar bench — hit path, tracing, and the patterns under fire", *machine]
    if rows:
        out += ["", "hit path and tracing:", *_table(rows)]
    for section in sections:
        body = [list(r) for r in section.rows]
        out += ["", f"{section.title}:", *format_table(section.header, body)]
    out += ["", "targets (measured in this run; never a failure exit):"]
    out += [f"  {line}" for line in _target_lines(rows)]
    out += [f"  {line}" for s in sections for line in s.targets]
    row_notes = [f"  {r.title}: {n}" for r in rows for n in r.notes]
    section_notes = [f"  {s.key}: {n}" for s in sections for n in s.notes]
    if notes or row_notes or section_notes:
        out += ["", "notes:", *(f"  {n}" for n in notes), *row_notes, *section_notes]
    return "\n".join(out)
