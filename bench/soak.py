"""Soak: every pattern at once for minutes, with faults injected, watching for growth.

    make soak                                  # 300 s
    .venv/bin/python -m bench.soak --seconds 120   # or SOAK_SECONDS=120

Loopback only, bounded in time, not part of CI. It starts, each as its own
process: a private redis-server (AOF on, ``appendfsync always``, so queued
write-behind writes survive a kill), a memcached, the app
(``bench.soak_app``: a LoaderService and a WriterService that counts what it
receives, with fault knobs) and ``python -m sidecar serve`` with Redis and
Memcached namespaces for cache-aside, write-through, write-behind (+ a
durable pub/sub channel), sessions and leaderboards.

``WORKERS`` tasks on ``CHANNELS`` client channels mix GetOrLoad (hot, cold and
missing keys), GetOrLoadMany, Set, Invalidate, WriteThrough, EnqueueWrite
(per-key increasing sequence numbers, each key owned by one worker),
sessions (create/get/touch/update/delete), leaderboards and counters, and
Publish; long-lived Subscribe streams count what they receive. Faults, at
fixed fractions of the run: Redis SIGSTOP 3 s, the loader failing 5 s, Redis
SIGKILL + restart on the same port, Memcached SIGKILL + restart, the writer
down 5 s. The last quarter is quiet, to see everything recover.

Every interval it samples requests, errors by code, p50/p99, and the
sidecar's RSS, threads, open fds and TCP connections (``/proc``). At the end
it drains the write-behind queue and checks that every key's last
acknowledged EnqueueWrite is the last row the writer received for it, then
prints the report (also written to ``.cache/soak-report.md``).

Exit status: 0; 1 if an acknowledged write was lost or the sidecar died; 2
if the soak could not run; 130 when interrupted. Timings never fail it:
growth is reported as ratios (end of run over the end of warm-up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.procs import REPO, ChildFailed, sidecar_child
from bench.soak_app import STATS_METHOD, fetch_json, soak_app_child
from bench.soak_faults import Faults
from bench.soak_report import log_summary, render_report
from bench.soak_sampler import run_sampler, sample
from bench.soak_state import (
    CHANNELS,
    CHAT,
    DURABLE,
    MAX_SECONDS,
    NS_ORDERS,
    SETTLE_S,
    WORKERS,
    Soak,
    sidecar_config,
)
from bench.soak_stats import ROW_HEADER, Subscriber
from bench.soak_workload import Workload, subscribe
from sidecar.devmode import MemcachedServer, RedisServer, ServerStartError

__all__ = ["main"]

DEFAULT_SECONDS = 300.0
DRAIN_LIMIT_S = 60.0
REPORT = REPO / ".cache" / "soak-report.md"
LOGDIR = REPO / ".cache" / "soak"
_NO_PROXY = [("grpc.enable_http_proxy", 0)]


async def _drain(soak: Soak, channel: grpc.aio.Channel) -> dict[str, Any]:
    """FlushWrites until the write-behind queue is empty, at most DRAIN_LIMIT_S."""
    cache = cache_pb2_grpc.CacheServiceStub(channel)
    began = time.monotonic()
    queue: Any = None
    while time.monotonic() - began < DRAIN_LIMIT_S:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace=NS_ORDERS), timeout=15)
        with contextlib.suppress(grpc.aio.AioRpcError):
            queue = await cache.GetWriteQueue(
                cache_pb2.GetWriteQueueRequest(namespace=NS_ORDERS), timeout=5
            )
            if queue.pending_count == 0 and queue.in_flight_count == 0:
                break
        await asyncio.sleep(0.5)
    return {
        "drained_in_s": time.monotonic() - began,
        "pending": None if queue is None else queue.pending_count,
        "in_flight": None if queue is None else queue.in_flight_count,
        "dead_letters": None if queue is None else queue.dead_letter_count,
    }


async def _run(soak: Soak) -> dict[str, Any]:
    options = _NO_PROXY
    address = soak.sidecar.address
    channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(CHANNELS)]
    sub_channel = grpc.aio.insecure_channel(address, options=options)
    app_channel = grpc.aio.insecure_channel(soak.app.address.split()[0], options=options)
    tasks: list[asyncio.Task[None]] = []
    try:
        for ch in [*channels, sub_channel, app_channel]:
            await asyncio.wait_for(ch.channel_ready(), timeout=10)
        soak.started = time.monotonic()
        soak.subscribers = [
            Subscriber(f"{ch}-{i}", ch, ch == DURABLE) for ch in (DURABLE, CHAT) for i in range(2)
        ]
        subs = [asyncio.create_task(subscribe(soak, sub_channel, s)) for s in soak.subscribers]
        tasks += subs
        interval = max(2.0, soak.seconds / 30)
        print("  " + " | ".join(ROW_HEADER), flush=True)
        sampler = asyncio.create_task(run_sampler(soak, interval))
        faults = asyncio.create_task(Faults(soak, app_channel).run())
        tasks += [sampler, faults]
        until = soak.started + soak.seconds
        workers = [Workload(soak, i, channels[i % CHANNELS]).run(until) for i in range(WORKERS)]
        # Each call is bounded by CALL_TIMEOUT_S, so the workers end soon after `until`.
        async with asyncio.timeout(soak.seconds + 60):
            await asyncio.gather(*workers)
        soak.stop.set()
        faults.cancel()
        await asyncio.wait({sampler}, timeout=interval + 5)
        print("  workload done; draining the write-behind queue", flush=True)
        drain = {} if soak.crashed else await _drain(soak, channels[0])
        await asyncio.sleep(SETTLE_S)  # late deliveries to subscribers, idle connections
        end_sample = (
            sample(soak) if soak.sidecar.proc and soak.sidecar.proc.poll() is None else None
        )
        app_stats = await fetch_json(app_channel, STATS_METHOD)
        return {"drain": drain, "app": app_stats, "end_sample": end_sample}
    finally:
        soak.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ch in [*channels, sub_channel, app_channel]:
            await ch.close()


def _seconds(argv: list[str] | None) -> float:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    env = os.environ.get("SOAK_SECONDS")
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(env) if env else DEFAULT_SECONDS,
        help=f"how long the workload runs (default {DEFAULT_SECONDS:g}, or $SOAK_SECONDS)",
    )
    args = parser.parse_args(argv)
    seconds: float = args.seconds
    if not 10 <= seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 10 and {MAX_SECONDS:g}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    seconds = _seconds(argv)
    try:
        return _main(seconds)
    except KeyboardInterrupt:  # while starting or stopping: the children are stopped already
        print("soak: interrupted", file=sys.stderr)
        return 130


def _main(seconds: float) -> int:
    LOGDIR.mkdir(parents=True, exist_ok=True)
    procs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soak-procs")
    with contextlib.ExitStack() as stack:
        stack.callback(procs.shutdown, wait=True)
        try:
            redis = stack.enter_context(
                RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"])
            )
            memcached = stack.enter_context(MemcachedServer())
            app = stack.enter_context(soak_app_child(logdir=LOGDIR))
            loader, writer = app.address.split()
            config = LOGDIR / "cachecar.yaml"
            config.write_text(
                yaml.safe_dump(sidecar_config(redis.url, memcached.url, loader, writer))
            )
            sidecar = sidecar_child("sidecar", config, logdir=LOGDIR)
            stack.callback(sidecar.stop)
            sidecar.start()
        except (ChildFailed, ServerStartError, OSError) as exc:
            print(f"soak: could not start: {exc}", file=sys.stderr)
            return 2
        print(
            f"soak: {seconds:g} s; sidecar pid {sidecar.pid} on {sidecar.address}, "
            f"redis {redis.url}, memcached {memcached.url}, app {app.address}; logs in {LOGDIR}",
            flush=True,
        )
        soak = Soak(seconds, redis, memcached, app, sidecar, procs)
        try:
            result = asyncio.run(_run(soak))
        except KeyboardInterrupt:
            print("soak: interrupted; stopping every child", file=sys.stderr)
            return 130
        except (grpc.aio.AioRpcError, TimeoutError, OSError) as exc:
            soak.crashed = soak.crashed or f"the run failed: {exc!r}"
            result = {}
        exit_code = sidecar.stop(timeout=30)
        text, ok = render_report(soak, result, exit_code, log_summary(sidecar))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print()
    print(text)
    print(f"(written to {REPORT.relative_to(REPO)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
