"""Reference row: the same 1 KB GET straight to Redis, from a Python asyncio client.

What an app would see talking to Redis itself with redis-py (hiredis parser)
at the same concurrency: ops/s and latency, plus redis-server's CPU per GET.
A Python client is slower than the Node one, so this row is bounded by the
client (its "gen cores" column shows it), not by Redis.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bench.measure import CpuWatch, Measured, percentile

__all__ = ["find_entry_key", "run_redis_get"]


async def find_entry_key(url: str, key_fragment: str, min_size: int) -> bytes:
    """The Redis key under which the sidecar stored a key (its layout stays its own)."""
    client = aioredis.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"*{key_fragment}*", count=1000):
            value = await client.get(key)
            if isinstance(value, bytes) and len(value) >= min_size:
                return bytes(key)
    finally:
        await client.aclose()
    raise LookupError(f"no Redis key with {key_fragment!r} holding >= {min_size} bytes")


async def run_redis_get(
    url: str,
    key: bytes,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    redis_pid: int,
) -> Measured:
    """GET ``key`` from ``concurrency`` tasks for ``warmup`` + ``duration`` seconds."""
    client = aioredis.Redis.from_url(url, max_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    in_window = False
    stopping = False

    async def worker() -> None:
        nonlocal errors, first_error
        while not stopping:
            began = time.perf_counter()
            try:
                await client.get(key)
            except RedisError as exc:
                if in_window:
                    errors += 1
                first_error = first_error or repr(exc)
                await asyncio.sleep(0.01)  # a down Redis must not become a spin
                continue
            if in_window:
                latencies.append((time.perf_counter() - began) * 1e6)

    cpu = CpuWatch({"redis": redis_pid})
    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup)
        in_window = True
        cpu.start()
        client_cpu, started = time.process_time(), time.perf_counter()
        await asyncio.sleep(duration)
        in_window = False
        cpu.stop()
        window = time.perf_counter() - started
        client_cores = (time.process_time() - client_cpu) / window
        stopping = True
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
    ordered = sorted(latencies)
    return Measured(
        concurrency=concurrency,
        window_s=window,
        calls=len(latencies),
        errors=errors,
        p50_us=percentile(ordered, 50),
        p99_us=percentile(ordered, 99),
        client_cores=client_cores,
        server_cpu_us=cpu.spent_us,
        first_error=first_error,
        machine_busy_us=cpu.machine_us,
    )
