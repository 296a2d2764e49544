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
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import yaml
from cachecar.v1 import (
    cache_pb2,
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from google.protobuf import duration_pb2

from bench.procs import REPO, Child, ChildFailed, cpu_us, sidecar_child
from bench.soak_app import FAULT_METHOD, STATS_METHOD, fetch_json, soak_app_child
from bench.soak_proc import ProcSample, sample_process
from bench.soak_stats import (
    ROW_HEADER,
    Calls,
    Row,
    Subscriber,
    WriteLedger,
    error_reason,
    markdown_table,
    ms,
)
from sidecar.devmode import MemcachedServer, RedisServer, ServerStartError

__all__ = ["main"]

T = TypeVar("T")

DEFAULT_SECONDS = 300.0
MAX_SECONDS = 24 * 3600.0
WORKERS = 32
CHANNELS = 4
CALL_TIMEOUT_S = 5.0
#: Growth is measured from the first sample at this fraction of the run.
WARMUP_FRACTION = 0.2
HOT_KEYS = 200
WB_KEYS_PER_WORKER = 8
#: The most operations one worker runs, whatever the clock says.
MAX_OPS_PER_WORKER = 10_000_000
SUBSCRIBE_REOPENS = 500
DRAIN_LIMIT_S = 60.0
#: Peers' idle connections and late deliveries settle for this long at the end.
SETTLE_S = 3.0
#: Growth "after the faults" is measured from this long after the last one ended.
RECOVERY_S = 10.0
REPORT = REPO / ".cache" / "soak-report.md"
LOGDIR = REPO / ".cache" / "soak"
_NO_PROXY = [("grpc.enable_http_proxy", 0)]
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}

NS_REDIS = "products"
NS_MC = "products-mc"
NS_ORDERS = "orders"
NS_SESSIONS = "sessions"
NS_SESSIONS_MC = "sessions-mc"
NS_BOARDS = "boards"
DURABLE = "events"
CHAT = "chat"


def _config(redis: str, memcached: str, loader: str, writer: str) -> dict[str, Any]:
    app = {"loader": loader, "writer": writer, "loader_timeout": "2s", "writer_timeout": "2s"}
    cache = {"ttl": "20s", "grace": "60s", "negative_ttl": "5s", **app}
    return {
        "listen": "127.0.0.1:0",
        "backends": {"redis": redis, "memcached": memcached},
        "namespaces": {
            NS_REDIS: {"backend": "redis", **cache},
            NS_MC: {"backend": "memcached", **cache},
            NS_ORDERS: {
                "backend": "redis",
                "writer": writer,
                "write_behind": {
                    "flush_interval": "200ms",
                    "retry_backoff": "100ms",
                    "max_backoff": "2s",
                },
                "channels": {"durable": [DURABLE]},
            },
            NS_SESSIONS: {"backend": "redis", "ttl": "2m", "session_max_lifetime": "10m"},
            NS_SESSIONS_MC: {"backend": "memcached", "ttl": "2m"},
            NS_BOARDS: {"backend": "redis", "boards": {"daily": {"window": "daily"}}},
        },
    }


@dataclass
class Fault:
    label: str
    started: float
    ended: float | None = None
    note: str = ""


@dataclass
class Soak:
    """One run: the processes, the clients and everything recorded."""

    seconds: float
    redis: RedisServer
    memcached: MemcachedServer
    app: Child
    sidecar: Child
    procs: ThreadPoolExecutor
    calls: Calls = field(default_factory=Calls)
    writes: WriteLedger = field(default_factory=WriteLedger)
    subscribers: list[Subscriber] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    published: Counter[str] = field(default_factory=Counter)
    #: (monotonic time the Publish started, message id) of acknowledged durable publishes.
    durable_published: list[tuple[float, str]] = field(default_factory=list)
    cold_counter: int = 0
    wt_counter: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = 0.0
    crashed: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def call(self, method: str, call: Awaitable[T]) -> T | None:
        began = time.perf_counter()
        try:
            result = await call
        except grpc.aio.AioRpcError as exc:
            self.calls.failed(method, exc.code().name, error_reason(exc))
            return None
        self.calls.ok(method, (time.perf_counter() - began) * 1000)
        return result


class Workload:
    """One worker's stubs, random source and write-behind keys."""

    def __init__(self, soak: Soak, index: int, channel: grpc.aio.Channel) -> None:
        self.soak = soak
        self.index = index
        self.rng = random.Random(index)  # noqa: S311  (reproducible load, not secrets)
        self.cache = cache_pb2_grpc.CacheServiceStub(channel)
        self.sessions = session_pb2_grpc.SessionServiceStub(channel)
        self.boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        self.pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)
        self.wb_keys = [f"w{index:02d}-{j}" for j in range(WB_KEYS_PER_WORKER)]
        #: Members this worker put on the daily board (GetRank asks for one).
        self.daily_members: list[str] = []
        ops: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.get_hot, 30),
            (self.get_cold, 6),
            (self.get_many, 5),
            (self.set_value, 4),
            (self.invalidate, 3),
            (self.write_through, 4),
            (self.enqueue, 14),
            (self.session, 4),
            (self.board, 8),
            (self.publish, 6),
        ]
        self.ops = [op for op, _ in ops]
        self.weights = [w for _, w in ops]

    async def run(self, until: float) -> None:
        for _ in range(MAX_OPS_PER_WORKER):
            if self.soak.stop.is_set() or time.monotonic() >= until:
                return
            op = self.rng.choices(self.ops, self.weights)[0]
            await op()

    # -- cache-aside and plain cache -------------------------------------------

    def _ns(self) -> str:
        return NS_REDIS if self.rng.random() < 0.6 else NS_MC

    def _hot(self) -> str:
        return f"hot-{int(self.rng.paretovariate(1.2)) % HOT_KEYS}"

    async def get_hot(self) -> None:
        request = cache_pb2.GetOrLoadRequest(namespace=self._ns(), key=self._hot())
        await self.soak.call("GetOrLoad", self.cache.GetOrLoad(request, timeout=CALL_TIMEOUT_S))

    async def get_cold(self) -> None:
        self.soak.cold_counter += 1
        key = (
            f"missing-{self.rng.randrange(50)}"
            if self.rng.random() < 0.2
            else f"cold-{self.soak.cold_counter}"
        )
        request = cache_pb2.GetOrLoadRequest(namespace=self._ns(), key=key)
        await self.soak.call("GetOrLoad", self.cache.GetOrLoad(request, timeout=CALL_TIMEOUT_S))

    async def get_many(self) -> None:
        self.soak.cold_counter += 2
        keys = [self._hot() for _ in range(8)]
        keys += [f"cold-{self.soak.cold_counter - 1}", f"cold-{self.soak.cold_counter}"]
        request = cache_pb2.GetOrLoadManyRequest(namespace=self._ns(), keys=keys)
        reply = await self.soak.call(
            "GetOrLoadMany", self.cache.GetOrLoadMany(request, timeout=CALL_TIMEOUT_S)
        )
        for result in reply.results if reply is not None else ():
            if result.error.code:
                code = _CODE_NAMES.get(result.error.code, str(result.error.code))
                self.soak.calls.errors[("GetOrLoadMany[key]", code, result.error.reason)] += 1

    async def set_value(self) -> None:
        request = cache_pb2.SetRequest(
            namespace=self._ns(),
            key=self._hot(),
            value=b"set:" + os.urandom(16).hex().encode(),
            ttl=duration_pb2.Duration(seconds=20),
        )
        await self.soak.call("Set", self.cache.Set(request, timeout=CALL_TIMEOUT_S))

    async def invalidate(self) -> None:
        keys = [self._hot() for _ in range(self.rng.randint(1, 3))]
        request = cache_pb2.InvalidateRequest(namespace=self._ns(), keys=keys)
        await self.soak.call("Invalidate", self.cache.Invalidate(request, timeout=CALL_TIMEOUT_S))

    # -- writes ------------------------------------------------------------------

    async def write_through(self) -> None:
        self.soak.wt_counter += 1
        request = cache_pb2.WriteThroughRequest(
            namespace=self._ns(), key=self._hot(), value=f"wt:{self.soak.wt_counter}".encode()
        )
        await self.soak.call(
            "WriteThrough", self.cache.WriteThrough(request, timeout=CALL_TIMEOUT_S)
        )

    async def enqueue(self) -> None:
        key = self.rng.choice(self.wb_keys)
        seq = self.soak.writes.take(key)
        request = cache_pb2.EnqueueWriteRequest(
            namespace=NS_ORDERS, key=key, value=str(seq).encode()
        )
        reply = await self.soak.call(
            "EnqueueWrite", self.cache.EnqueueWrite(request, timeout=CALL_TIMEOUT_S)
        )
        if reply is None:
            self.soak.writes.not_acknowledged(key, seq)
        else:
            self.soak.writes.acknowledged(key, seq)

    # -- sessions, leaderboards, pub/sub -------------------------------------------

    async def session(self) -> None:
        ns = NS_SESSIONS if self.rng.random() < 0.7 else NS_SESSIONS_MC
        s, call = self.sessions, self.soak.call
        created = await call(
            "CreateSession",
            s.CreateSession(
                session_pb2.CreateSessionRequest(
                    namespace=ns,
                    subject=f"user-{self.rng.randrange(500)}",
                    data={"cart": os.urandom(32)},
                ),
                timeout=CALL_TIMEOUT_S,
            ),
        )
        if created is None:
            return
        sid = created.session_id
        await call(
            "GetSession",
            s.GetSession(
                session_pb2.GetSessionRequest(namespace=ns, session_id=sid), timeout=CALL_TIMEOUT_S
            ),
        )
        await call(
            "TouchSession",
            s.TouchSession(
                session_pb2.TouchSessionRequest(namespace=ns, session_id=sid),
                timeout=CALL_TIMEOUT_S,
            ),
        )
        if self.rng.random() < 0.5:
            await call(
                "UpdateSession",
                s.UpdateSession(
                    session_pb2.UpdateSessionRequest(
                        namespace=ns, session_id=sid, set_fields={"step": b"2"}
                    ),
                    timeout=CALL_TIMEOUT_S,
                ),
            )
        if self.rng.random() < 0.8:
            await call(
                "DeleteSession",
                s.DeleteSession(
                    session_pb2.DeleteSessionRequest(namespace=ns, session_id=sid),
                    timeout=CALL_TIMEOUT_S,
                ),
            )

    async def board(self) -> None:
        b, call, pick = self.boards, self.soak.call, self.rng.random()
        member = f"player-{self.rng.randrange(1000)}"
        if pick < 0.45:
            board, mode = (
                ("global", leaderboard_pb2.SCORE_MODE_INCREMENT)
                if self.rng.random() < 0.5
                else ("daily", leaderboard_pb2.SCORE_MODE_KEEP_GREATER)
            )
            request = leaderboard_pb2.AddScoreRequest(
                namespace=NS_BOARDS,
                board=board,
                member=member,
                score=self.rng.randrange(1, 1000),
                mode=mode,
            )
            if await call("AddScore", b.AddScore(request, timeout=CALL_TIMEOUT_S)) and (
                board == "daily"
            ):
                self.daily_members = [*self.daily_members[-49:], member]
        elif pick < 0.65:
            top = leaderboard_pb2.GetTopRequest(namespace=NS_BOARDS, board="global", limit=10)
            await call("GetTop", b.GetTop(top, timeout=CALL_TIMEOUT_S))
        elif pick < 0.75 and self.daily_members:
            member = self.rng.choice(self.daily_members)
            rank = leaderboard_pb2.GetRankRequest(namespace=NS_BOARDS, board="daily", member=member)
            await call("GetRank", b.GetRank(rank, timeout=CALL_TIMEOUT_S))
        else:
            counter = leaderboard_pb2.IncrementCounterRequest(
                namespace=NS_BOARDS,
                counter=f"rate-{self.rng.randrange(50)}",
                delta=1,
                window=duration_pb2.Duration(seconds=10),
            )
            await call("IncrementCounter", b.IncrementCounter(counter, timeout=CALL_TIMEOUT_S))

    async def publish(self) -> None:
        channel = DURABLE if self.rng.random() < 0.5 else CHAT
        began = time.monotonic()
        request = pubsub_pb2.PublishRequest(
            namespace=NS_ORDERS, channel=channel, payload=os.urandom(24)
        )
        reply = await self.soak.call(
            "Publish", self.pubsub.Publish(request, timeout=CALL_TIMEOUT_S)
        )
        if reply is not None:
            self.soak.published[channel] += 1
            if channel == DURABLE:
                self.soak.durable_published.append((began, reply.message_id))


async def _subscribe(soak: Soak, channel: grpc.aio.Channel, sub: Subscriber) -> None:
    """Keep one Subscribe stream open until cancelled, reopening (resuming) when it ends."""
    stub = pubsub_pb2_grpc.PubSubServiceStub(channel)
    for _ in range(SUBSCRIBE_REOPENS):
        request = pubsub_pb2.SubscribeRequest(
            namespace=NS_ORDERS,
            channels=[sub.channel],
            start_position=pubsub_pb2.START_POSITION_LATEST,
        )
        if sub.durable and sub.last_id:
            request.resume_ids[sub.channel] = sub.last_id
        stream = stub.Subscribe(request)
        try:
            async for event in stream:
                kind = event.WhichOneof("event")
                if kind == "subscribed" and sub.confirmed_at is None:
                    sub.confirmed_at = time.monotonic()
                elif kind == "message":
                    sub.message(event.message.message_id)
                elif kind == "missed":
                    sub.missed += event.missed.missed_count
            sub.ends["EOF"] += 1
        except grpc.aio.AioRpcError as exc:
            sub.ends[f"{exc.code().name}/{error_reason(exc)}"] += 1
        finally:
            stream.cancel()
        if soak.stop.is_set():
            return
        sub.reopened += 1
        await asyncio.sleep(0.5)


# -- faults ----------------------------------------------------------------------


class Faults:
    """The injected faults, each at a fixed fraction of the run, one after another."""

    def __init__(self, soak: Soak, app_channel: grpc.aio.Channel) -> None:
        self.soak = soak
        self.app_channel = app_channel

    async def _in_procs_thread(self, fn: Callable[[], object]) -> None:
        # One long-lived thread starts every restarted server: PR_SET_PDEATHSIG
        # fires when the spawning *thread* exits, so it must outlive them.
        await asyncio.get_running_loop().run_in_executor(self.soak.procs, fn)

    async def redis_pause(self) -> str:
        self.soak.redis.pause()
        await asyncio.sleep(3)
        self.soak.redis.resume()
        return "SIGSTOP 3 s"

    async def loader_fails(self) -> str:
        await fetch_json(self.app_channel, FAULT_METHOD, {"loader_fail_s": 5})
        await asyncio.sleep(5)
        return "UNAVAILABLE 5 s"

    async def _restart(self, server: RedisServer | MemcachedServer, down_s: float) -> str:
        await self._in_procs_thread(server.kill)
        await asyncio.sleep(down_s)
        for attempt in range(3):
            try:
                await self._in_procs_thread(server.start)
            except ServerStartError as exc:
                await asyncio.sleep(1)
                last = str(exc).splitlines()[0]
            else:
                return f"SIGKILL, restarted after {down_s:g} s" + (
                    f" ({attempt} failed starts)" if attempt else ""
                )
        return f"SIGKILL, restart FAILED: {last}"

    async def redis_restart(self) -> str:
        return await self._restart(self.soak.redis, 1.0)

    async def memcached_restart(self) -> str:
        return await self._restart(self.soak.memcached, 2.0)

    async def writer_down(self) -> str:
        await fetch_json(self.app_channel, FAULT_METHOD, {"writer_down_s": 5})
        await asyncio.sleep(5.5)
        return "stopped 5 s"

    async def run(self) -> None:
        plan: list[tuple[float, str, Callable[[], Awaitable[str]]]] = [
            (0.25, "redis SIGSTOP", self.redis_pause),
            (0.35, "loader errors", self.loader_fails),
            (0.45, "redis restart", self.redis_restart),
            (0.55, "memcached restart", self.memcached_restart),
            (0.65, "writer down", self.writer_down),
        ]
        for fraction, label, inject in plan:
            wait = fraction * self.soak.seconds - self.soak.elapsed
            if wait > 0:
                await asyncio.sleep(wait)
            if self.soak.stop.is_set():
                return
            fault = Fault(label, self.soak.elapsed)
            self.soak.faults.append(fault)
            print(f"  [{fault.started:6.1f} s] fault: {label}", flush=True)
            try:
                fault.note = await inject()
            except (grpc.aio.AioRpcError, RuntimeError, OSError) as exc:
                fault.note = f"could not inject: {exc}"
            fault.ended = self.soak.elapsed


# -- sampling --------------------------------------------------------------------


def _roles(soak: Soak) -> dict[int, str]:
    loader, writer = soak.app.address.split()
    return {
        soak.redis.port: "redis",
        soak.memcached.port: "memcached",
        int(loader.rpartition(":")[2]): "loader",
        int(writer.rpartition(":")[2]): "writer",
    }


def _sample(soak: Soak) -> ProcSample:
    listen_port = int(soak.sidecar.address.rpartition(":")[2])
    return sample_process(soak.sidecar.pid, _roles(soak), listen_port)


def _faults_between(soak: Soak, start: float, end: float) -> str:
    return ", ".join(
        f.label for f in soak.faults if f.started < end and (f.ended is None or f.ended >= start)
    )


async def _sampler(soak: Soak, interval: float) -> None:
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
            _sample(soak),
            _faults_between(soak, last, now),
            (cpu - last_cpu) / (now - last) / 1e4,
        )
        soak.rows.append(row)
        print("  " + " | ".join(row.cells()), flush=True)
        last, last_cpu = now, cpu
        if now >= soak.seconds or soak.stop.is_set():
            return


# -- the run -----------------------------------------------------------------------


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
        subs = [asyncio.create_task(_subscribe(soak, sub_channel, s)) for s in soak.subscribers]
        tasks += subs
        interval = max(2.0, soak.seconds / 30)
        print("  " + " | ".join(ROW_HEADER), flush=True)
        sampler = asyncio.create_task(_sampler(soak, interval))
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
            _sample(soak) if soak.sidecar.proc and soak.sidecar.proc.poll() is None else None
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


# -- the report --------------------------------------------------------------------


def _growth(soak: Soak) -> tuple[list[str], Row | None, Row | None]:
    during = [r for r in soak.rows if r.t <= soak.seconds + 1]
    if len(during) < 2:
        return ["not enough samples to judge growth"], None, None
    warm = next((r for r in during if r.t >= WARMUP_FRACTION * soak.seconds), during[0])
    end = during[-1]
    # The first sample at least RECOVERY_S after the last fault ended: growth
    # from there to the end is what a leak would look like, not a fault's bump.
    calm_from = max((f.ended or f.started for f in soak.faults), default=warm.t) + RECOVERY_S
    calm = next((r for r in during if r.t >= calm_from), end)

    def figures(r: Row) -> list[float]:
        return [r.proc.rss_mib, r.proc.fds, r.proc.threads, r.proc.established]

    lines = [
        f"- warm-up ends t={warm.t:.0f} s; faults over + {RECOVERY_S:g} s at t={calm.t:.0f} s; "
        f"end t={end.t:.0f} s (ratio > 1.10 is marked GREW; informational, never a failure)"
    ]
    labels = ("RSS MiB", "open fds", "threads", "TCP connections")
    for label, a, c, b in zip(labels, figures(warm), figures(calm), figures(end), strict=True):
        ratio = b / a if a else float("nan")
        calm_ratio = b / c if c else float("nan")
        lines.append(
            f"- {label}: {a:,.1f} -> {c:,.1f} -> {b:,.1f}: end/warm-up {ratio:.2f} "
            f"({'flat' if ratio <= 1.10 else 'GREW'}), end/after-faults {calm_ratio:.2f} "
            f"({'flat' if calm_ratio <= 1.10 else 'GREW'})"
        )
    peak = max(during, key=lambda r: r.proc.rss_kib)
    lines.append(f"- peak RSS {peak.proc.rss_mib:.1f} MiB at t={peak.t:.0f} s")
    return lines, warm, end


def _totals(soak: Soak) -> list[str]:
    total = sum(soak.calls.requests.values())
    errors = sum(n for (m, _, _), n in soak.calls.errors.items() if not m.endswith("[key]"))
    duration = soak.rows[-1].t if soak.rows else soak.seconds
    body = []
    for method, n in sorted(soak.calls.requests.items(), key=lambda kv: -kv[1]):
        hist = soak.calls.by_method.get(method)
        failed = sum(c for (m, _, _), c in soak.calls.errors.items() if m == method)
        body.append(
            [
                method,
                f"{n:,}",
                f"{failed:,}",
                ms(hist.percentile(50) if hist else None),
                ms(hist.percentile(99) if hist else None),
            ]
        )
    lines = [
        f"requests: {total:,} in {duration:.0f} s ({total / max(duration, 1):,.0f}/s), "
        f"errors: {errors:,} ({100 * errors / max(total, 1):.2f}%)",
        "",
        *markdown_table(["method", "calls", "errors", "p50 ms (ok)", "p99 ms (ok)"], body),
        "",
        "Errors by code and ErrorInfo reason:",
        "",
    ]
    if soak.calls.errors:
        err_body = [
            [m, code, reason, f"{n:,}"]
            for (m, code, reason), n in sorted(soak.calls.errors.items(), key=lambda kv: -kv[1])
        ]
        lines += markdown_table(["method", "code", "reason", "count"], err_body)
    else:
        lines.append("none")
    return lines


def _writes(soak: Soak, result: dict[str, Any]) -> tuple[list[str], bool]:
    app = result.get("app", {})
    keys: dict[str, list[int]] = app.get("keys", {})
    check = soak.writes.compare(keys, NS_ORDERS)
    wb_rows = sum(v[0] for k, v in keys.items() if k.startswith(f"{NS_ORDERS}/"))
    regressions = sum(v[3] for k, v in keys.items() if k.startswith(f"{NS_ORDERS}/"))
    drain = result.get("drain", {})
    lost: list[str] = check["lost"]
    lines = [
        f"- EnqueueWrite acknowledged: {soak.writes.acked:,}; failed (outcome unknown): "
        f"{soak.writes.failed:,}; keys: {check['keys']}",
        f"- writer received for `{NS_ORDERS}`: {wb_rows:,} rows in {app.get('batch_calls', 0):,} "
        f"WriteBatch calls (coalesced per key); duplicate write_ids (redelivery): "
        f"{app.get('duplicate_write_ids', 0):,}; a key going backwards: {regressions}",
        f"- queue after the drain ({drain.get('drained_in_s', 0):.1f} s): pending "
        f"{drain.get('pending')}, in flight {drain.get('in_flight')}, dead letters "
        f"{drain.get('dead_letters')}",
        f"- keys whose writer's last row is the last acknowledged update: {check['exact']}; "
        f"a later update whose call failed (applied after all): {check['later']}",
        f"- **lost acknowledged writes: {len(lost)}**",
        *[f"  - {item}" for item in lost[:50]],
        f"- loader: {app.get('loads', 0):,} loads, {app.get('load_errors', 0):,} answered "
        f"UNAVAILABLE by the fault; writer: {app.get('write_calls', 0):,} Write calls "
        f"(write-through), {app.get('writer_outages', 0)} outage(s)",
    ]
    return lines, not lost


def _pubsub(soak: Soak) -> list[str]:
    lines = [
        f"- published (acknowledged): {DURABLE} (durable) {soak.published[DURABLE]:,}, "
        f"{CHAT} (fire-and-forget) {soak.published[CHAT]:,}"
    ]
    for sub in soak.subscribers:
        ends = ", ".join(f"{k} {v}" for k, v in sub.ends.items()) or "-"
        line = (
            f"- {sub.name}: delivered {sub.delivered:,}, missed {sub.missed:,}, "
            f"duplicates {sub.duplicates:,}, reopened {sub.reopened} (ends: {ends})"
        )
        if sub.durable and sub.confirmed_at is not None:
            since = sub.confirmed_at
            owed = [mid for t, mid in soak.durable_published if t > since]
            missing = sum(1 for mid in owed if mid not in sub.ids)
            line += f"; acknowledged since it subscribed: {len(owed):,}, never delivered: {missing}"
        lines.append(line)
    return lines


def _report(
    soak: Soak, result: dict[str, Any], exit_code: int | None, log_lines: list[str]
) -> tuple[str, bool]:
    growth, _, _ = _growth(soak)
    writes, writes_ok = _writes(soak, result)
    fault_lines = [
        f"- t={f.started:.0f}-{(f.ended or f.started):.0f} s: {f.label}: {f.note}"
        for f in soak.faults
    ]
    end = result.get("end_sample")
    end_line = (
        f"- after the drain and {SETTLE_S:g} s idle: RSS {end.rss_mib:.1f} MiB, "
        f"{end.fds} fds, {end.established} connections {dict(end.conns)}"
        if isinstance(end, ProcSample)
        else "- no sample after the drain (the sidecar was gone)"
    )
    ok = writes_ok and not soak.crashed
    lines = [
        "# cachecar soak report",
        "",
        f"{soak.seconds:.0f} s, {WORKERS} workers on {CHANNELS} channels + "
        f"{len(soak.subscribers)} subscribers; redis-server (AOF, fsync always), memcached, "
        "the app (bench.soak_app) and the sidecar each in its own process, loopback only.",
        "",
        "## Time series (errors and latency per interval; conns are ESTABLISHED TCP)",
        "",
        *markdown_table(ROW_HEADER, [r.cells() for r in soak.rows]),
        "",
        "## Faults injected",
        "",
        *(fault_lines or ["- none (the run was too short)"]),
        "",
        "## Totals",
        "",
        *_totals(soak),
        "",
        "## Write-behind: acknowledged vs received",
        "",
        *writes,
        "",
        "## Pub/Sub",
        "",
        *_pubsub(soak),
        "",
        "## Growth (after warm-up vs end of the workload)",
        "",
        *growth,
        end_line,
        "",
        "## Sidecar",
        "",
        f"- {soak.crashed or 'ran to the end'}; exit code on SIGTERM: {exit_code}",
        *log_lines,
        "",
        f"**Verdict: {'PASS' if ok else 'FAIL'}** — "
        + ("no acknowledged write lost, the sidecar stayed up" if ok else "see above"),
        "",
    ]
    return "\n".join(lines), ok


def _log_summary(child: Child) -> list[str]:
    """The sidecar's JSON log lines counted by level and event; errors listed."""
    try:
        lines = child.stderr_path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ["- log: (no stderr)"]
    levels: Counter[str] = Counter()
    events: Counter[tuple[str, str, str]] = Counter()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            levels["not json"] += 1
            continue
        level = str(record.get("level", "?"))
        levels[level] += 1
        if level not in ("info", "debug"):
            exc = str(record.get("exception", "")).strip().splitlines()
            detail = f" ({exc[-1][:120]})" if exc else ""
            events[(level, str(record.get("logger", "?")), f"{record.get('event')}{detail}")] += 1
    counts = ", ".join(f"{k} {v:,}" for k, v in levels.most_common())
    out = [f"- log ({child.stderr_path.relative_to(REPO)}): {len(lines):,} lines: {counts}"]
    out += [
        f"  - {n:,} x {lvl} {logger}: {event}" for (lvl, logger, event), n in events.most_common(15)
    ]
    return out


# -- entry point -------------------------------------------------------------------


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
            config.write_text(yaml.safe_dump(_config(redis.url, memcached.url, loader, writer)))
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
        text, ok = _report(soak, result, exit_code, _log_summary(sidecar))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print()
    print(text)
    print(f"(written to {REPORT.relative_to(REPO)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
