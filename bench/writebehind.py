"""Write-behind and write-through under load: what reaches the app's database, and how fast.

One ``python -m sidecar serve`` on the bench's redis-server, and the app
(``bench.app_server``, its own process) as its WriterService, counting
``Write`` and ``WriteBatch`` calls and the rows written per key.

- **Write-behind**: 100,000 ``EnqueueWrite`` updates spread round-robin over
  1,000 keys, 32 in flight, into a namespace with the default write-behind
  settings (4 partitions, ``flush_interval`` 500 ms, ``batch_size`` 500 —
  which counts *distinct keys* per WriteBatch), then ``FlushWrites``. Reported:
  EnqueueWrite calls/s and p50/p99, the app's row-writes and WriteBatch
  calls, updates per row-write (target ≥ 50x), and the busiest key's writes
  per flush window elapsed (target ≤ 1). Every key's last written value is
  checked to be its last update.
- **Write-through**, in the same run: 2,000 ``WriteThrough`` calls at 32 in
  flight, each one ``Write`` to the app before the cache is updated.

The client is Python ``grpc.aio`` (one channel), not the Node.js load
generator: these runs are a fixed number of calls, not a fixed time, and
the client's CPU is reported beside the sidecar's so a client-bound run
shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.app_server import app_child, fetch_stats
from bench.measure import percentile
from bench.procs import cpu_us, sidecar_child
from bench.report import TARGETS, Section, num, verdict

__all__ = ["run_writes"]

UPDATES = 100_000
KEYS = 1_000
IN_FLIGHT = 32
WRITE_THROUGH_CALLS = 2_000
FLUSH_INTERVAL_MS = 500
BATCH_SIZE = 500

WB_NS = "orders"
WT_NS = "accounts"

CALL_TIMEOUT_S = 10.0
#: The longest the 100,000 updates may take (about 50 s at 2,000/s): bounded
#: even on a machine slowed to a crawl.
ENQUEUE_LIMIT_S = 300.0
FLUSH_TIMEOUT_S = 60.0
_NO_PROXY = [("grpc.enable_http_proxy", 0)]


def _key(i: int) -> str:
    return f"k{i % KEYS:04d}"


def _config(redis_url: str, writer: str) -> dict[str, Any]:
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            WB_NS: {
                "backend": "main",
                "writer": writer,
                # The defaults, spelled out: the report's windows are these.
                "write_behind": {
                    "flush_interval": f"{FLUSH_INTERVAL_MS}ms",
                    "batch_size": BATCH_SIZE,
                },
            },
            WT_NS: {"backend": "main", "writer": writer},
        },
    }


@dataclass
class _Run:
    """A fixed number of calls at a fixed concurrency."""

    calls: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    client_cores: float = 0.0
    sidecar_us: float = 0.0
    started: float = 0.0  # time.monotonic(), the app's clock too

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def p(self, pct: float) -> float | None:
        return percentile(sorted(self.latencies_ms), pct)

    @property
    def cpu_per_call(self) -> float | None:
        return self.sidecar_us / self.calls if self.calls else None


async def _drive(
    count: int, call: Callable[[int], Coroutine[Any, Any, Any]], sidecar_pid: int, limit_s: float
) -> _Run:
    """``count`` calls, ``IN_FLIGHT`` at a time; call ``i`` is made exactly once."""
    run = _Run(calls=count)
    indices = iter(range(count))  # shared: each worker takes the next index

    async def worker() -> None:
        for i in indices:
            began = time.perf_counter()
            try:
                await call(i)
            except grpc.aio.AioRpcError as exc:
                run.errors += 1
                run.first_error = run.first_error or f"{exc.code().name}: {exc.details()}"
                continue
            run.latencies_ms.append((time.perf_counter() - began) * 1000)

    sidecar_before, client_before = cpu_us(sidecar_pid), time.process_time()
    run.started = time.monotonic()
    began = time.perf_counter()
    async with asyncio.timeout(limit_s):  # awaited directly: see bench.stampede._paced
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    run.elapsed_s = time.perf_counter() - began
    run.sidecar_us = cpu_us(sidecar_pid) - sidecar_before
    run.client_cores = (time.process_time() - client_before) / run.elapsed_s
    return run


@dataclass(frozen=True)
class _Outcome:
    enqueue: _Run
    through: _Run
    #: From the first EnqueueWrite to the end of FlushWrites, in seconds.
    behind_s: float
    flush_reply: Any
    queue_after: Any
    wb_stats: dict[str, Any]
    wt_write_calls: int


async def _measure(sidecar: str, app: str, sidecar_pid: int) -> _Outcome:
    async with (
        grpc.aio.insecure_channel(sidecar, options=_NO_PROXY) as channel,
        grpc.aio.insecure_channel(app, options=_NO_PROXY) as app_channel,
    ):
        await asyncio.wait_for(channel.channel_ready(), timeout=10)
        cache = cache_pb2_grpc.CacheServiceStub(channel)

        def enqueue(i: int) -> Any:
            # The value is the update's number: the last one of each key is known.
            request = cache_pb2.EnqueueWriteRequest(
                namespace=WB_NS, key=_key(i), value=str(i).encode()
            )
            return cache.EnqueueWrite(request, timeout=CALL_TIMEOUT_S)

        def write_through(i: int) -> Any:
            request = cache_pb2.WriteThroughRequest(
                namespace=WT_NS, key=_key(i), value=str(i).encode()
            )
            return cache.WriteThrough(request, timeout=CALL_TIMEOUT_S)

        enqueued = await _drive(UPDATES, enqueue, sidecar_pid, ENQUEUE_LIMIT_S)
        flush_reply = await cache.FlushWrites(
            cache_pb2.FlushWritesRequest(namespace=WB_NS), timeout=FLUSH_TIMEOUT_S
        )
        behind_s = time.monotonic() - enqueued.started
        queue_after = await cache.GetWriteQueue(
            cache_pb2.GetWriteQueueRequest(namespace=WB_NS), timeout=CALL_TIMEOUT_S
        )
        wb_stats = await fetch_stats(app_channel)
        # Write-through after the queue is empty, so no flush competes with it.
        through = await _drive(WRITE_THROUGH_CALLS, write_through, sidecar_pid, ENQUEUE_LIMIT_S)
        wt_stats = await fetch_stats(app_channel)
    return _Outcome(
        enqueued,
        through,
        behind_s,
        flush_reply,
        queue_after,
        wb_stats,
        int(wt_stats["write_calls"]) - int(wb_stats["write_calls"]),
    )


def run_writes(redis_url: str, workdir: Path) -> Section:
    """100,000 EnqueueWrite over 1,000 keys then FlushWrites; 2,000 WriteThrough."""
    with app_child("writes-app", logdir=workdir) as app:
        config = workdir / "writes.yaml"
        config.write_text(yaml.safe_dump(_config(redis_url, app.address)))
        with sidecar_child("writes-sidecar", config, logdir=workdir) as sidecar:
            out = asyncio.run(_measure(sidecar.address, app.address, sidecar.pid))
    return _section(out)


def _section(out: _Outcome) -> Section:
    enq, wt, stats = out.enqueue, out.through, out.wb_stats
    # Read before the write-through phase: every row here is write-behind's.
    rows_per_key: dict[str, int] = {k: int(v) for k, v in stats["rows"].items()}
    wb_rows = sum(rows_per_key.values())
    batches = int(stats["write_batch_calls"])
    windows = out.behind_s / (FLUSH_INTERVAL_MS / 1000)
    busiest = max(rows_per_key.values(), default=0)
    per_window = busiest / windows if windows > 0 else None
    ratio = UPDATES / wb_rows if wb_rows else None
    expected = {_key(i): str(i) for i in range(UPDATES - KEYS, UPDATES)}
    last_values = stats["last_value"]
    right = sum(last_values.get(k) == v for k, v in expected.items())
    wt_rows = len(wt.latencies_ms)

    table = (
        (
            "EnqueueWrite (write-behind)",
            f"{UPDATES:,}",
            num(enq.rate),
            num(enq.p(50), ".2f"),
            num(enq.p(99), ".2f"),
            num(enq.cpu_per_call),
            num(enq.client_cores, ".2f"),
            f"{wb_rows:,}",
            f"{batches:,} WriteBatch",
            num(ratio, ".1f") + "x",
            str(enq.errors),
        ),
        (
            "WriteThrough",
            f"{WRITE_THROUGH_CALLS:,}",
            num(wt.rate),
            num(wt.p(50), ".2f"),
            num(wt.p(99), ".2f"),
            num(wt.cpu_per_call),
            num(wt.client_cores, ".2f"),
            f"{out.wt_write_calls:,}",
            f"{out.wt_write_calls:,} Write",
            num(wt_rows / out.wt_write_calls if out.wt_write_calls else None, ".1f") + "x",
            str(wt.errors),
        ),
    )
    ok_ratio = None if ratio is None else ratio >= TARGETS.wb_updates_per_write
    ok_window = None if per_window is None else per_window <= TARGETS.wb_writes_per_key_window
    interval_s = FLUSH_INTERVAL_MS / 1000
    per_key_window = enq.rate * interval_s / KEYS
    targets = (
        f"write-behind ≥ {TARGETS.wb_updates_per_write:g} updates per database write: "
        f"{UPDATES:,} updates → {wb_rows:,} row-writes in {batches:,} WriteBatch calls = "
        f"{num(ratio, '.1f')}x  → {verdict(ok_ratio)}",
        f"write-behind ≤ {TARGETS.wb_writes_per_key_window:g} write per key per flush window: "
        f"busiest key written {busiest} times in {windows:.1f} windows of {FLUSH_INTERVAL_MS} ms "
        f"= {num(per_window, '.2f')}  → {verdict(ok_window)}",
    )
    sizes = f"{wb_rows / batches:.0f}" if batches else "—"
    notes = [
        f"Python grpc.aio client, one channel, {IN_FLIGHT} in flight, a fixed number of calls "
        f"(not the Node.js loadgen); keys k0000..k{KEYS - 1:04d} round-robin; sidecar CPU is "
        "the whole process's over the run, the write-behind flusher included",
        f"coalescing merges the updates of a key that land in one flush window: at "
        f"{num(enq.rate)} EnqueueWrite/s over {KEYS:,} keys that is {per_key_window:.2f} "
        f"updates per key per {FLUSH_INTERVAL_MS} ms window, which bounds updates per "
        f"row-write near max(1, {per_key_window:.2f}); {TARGETS.wb_updates_per_write:g}x needs "
        f"{TARGETS.wb_updates_per_write:g} updates per key per window "
        f"({TARGETS.wb_updates_per_write * KEYS / interval_s:,.0f} updates/s over {KEYS:,} keys "
        f"at {FLUSH_INTERVAL_MS} ms, or a flush_interval near "
        f"{TARGETS.wb_updates_per_write * KEYS / max(enq.rate, 1):.0f} s at this rate)",
        f"{out.behind_s:.1f} s from the first EnqueueWrite to the end of FlushWrites "
        f"(flushed {out.flush_reply.flushed_count:,} on the call, "
        f"{out.flush_reply.pending_count} left pending); after it: "
        f"{out.queue_after.pending_count} pending, {out.queue_after.dead_letter_count} "
        f"dead-lettered; {sizes} rows per WriteBatch on average; every key's last written "
        f"value is its last update: {right:,}/{KEYS:,}",
    ]
    for label, run in (("EnqueueWrite", enq), ("WriteThrough", wt)):
        if run.errors:
            notes.append(f"{label}: {run.errors} errors (first: {run.first_error})")
    return Section(
        "writebehind",
        f"write-behind: {UPDATES:,} updates over {KEYS:,} keys, then FlushWrites; "
        f"write-through: {WRITE_THROUGH_CALLS:,} calls ({IN_FLIGHT} in flight)",
        (
            "path",
            "calls",
            "calls/s",
            "p50 ms",
            "p99 ms",
            "sidecar CPU µs/call",
            "client cores",
            "app row-writes",
            "app calls",
            "calls per row-write",
            "errors",
        ),
        table,
        targets,
        tuple(notes),
    )
