"""``cachecar top``: a live terminal view of a running sidecar, from its /metrics.

For ``kubectl exec -it POD -c cachecar -- cachecar top`` and for local
development. Every second it scrapes the metrics endpoint (each worker's,
with ``--workers N``: ports port … port+N-1, summed) and redraws, with rich,
calls/s, errors/s and p50/p99 latency per method, reads, hit ratio, loads and
write-behind backlog per cache namespace, and each backend's health, breaker
and command latency. ``q`` or Ctrl-C quits. ``--once`` prints one frame (over
one interval) and exits: 0, or 1 if no target answered.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import sys
import termios
import time
import tty
from collections.abc import Iterator
from urllib.parse import urlsplit

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sidecar.ops.topview import Row, Snapshot, View, scrape, view

__all__ = ["render", "run", "targets"]

DEFAULT_TARGET = "127.0.0.1:9464"


def targets(target: str, workers: int) -> list[str]:
    """Metrics URLs: ``host:port`` or a URL, and the next ``workers - 1`` ports."""
    if workers < 1:
        raise ValueError(f"--workers must be 1 or more, not {workers}")
    url = target if "://" in target else f"http://{target}"
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"--target {target!r}: give host:port or http://host:port/metrics")
    path = parts.path or "/metrics"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return [f"{parts.scheme}://{host}:{parts.port + i}{path}" for i in range(workers)]


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "s":
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"
    if kind == "%":
        return f"{value * 100:.1f} %"
    if kind == "bool":
        return "yes" if value else "no"
    return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"


_KINDS = {
    "p50": "s",
    "p99": "s",
    "hit ratio": "%",
    "wb oldest": "s",
    "up": "bool",
    "breaker open": "bool",
}


def _table(title: str, first: str, rows: list[Row]) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column(first)
    columns = list(rows[0].figures) if rows else []
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        cells = [_fmt(row.figures[c], _KINDS.get(c, "")) for c in columns]
        style = "red" if row.figures.get("breaker open") or row.figures.get("up") == 0 else None
        table.add_row(row.name, *cells, style=style)
    if not rows:
        table.add_row("(none yet)")
    return table


def render(frame: View, urls: list[str]) -> RenderableType:
    where = urls[0] if len(urls) == 1 else f"{urls[0]} +{len(urls) - 1} workers"
    span = f"last {frame.interval:.1f}s" if frame.interval else "since start"
    summary = Text.assemble(
        ("cachecar top ", "bold"),
        f"{where}  ({span})\n",
        ("calls/s ", "bold"),
        _fmt(frame.calls, ""),
        ("   errors/s ", "bold"),
        (_fmt(frame.errors, ""), "red" if frame.errors else ""),
        ("   p50 ", "bold"),
        _fmt(frame.p50, "s"),
        ("   p99 ", "bold"),
        _fmt(frame.p99, "s"),
        ("   loads in flight ", "bold"),
        _fmt(frame.loads_in_flight, ""),
    )
    parts: list[RenderableType] = [summary]
    parts += [Text(problem, style="bold red") for problem in frame.problems]
    parts += [
        _table("Methods", "method", frame.methods),
        _table("Cache namespaces", "namespace", frame.namespaces),
        _table("Backends", "backend", frame.backends),
        Text("q or Ctrl-C quits", style="dim"),
    ]
    return Group(*parts)


@contextlib.contextmanager
def _keys() -> Iterator[bool]:
    """cbreak mode while running on a terminal, so ``q`` works without Enter."""
    if not sys.stdin.isatty():
        yield False
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _wait_for_quit(seconds: float, keys: bool) -> bool:
    if not keys:
        time.sleep(seconds)
        return False
    ready, _, _ = select.select([sys.stdin], [], [], seconds)
    return bool(ready) and sys.stdin.read(1).lower() == "q"


def _once(urls: list[str], interval: float, console: Console) -> int:
    first = scrape(urls)
    time.sleep(interval)
    second = scrape(urls)
    if len(second.errors) == len(urls):
        print(f"cachecar top: {'; '.join(second.errors)}", file=sys.stderr)
        return 1
    console.print(render(view(second, first), urls))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        print("cachecar top: --interval must be above 0 seconds", file=sys.stderr)
        return 2
    try:
        urls = targets(args.target, args.workers)
    except ValueError as exc:
        print(f"cachecar top: {exc}", file=sys.stderr)
        return 2
    console = Console()
    if args.once:
        return _once(urls, args.interval, console)
    before: Snapshot | None = None
    with _keys() as keys, Live(console=console, auto_refresh=False, screen=False) as live:
        while True:
            now = scrape(urls)
            live.update(render(view(now, before), urls), refresh=True)
            before = now
            if _wait_for_quit(args.interval, keys):
                return 0
