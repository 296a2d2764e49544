"""The soak's time series: every interval, the calls and the sidecar's process.

A sidecar that exited ends the run.
"""

from __future__ import annotations

import asyncio

from bench.procs import cpu_us
from bench.soak_proc import ProcSample, sample_process
from bench.soak_state import MAX_SECONDS, Soak
from bench.soak_stats import Row

__all__ = ["run_sampler", "sample"]


def _roles(soak: Soak) -> dict[int, str]:
    loader, writer = soak.app.address.split()
    return {
        soak.redis.port: "redis",
        soak.memcached.port: "memcached",
        int(loader.rpartition(":")[2]): "loader",
        int(writer.rpartition(":")[2]): "writer",
    }


def sample(soak: Soak) -> ProcSample:
    listen_port = int(soak.sidecar.address.rpartition(":")[2])
    return sample_process(soak.sidecar.pid, _roles(soak), listen_port)


def _faults_between(soak: Soak, start: float, end: float) -> str:
    return ", ".join(
        f.label for f in soak.faults if f.started < end and (f.ended is None or f.ended >= start)
    )


async def run_sampler(soak: Soak, interval: float) -> None:
    last = soak.elapsed
    last_cpu = cpu_us(soak.sidecar.pid)
    for _ in range(int(MAX_SECONDS / interval) + 10):
        await asyncio.sleep(interval)
        now = soak.elapsed
        code = soak.sidecar.proc.poll() if soak.sidecar.proc else None
        if code is not None:
            soak.crashed = f"the sidecar exited with code {code} at t={now:.0f} s"
            soak.stop.set()
            return
        requests, errors, latency = soak.calls.take_interval()
        cpu = cpu_us(soak.sidecar.pid)
        row = Row(
            now,
            requests,
            now - last,
            errors,
            latency.percentile(50),
            latency.percentile(99),
            sample(soak),
            _faults_between(soak, last, now),
            (cpu - last_cpu) / (now - last) / 1e4,
        )
        soak.rows.append(row)
        print("  " + " | ".join(row.cells()), flush=True)
        last, last_cpu = now, cpu
        if now >= soak.seconds or soak.stop.is_set():
            return
