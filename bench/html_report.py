"""``bench-report.html``: the bench's figures as charts, hand-written SVG.

No plotting dependency (matplotlib is not installed, and CI need not have
one): a chart is a few rectangles and polylines. Three charts:

- hit-path latency, near cache / Redis / echo floor: p50 and p99 at one
  call in flight and at the loaded concurrency (the load generator reports
  percentiles, not whole distributions, so these are the CDF's two points);
- the Zipf workload's near-cache hit ratio, per 1,000 reads;
- the stampede: loader calls for one cold key, naive code vs cachecar.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from bench.report import Row, Section

__all__ = ["write_report"]

_W, _H, _PAD = 640, 240, 48
_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


def _bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    top = max(values, default=0.0) or 1.0
    width = (_W - 2 * _PAD) / max(1, len(values))
    parts = [f'<text x="{_PAD}" y="20" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (_H - 2 * _PAD) * value / top
        x = _PAD + i * width + 4
        y = _H - _PAD - h
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width - 8:.1f}" height="{h:.1f}" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{x + (width - 8) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
            f"{value:,.0f} {html.escape(unit)}</text>"
        )
        parts.append(
            f'<text x="{x + (width - 8) / 2:.1f}" y="{_H - _PAD + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(label)}</text>'
        )
    return _svg(parts)


def _line(title: str, values: Sequence[float], ylabel: str) -> str:
    parts = [f'<text x="{_PAD}" y="20" font-weight="bold">{html.escape(title)}</text>']
    if values:
        step = (_W - 2 * _PAD) / max(1, len(values) - 1)
        points = " ".join(
            f"{_PAD + i * step:.1f},{_H - _PAD - (_H - 2 * _PAD) * v:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{_COLOURS[0]}"/>')
    for tick in (0.0, 0.5, 1.0):
        y = _H - _PAD - (_H - 2 * _PAD) * tick
        parts.append(f'<text x="4" y="{y:.1f}" font-size="11">{tick:.0%}</text>')
    parts.append(f'<text x="{_PAD}" y="{_H - 8}" font-size="11">{html.escape(ylabel)}</text>')
    return _svg(parts)


def _svg(parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'font-family="sans-serif" font-size="12">{body}</svg>'
    )


def _latency(rows: list[Row]) -> str:
    wanted = {"echo": "floor", "hit": "Redis hit", "near": "near hit"}
    labels, values = [], []
    for row in rows:
        if row.key not in wanted:
            continue
        for name, run in (("p50 seq", row.sequential), ("p99 loaded", row.loaded)):
            value = run.p50_us if name == "p50 seq" else run.p99_us
            if value is not None:
                labels.append(f"{wanted[row.key]} {name}")
                values.append(value)
    return _bars("GetOrLoad hit latency (µs)", labels, values, "µs") if values else ""


def _stampede(sections: list[Section]) -> str:
    for section in sections:
        if section.key == "stampede":
            labels = [f"{r[0][:22]} {r[1]}" for r in section.rows]
            values = [float(r[2].replace(",", "")) for r in section.rows]
            return _bars("stampede: loader calls for one cold key", labels, values, "")
    return ""


def write_report(
    path: Path, rows: list[Row], sections: list[Section], zipf: Sequence[float]
) -> Path:
    charts = [
        _latency(rows),
        _line("Zipf workload: near-cache hit ratio per 1,000 reads", zipf, "reads →")
        if zipf
        else "",
        _stampede(sections),
    ]
    body = "\n".join(f"<figure>{c}</figure>" for c in charts if c)
    path.write_text(
        "<!doctype html><meta charset=utf-8><title>cachecar bench</title>"
        f"<h1>cachecar bench</h1>\n{body}\n"
    )
    return path
