"""What one metric update costs in prometheus_client's two modes (``python -m bench.metrics_mode``).

``workers: N`` runs every worker with ``PROMETHEUS_MULTIPROC_DIR`` set (one
/metrics for the pod, sidecar/telemetry/multiprocess.py): a counter
increment or a histogram observation then writes to a memory-mapped file. The
mode is fixed when prometheus_client is imported, so each mode runs in its own
child process, alternately, and the best of five rounds of 200,000 updates is
printed. A GetOrLoad hit makes two increments and two observations; the
hit-path table's row g measures the whole RPC.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

ROUNDS, UPDATES = 5, 200_000


def _child() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: PLC0415

    registry = CollectorRegistry()
    counter = Counter("c", "c", ["ns"], registry=registry).labels("items")
    histogram = Histogram("h_seconds", "h", ["ns"], registry=registry).labels("items")
    best = {"inc": float("inf"), "observe": float("inf")}
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(UPDATES):
            counter.inc()
        best["inc"] = min(best["inc"], (time.perf_counter() - start) / UPDATES)
        start = time.perf_counter()
        for _ in range(UPDATES):
            histogram.observe(0.0003)
        best["observe"] = min(best["observe"], (time.perf_counter() - start) / UPDATES)
    print(f"{best['inc'] * 1e9:.0f} {best['observe'] * 1e9:.0f}")


def main() -> int:
    results: dict[str, list[tuple[float, float]]] = {"in-memory": [], "multiprocess": []}
    for _ in range(2):
        for mode, runs in results.items():
            with tempfile.TemporaryDirectory() as directory:
                env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
                if mode == "multiprocess":
                    env["PROMETHEUS_MULTIPROC_DIR"] = directory
                out = subprocess.run(
                    [sys.executable, "-m", "bench.metrics_mode", "--child"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=True,
                ).stdout.split()
            runs.append((float(out[0]), float(out[1])))
    header = "| metrics mode | counter inc (ns) | histogram observe (ns) | per hit (µs) |"
    print(header)
    print("|---|---|---|---|")
    for mode, runs in results.items():
        inc, observe = min(r[0] for r in runs), min(r[1] for r in runs)
        # A hit: two increments and two observations.
        print(f"| {mode} | {inc:.0f} | {observe:.0f} | {2 * (inc + observe) / 1000:.1f} |")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
        sys.exit(0)
    sys.exit(main())
