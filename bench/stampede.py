"""Cache-aside under fire: a cold-key stampede and an expiry storm, next to the naive code.

Both scenarios run three ``python -m sidecar serve`` processes sharing the
bench's redis-server, and the app (``bench.app_server``, its own process)
whose ``Load`` sleeps 50 ms and records every call. The callers are one
Python ``grpc.aio`` client with a channel per sidecar, calls spread
round-robin: latency here is dominated by the 50 ms load, so a Python client
is precise enough. The naive code is what cachecar replaces (README,
cache-aside): redis-py asyncio ``GET`` → miss → "load" (the same 50 ms sleep,
counted) → ``SET EX``, against the same redis-server.

- **Stampede**: 500 concurrent GetOrLoad of one cold key, for three cold
  keys in turn; loader calls per key (target 1) and the callers' p50/p99.
- **Expiry storm**: a hot key with a 2 s TTL (grace 0, early refresh at its
  default beta of 1) read at 200 reads/s over the three sidecars for 8 s
  (1,600 reads, paced open-loop), while a key with a 1 h TTL is read the
  same way at the same time (the hit path's p99 in the same conditions) and
  the naive code reads its own 2 s key at 200 reads/s too. Loader calls per
  TTL period (target ≤ 1) and the callers' p99 against the hit p99
  (target ≤ 2x).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import redis.asyncio as aioredis
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from redis.exceptions import RedisError

from bench.app_server import app_child, fetch_stats
from bench.measure import CpuWatch, percentile
from bench.procs import Child, sidecar_child
from bench.report import TARGETS, Section, num, verdict

__all__ = ["run_expiry_storm", "run_stampede"]

SIDECARS = 3
LOAD_MS = 50.0
STAMPEDE_CALLERS = 500
COLD_KEYS = ("cold-1", "cold-2", "cold-3")
STORM_RATE = 200.0  # reads per second, per stream
STORM_SECONDS = 8.0
STORM_TTL_S = 2
STORM_KEY = "hot"
STEADY_KEY = "steady-hot"  # its own key: the app records loads per key

COLD_NS = "stampede"
STORM_NS = "storm"
STEADY_NS = "steady"

#: Every call's deadline: a stuck sidecar fails a call, never hangs the bench.
CALL_TIMEOUT_S = 10.0
#: redis-py connections of the naive code (DESIGN.md §7 measures Redis at 50).
NAIVE_POOL = 50
_NO_PROXY = [("grpc.enable_http_proxy", 0)]
_SIDECAR = "sidecar"  # Source label the naive code never produces


@dataclass
class Calls:
    """Latencies and outcomes of one set of calls."""

    latencies_ms: list[float] = field(default_factory=list)
    #: ``time.perf_counter()`` at each call's start, failed ones included.
    starts: list[float] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    #: Calls that returned something other than the loader's value.
    wrong: int = 0
    first_error: str | None = None

    def start(self) -> float:
        began = time.perf_counter()
        self.starts.append(began)
        return began

    @property
    def spread_ms(self) -> float | None:
        """From the first call's start to the last's: how long issuing them took."""
        return (max(self.starts) - min(self.starts)) * 1000 if self.starts else None

    def ok(self, began: float, source: str, right: bool) -> None:
        self.latencies_ms.append((time.perf_counter() - began) * 1000)
        self.sources[source] += 1
        self.wrong += not right

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:200]

    def p(self, pct: float) -> float | None:
        return percentile(sorted(self.latencies_ms), pct)

    @property
    def bad(self) -> int:
        return self.errors + self.wrong


def _config(redis_url: str, loader: str) -> dict[str, Any]:
    common = {"backend": "main", "loader": loader}
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            COLD_NS: {**common, "ttl": "1h"},
            # No jitter: with one key it would only shorten TTL periods at random,
            # and "loads per TTL period" needs the period to be the TTL.
            STORM_NS: {**common, "ttl": f"{STORM_TTL_S}s", "grace": "0s", "ttl_jitter": 0.0},
            STEADY_NS: {**common, "ttl": "1h"},
        },
    }


@dataclass(frozen=True)
class _Cluster:
    app: Child
    sidecars: tuple[Child, ...]


@contextlib.contextmanager
def _cluster(redis_url: str, workdir: Path, name: str) -> Iterator[_Cluster]:
    """The app and three sidecars on one config; every process stopped on exit."""
    with contextlib.ExitStack() as stack:
        app = stack.enter_context(app_child(f"{name}-app", logdir=workdir, load_ms=LOAD_MS))
        config = workdir / f"{name}.yaml"
        config.write_text(yaml.safe_dump(_config(redis_url, app.address)))
        sidecars = tuple(
            stack.enter_context(sidecar_child(f"{name}-sidecar-{i}", config, logdir=workdir))
            for i in range(SIDECARS)
        )
        yield _Cluster(app, sidecars)


@contextlib.asynccontextmanager
async def _channels(addresses: Sequence[str]) -> AsyncIterator[list[grpc.aio.Channel]]:
    """One connected channel per address (connected first, so no call pays for it)."""
    async with contextlib.AsyncExitStack() as stack:
        channels = [
            await stack.enter_async_context(grpc.aio.insecure_channel(a, options=_NO_PROXY))
            for a in addresses
        ]
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), timeout=10)
        yield channels


def _naive_client(redis_url: str) -> aioredis.Redis:
    # Blocking pool: callers beyond NAIVE_POOL wait for a connection, as an app's would.
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url, max_connections=NAIVE_POOL, timeout=CALL_TIMEOUT_S
    )
    return aioredis.Redis(connection_pool=pool)


def _loaded(key: str) -> bytes:
    return f"loaded:{key}".encode()  # what bench.app_server's Load returns


async def _sidecar_read(stub: Any, namespace: str, key: str, calls: Calls) -> None:
    began = calls.start()
    try:
        reply = await stub.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace=namespace, key=key), timeout=CALL_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as exc:
        calls.failed(exc)
        return
    calls.ok(began, cache_pb2.Source.Name(reply.source), reply.value == _loaded(key))


async def _naive_read(
    client: aioredis.Redis, key: str, ttl_s: int, loads: list[float], calls: Calls
) -> None:
    """The snippet cachecar replaces: GET, and on a miss load and SET EX."""
    began = calls.start()
    source = "SOURCE_CACHE"
    try:
        value = await client.get(key)
        if value is None:
            source = "SOURCE_LOADER"
            loads.append(time.monotonic())
            await asyncio.sleep(LOAD_MS / 1000)  # the database read
            value = _loaded(key)
            await client.set(key, value, ex=ttl_s)
    except RedisError as exc:
        calls.failed(exc)
        return
    calls.ok(began, source, value == _loaded(key))


def _loads_of(stats: dict[str, Any], key: str) -> list[float]:
    return sorted(float(t) for t in stats["loads"].get(key, []))


# -- stampede ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Burst:
    key: str
    load_times: list[float]
    calls: Calls

    @property
    def loads(self) -> int:
        return len(self.load_times)


async def _stampede(redis_url: str, cluster: _Cluster) -> tuple[list[_Burst], list[_Burst]]:
    sidecar_bursts: list[_Burst] = []
    naive_bursts: list[_Burst] = []
    addresses = [s.address for s in cluster.sidecars]
    async with (
        _channels(addresses) as channels,
        _channels([cluster.app.address]) as (app_channel,),
    ):
        stubs = [cache_pb2_grpc.CacheServiceStub(c) for c in channels]
        for key in COLD_KEYS:
            calls = Calls()
            reads = (
                _sidecar_read(stubs[i % len(stubs)], COLD_NS, key, calls)
                for i in range(STAMPEDE_CALLERS)
            )
            async with asyncio.timeout(3 * CALL_TIMEOUT_S):
                await asyncio.gather(*reads)
            loads = _loads_of(await fetch_stats(app_channel), key)
            sidecar_bursts.append(_Burst(key, loads, calls))
    client = _naive_client(redis_url)
    try:
        for key in COLD_KEYS:
            calls, naive_loads = Calls(), list[float]()
            naive_key = f"naive:{key}"
            reads = (
                _naive_read(client, naive_key, 3600, naive_loads, calls)
                for _ in range(STAMPEDE_CALLERS)
            )
            async with asyncio.timeout(3 * CALL_TIMEOUT_S):
                await asyncio.gather(*reads)
            naive_bursts.append(_Burst(naive_key, sorted(naive_loads), calls))
    finally:
        await client.aclose()
    return sidecar_bursts, naive_bursts


def run_stampede(redis_url: str, workdir: Path) -> Section:
    """500 concurrent GetOrLoad of one cold key over 3 sidecars, 3 keys; and the naive code."""
    with _cluster(redis_url, workdir, "stampede") as cluster:
        ours, naive = asyncio.run(_stampede(redis_url, cluster))
    rows = []
    for label, bursts in (
        (f"cachecar GetOrLoad, {SIDECARS} sidecars", ours),
        ("naive GET → load → SET EX (redis-py)", naive),
    ):
        for burst in bursts:
            c = burst.calls
            rows.append(
                (
                    label,
                    burst.key,
                    f"{burst.loads:,}",
                    num(c.p(50), ".1f"),
                    num(c.p(99), ".1f"),
                    num(max(c.latencies_ms, default=None), ".1f"),
                    str(c.bad),
                )
            )
    per_key = "/".join(str(b.loads) for b in ours)
    naive_per_key = "/".join(str(b.loads) for b in naive)
    ok = all(b.loads <= TARGETS.stampede_loads_per_key for b in ours) and not any(
        b.calls.bad for b in ours
    )
    targets = (
        f"stampede: {TARGETS.stampede_loads_per_key} loader call per cold key across "
        f"{SIDECARS} sidecars, {STAMPEDE_CALLERS} concurrent callers each: {per_key} "
        f"(naive code: {naive_per_key})  → {verdict(ok)}",
    )
    sources = Counter[str]()
    for burst in ours:
        sources.update(burst.calls.sources)
    notes = [
        f"the app's Load sleeps {LOAD_MS:g} ms; {STAMPEDE_CALLERS} calls issued at once by one "
        "Python grpc.aio client, round-robin over one channel per sidecar; latency counts "
        "from each call's start",
        "naive code: redis-py asyncio with a blocking pool of "
        f"{NAIVE_POOL} connections; its load is an in-process sleep of the same "
        f"{LOAD_MS:g} ms (no gRPC hop to an app, which favours it by about a millisecond)",
        "cachecar callers by source: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(sources.items())),
        "the client took "
        + " / ".join(num(b.calls.spread_ms) for b in (*ours, *naive))
        + " ms (cachecar's keys, then the naive code's) from the first call's start to the "
        "last's; its one event loop reads no reply meanwhile, so latencies include up to that "
        "much client queueing on top of the load",
    ]
    for burst in ours:
        if burst.loads > 1:
            # When a second load starts just after the first one's 50 ms, a flight
            # that missed before the fill took the lease after it.
            first = burst.load_times[0]
            notes.append(
                f"{burst.key}: loads started at "
                + ", ".join(f"+{(t - first) * 1000:.0f}" for t in burst.load_times)
                + " ms"
            )
    for burst in (*ours, *naive):
        if burst.calls.bad:
            notes.append(
                f"{burst.key}: {burst.calls.errors} errors, {burst.calls.wrong} wrong values "
                f"(first: {burst.calls.first_error})"
            )
    return Section(
        "stampede",
        f"stampede: {STAMPEDE_CALLERS} concurrent reads of one cold key, loader sleeps "
        f"{LOAD_MS:g} ms",
        ("code", "key", "loader calls", "p50 ms", "p99 ms", "max ms", "errors"),
        tuple(rows),
        targets,
        tuple(notes),
    )


# -- expiry storm -----------------------------------------------------------------------


@dataclass
class _Stream:
    """One paced stream of reads and the loads it caused."""

    label: str
    read: Callable[[int], Coroutine[Any, Any, None]]
    calls: Calls = field(default_factory=Calls)
    loads: list[float] = field(default_factory=list)


async def _paced(stream: _Stream, count: int, rate: float, start: float, offset: float) -> None:
    """Open loop: read ``i`` starts at ``start + offset + i / rate`` whatever the others do."""
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        delay = start + offset + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(stream.read(i)))
    # Awaited directly (not through wait_for), so an interrupted run reports no
    # "exception was never retrieved" noise for the gather.
    async with asyncio.timeout(3 * CALL_TIMEOUT_S):
        await asyncio.gather(*tasks)


def _episodes(loads: list[float], gap: float) -> list[int]:
    """Loads grouped into expiries: a load more than ``gap`` after the last starts a new one."""
    sizes: list[int] = []
    last = None
    for at in loads:
        if last is None or at - last > gap:
            sizes.append(0)
        sizes[-1] += 1
        last = at
    return sizes


@dataclass(frozen=True)
class _StormResult:
    storm: _Stream
    steady: _Stream
    naive: _Stream
    window_s: float
    other_cores: float | None


async def _storm(redis_url: str, cluster: _Cluster, redis_pid: int) -> _StormResult:
    addresses = [s.address for s in cluster.sidecars]
    client = _naive_client(redis_url)
    naive_key = f"naive:{STORM_KEY}"
    count = int(STORM_RATE * STORM_SECONDS)
    try:
        async with (
            _channels(addresses) as channels,
            _channels([cluster.app.address]) as (app_channel,),
        ):
            stubs = [cache_pb2_grpc.CacheServiceStub(c) for c in channels]
            storm = _Stream(
                "storm",
                lambda i: _sidecar_read(stubs[i % SIDECARS], STORM_NS, STORM_KEY, storm.calls),
            )
            steady = _Stream(
                "steady",
                lambda i: _sidecar_read(stubs[i % SIDECARS], STEADY_NS, STEADY_KEY, steady.calls),
            )
            naive = _Stream(
                "naive",
                lambda i: _naive_read(client, naive_key, STORM_TTL_S, naive.loads, naive.calls),
            )
            # Warm every key (these loads come before the window and are not counted).
            await storm.read(0)
            await steady.read(0)
            await naive.read(0)
            for stream in (storm, steady, naive):
                stream.calls = Calls()
            watch = CpuWatch(
                {"redis": redis_pid, "app": cluster.app.pid}
                | {f"sidecar-{i}": s.pid for i, s in enumerate(cluster.sidecars)}
            )
            # The loop's clock is time.monotonic(), which the app's load times use too.
            window_start = asyncio.get_running_loop().time() + 0.05
            watch.start()
            client_cpu = time.process_time()
            # The three streams interleave evenly: each reads every 5 ms, 1.7 ms apart.
            await asyncio.gather(
                *(
                    _paced(s, count, STORM_RATE, window_start, k / (3 * STORM_RATE))
                    for k, s in enumerate((storm, steady, naive))
                )
            )
            watch.stop()
            client_s = time.process_time() - client_cpu
            window_s = time.monotonic() - window_start
            stats = await fetch_stats(app_channel)
    finally:
        await client.aclose()
    window_end = window_start + STORM_SECONDS
    for stream, loads in (
        (storm, _loads_of(stats, STORM_KEY)),
        (naive, sorted(naive.loads)),
    ):
        stream.loads = [t for t in loads if window_start <= t < window_end]
    other = None
    if window_s > 0 and watch.machine_us > 0:
        ours = sum(watch.spent_us.values()) / 1e6 + client_s
        other = max(0.0, watch.machine_us / 1e6 - ours) / window_s
    return _StormResult(storm, steady, naive, window_s, other)


def run_expiry_storm(redis_url: str, workdir: Path, redis_pid: int) -> Section:
    """A 2 s-TTL hot key read at 200/s over 3 sidecars for 8 s; the hit path and the naive code
    read at the same time."""
    with _cluster(redis_url, workdir, "storm") as cluster:
        result = asyncio.run(_storm(redis_url, cluster, redis_pid))
    periods = STORM_SECONDS / STORM_TTL_S
    gap = STORM_TTL_S / 2  # loads of one expiry come within a load time; expiries are a TTL apart

    def figures(stream: _Stream, *, expiring: bool) -> tuple[str, ...]:
        c = stream.calls
        episodes = _episodes(stream.loads, gap)
        return (
            stream.label,
            f"{len(c.latencies_ms) + c.errors:,}",
            f"{len(stream.loads):,}" if expiring else "0",
            f"{len(stream.loads) / periods:.2f}" if expiring else "—",
            str(max(episodes, default=0)) if expiring else "—",
            num(c.p(50), ".2f"),
            num(c.p(99), ".2f"),
            f"{c.sources.get('SOURCE_LOADER', 0):,}",
            str(c.bad),
        )

    storm, steady, naive = result.storm, result.steady, result.naive
    storm.label = f"cachecar GetOrLoad, ttl {STORM_TTL_S}s (expiring)"
    steady.label = "cachecar GetOrLoad, ttl 1h (hit path, same time)"
    naive.label = f"naive GET → load → SET EX {STORM_TTL_S} (redis-py)"
    rows = (
        figures(storm, expiring=True),
        figures(steady, expiring=False),
        figures(naive, expiring=True),
    )
    per_period = len(storm.loads) / periods
    most = max(_episodes(storm.loads, gap), default=0)
    naive_most = max(_episodes(naive.loads, gap), default=0)
    ok_loads = per_period <= TARGETS.expiry_loads_per_expiry and most <= 1 and not storm.calls.bad
    p99, hit_p99, naive_p99 = storm.calls.p(99), steady.calls.p(99), naive.calls.p(99)
    ratio = None if p99 is None or not hit_p99 else p99 / hit_p99
    ok_p99 = None if ratio is None else ratio <= TARGETS.expiry_p99_vs_hit
    intervals = [b - a for a, b in zip(storm.loads, storm.loads[1:], strict=False)]
    targets = (
        f"expiry storm ≤ {TARGETS.expiry_loads_per_expiry:g} loader call per expiry: "
        f"{len(storm.loads)} loads in {periods:g} TTL periods = {per_period:.2f} per period, "
        f"at most {most} per expiry (naive code: {len(naive.loads)} loads = "
        f"{len(naive.loads) / periods:.1f} per period, up to {naive_most} per expiry)"
        f"  → {verdict(ok_loads)}",
        f"expiry storm caller p99 ≤ {TARGETS.expiry_p99_vs_hit:g}x hit p99: "
        f"{num(p99, '.2f')} ms vs {num(hit_p99, '.2f')} ms = {num(ratio, '.2f')}x "
        f"(naive code p99 {num(naive_p99, '.1f')} ms)  → {verdict(ok_p99)}",
    )
    notes = [
        f"each stream: {int(STORM_RATE * STORM_SECONDS):,} reads paced open-loop at "
        f"{STORM_RATE:g}/s for {STORM_SECONDS:g} s (the three interleaved, one Python process), "
        f"round-robin over {SIDECARS} sidecars; storm namespace: ttl {STORM_TTL_S}s, grace 0, "
        "ttl_jitter 0, early_refresh_beta 1 (default); loads counted by start time in the "
        "window; 'per expiry' groups loads less than half a TTL apart",
        "'waited on a load' = calls answered with source LOADER (the caller waited for a "
        "load) rather than CACHE; early refresh reloads a hot entry shortly before it expires, "
        "so its readers keep getting hits"
        + (
            "; seconds between cachecar's loads: " + ", ".join(f"{i:.2f}" for i in intervals)
            if intervals
            else ""
        ),
        f"other processes kept {num(result.other_cores, '.2f')} cores busy during the "
        f"{result.window_s:.1f} s window (beyond the sidecars, redis-server, the app and the "
        "bench client)",
    ]
    for stream in (storm, steady, naive):
        if stream.calls.bad:
            notes.append(
                f"{stream.label}: {stream.calls.errors} errors, {stream.calls.wrong} wrong values "
                f"(first: {stream.calls.first_error})"
            )
    return Section(
        "expiry",
        f"expiry storm: a {STORM_TTL_S} s-TTL hot key at {STORM_RATE:g} reads/s for "
        f"{STORM_SECONDS:g} s, loader sleeps {LOAD_MS:g} ms",
        (
            "stream",
            "reads",
            "loader calls",
            "per TTL period",
            "most per expiry",
            "p50 ms",
            "p99 ms",
            "waited on a load",
            "errors",
        ),
        rows,
        targets,
        tuple(notes),
    )
