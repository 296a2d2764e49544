"""``python -m bench``: the hit path, the cost of tracing, and the patterns under fire.

Hit-path scenarios, one table, each against a fresh server process and one
private redis-server:

a. echo floor: a do-nothing grpc.aio method (``bench.echo_server``);
b. GetOrLoad hit, tracing off;
c. GetOrLoad hit, tracing on, sampled 100%, exporting to a live OTLP sink;
d. GetOrLoad hit, tracing on, exporting to a dead endpoint;
e. the same 1 KB GET straight to Redis from a Python asyncio client;
f. GetOrLoadMany of 100 keys, all hits;
g. GetOrLoad hit with the metrics in prometheus_client's multiprocess mode
   (what every worker runs with ``workers: N``), to compare with b;
h. GetOrLoad hit served from the near cache (``bench.near_bench``), to
   compare with b and the floor a.

Each is loaded by the Node.js generator twice: at a fixed concurrency
(throughput, tail latency, server CPU per RPC over the measured window) and
one call at a time (p50 latency).

Then one section per pattern scenario, each with its own table, next to the
naive code where there is one: ``stampede`` and ``expiry`` (3 sidecars,
``bench.stampede``), ``writebehind`` (write-behind and write-through,
``bench.writebehind``), ``leaderboard`` and ``pubsub`` (the standalone
``bench.leaderboard_bench`` and ``bench.pubsub_bench``), and ``redisclients``
(``bench.redis_clients``: redis-py, resp.py and valkey-glide per GET).

The report is printed at the end; the exit code is 0 whatever the timings
(130 when interrupted, 2 when the bench could not run at all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
import redis
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.ack_modes import run_ack_modes
from bench.echo_server import METHOD as ECHO_METHOD
from bench.extra_sections import run_leaderboard, run_pubsub, run_redis_clients
from bench.html_report import write_report
from bench.loadgen import ensure_node_modules, node_versions, run_loadgen
from bench.measure import Measured
from bench.memory_bench import run_memory
from bench.near_bench import ZIPF_RESULT, near_targets, run_nearcache, scenario_near
from bench.procs import REPO, Child, ChildFailed, clean_env, sidecar_child
from bench.redis_direct import find_entry_key, run_redis_get
from bench.report import REDIS, SERVER, SINK, Row, Section, machine_lines, render
from bench.shard_fanout import run_shard_fanout
from bench.stampede import run_expiry_storm, run_stampede
from bench.versions_bench import run_versions
from bench.writebehind import run_writes
from sidecar.devmode import MissingBinary, RedisServer, ServerStartError, free_port

__all__ = ["main"]

NAMESPACE = "bench"
VALUE_BYTES = 1024
HOT_KEYS = [f"hot-{i:03d}" for i in range(100)]
GET_OR_LOAD = "cachecar.v1.CacheService/GetOrLoad"
GET_OR_LOAD_MANY = "cachecar.v1.CacheService/GetOrLoadMany"
_NO_PROXY = [("grpc.enable_http_proxy", 0)]


@dataclass(frozen=True)
class Plan:
    """How long and how hard each scenario is loaded."""

    concurrency: int
    warmup: float
    duration: float
    seq_warmup: float
    seq_duration: float


@dataclass
class Bench:
    """What every scenario shares: the plan, the Redis, a scratch directory."""

    plan: Plan
    redis: RedisServer
    workdir: Path
    config: Path

    @property
    def redis_pid(self) -> int:
        pid = self.redis.pid
        if pid is None:
            raise ChildFailed("redis-server is not running")
        return pid

    def load(
        self,
        target: str,
        method: str,
        watch: Mapping[str, int],
        requests: Sequence[Mapping[str, Any]] = (),
        *,
        check_hits: bool = False,
    ) -> tuple[Measured, Measured]:
        """The loaded run (CPU watched) and the sequential run (latency only)."""
        plan = self.plan
        loaded = run_loadgen(
            target,
            method,
            requests=requests,
            concurrency=plan.concurrency,
            warmup=plan.warmup,
            duration=plan.duration,
            watch=watch,
            logdir=self.workdir,
            check_hits=check_hits,
        )
        sequential = run_loadgen(
            target,
            method,
            requests=requests,
            concurrency=1,
            warmup=plan.seq_warmup,
            duration=plan.seq_duration,
            watch={},
            logdir=self.workdir,
            check_hits=check_hits,
        )
        return loaded, sequential

    @contextlib.contextmanager
    def sidecar(self, name: str, env: Mapping[str, str] | None = None) -> Iterator[Child]:
        """A fresh ``python -m sidecar serve`` with the hot keys stored, then stopped."""
        with sidecar_child(name, self.config, logdir=self.workdir, env=env) as child:
            populate(child.address)
            yield child


def populate(address: str) -> None:
    """Store the hot keys with Set, then check that GetOrLoad(Many) reads hits."""
    value = os.urandom(VALUE_BYTES)
    with grpc.insecure_channel(address, options=_NO_PROXY) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        for key in HOT_KEYS:
            cache.Set(cache_pb2.SetRequest(namespace=NAMESPACE, key=key, value=value), timeout=5)
        one = cache.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace=NAMESPACE, key=HOT_KEYS[0]), timeout=5
        )
        many = cache.GetOrLoadMany(
            cache_pb2.GetOrLoadManyRequest(namespace=NAMESPACE, keys=HOT_KEYS), timeout=5
        )
    sources = {one.source} | {r.source for r in many.results}
    if sources != {cache_pb2.SOURCE_CACHE} or len(one.value) != VALUE_BYTES:
        raise ChildFailed(f"pre-populated keys do not read as cache hits: {sources}")


def _hit_requests() -> list[dict[str, str]]:
    return [{"namespace": NAMESPACE, "key": key} for key in HOT_KEYS]


def scenario_echo(bench: Bench) -> Row:
    echo = Child(
        "echo",
        [sys.executable, "-m", "bench.echo_server", "--reply-bytes", str(VALUE_BYTES)],
        logdir=bench.workdir,
        env=clean_env(),
        ready_prefix="echo listening on ",
    )
    with echo:
        loaded, seq = bench.load(echo.address, ECHO_METHOD, {SERVER: echo.pid})
    return Row("echo", "a. echo floor (grpc.aio, no work)", loaded, seq)


def scenario_hit(bench: Bench) -> Row:
    watch = {REDIS: bench.redis_pid}
    with bench.sidecar("sidecar-hit") as sidecar:
        watch[SERVER] = sidecar.pid
        loaded, seq = bench.load(
            sidecar.address, GET_OR_LOAD, watch, _hit_requests(), check_hits=True
        )
    return Row("hit", "b. GetOrLoad hit, tracing off", loaded, seq)


def _tracing_env(endpoint: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_SERVICE_NAME": "cachecar-bench",
    }


def scenario_traced(bench: Bench) -> Row:
    sink = Child(
        "otlp-sink",
        [sys.executable, "-m", "bench.otlp_sink"],
        logdir=bench.workdir,
        env=clean_env(),
        ready_prefix="sink listening on ",
    )
    with sink:
        watch = {REDIS: bench.redis_pid, SINK: sink.pid}
        env = _tracing_env(f"http://{sink.address}")
        with bench.sidecar("sidecar-traced", env) as sidecar:
            watch[SERVER] = sidecar.pid
            loaded, seq = bench.load(
                sidecar.address, GET_OR_LOAD, watch, _hit_requests(), check_hits=True
            )
        # The sidecar flushed its queue on SIGTERM; now the sink reports.
        sink.stop()
        counted = json.loads(sink.stdout_lines()[-1])
    served = loaded.total_calls + seq.total_calls + len(HOT_KEYS) + 2  # + populate's RPCs
    note = (
        f"the OTLP sink received {counted['spans']:,} spans in {counted['exports']:,} exports "
        f"for about {served:,} RPCs served ({counted['spans'] / served:.2f} spans per RPC; "
        "a hit makes 2 when none is dropped: the server span and its Redis GET span)"
    )
    return Row("traced", "c. GetOrLoad hit, tracing 100% → OTLP sink", loaded, seq, notes=(note,))


def scenario_dead(bench: Bench) -> Row:
    watch = {REDIS: bench.redis_pid}
    env = _tracing_env(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with bench.sidecar("sidecar-dead", env) as sidecar:
        watch[SERVER] = sidecar.pid
        loaded, seq = bench.load(
            sidecar.address, GET_OR_LOAD, watch, _hit_requests(), check_hits=True
        )
    return Row("dead", "d. GetOrLoad hit, tracing → dead endpoint", loaded, seq)


def scenario_redis(bench: Bench) -> Row:
    # The sidecar's stored entry of a hot key, so the GET moves the same bytes.
    with bench.sidecar("sidecar-keys"):
        key = asyncio.run(
            find_entry_key(bench.redis.url, f"{NAMESPACE}:{HOT_KEYS[0]}", VALUE_BYTES)
        )
    plan = bench.plan

    def run(concurrency: int, warmup: float, duration: float) -> Measured:
        return asyncio.run(
            run_redis_get(
                bench.redis.url,
                key,
                concurrency=concurrency,
                warmup=warmup,
                duration=duration,
                redis_pid=bench.redis_pid,
            )
        )

    loaded = run(plan.concurrency, plan.warmup, plan.duration)
    seq = run(1, plan.seq_warmup, plan.seq_duration)
    note = (
        "no sidecar: redis-py (hiredis) asyncio GETs from the bench process; its "
        "'loadgen cores' is that Python client and 'redis CPU' is redis-server's per GET"
    )
    return Row("redis", "e. redis-py GET direct (reference)", loaded, seq, notes=(note,))


def scenario_many(bench: Bench) -> Row:
    watch = {REDIS: bench.redis_pid}
    request = [{"namespace": NAMESPACE, "keys": HOT_KEYS}]
    with bench.sidecar("sidecar-many") as sidecar:
        watch[SERVER] = sidecar.pid
        loaded, seq = bench.load(sidecar.address, GET_OR_LOAD_MANY, watch, request, check_hits=True)
    title = f"f. GetOrLoadMany {len(HOT_KEYS)} keys, all hits"
    return Row("many", title, loaded, seq, keys_per_call=len(HOT_KEYS))


def scenario_mpmetrics(bench: Bench) -> Row:
    # One worker's view of workers: N: every metric update goes to a mapped file.
    watch = {REDIS: bench.redis_pid}
    with tempfile.TemporaryDirectory(prefix="cachecar-metrics-") as directory:
        env = {"PROMETHEUS_MULTIPROC_DIR": directory}
        with bench.sidecar("sidecar-mpmetrics", env) as sidecar:
            watch[SERVER] = sidecar.pid
            loaded, seq = bench.load(
                sidecar.address, GET_OR_LOAD, watch, _hit_requests(), check_hits=True
            )
    return Row("mpmetrics", "g. GetOrLoad hit, metrics in multiprocess mode", loaded, seq)


SCENARIOS: dict[str, Callable[[Bench], Row]] = {
    "echo": scenario_echo,
    "hit": scenario_hit,
    "traced": scenario_traced,
    "dead": scenario_dead,
    "redis": scenario_redis,
    "many": scenario_many,
    "mpmetrics": scenario_mpmetrics,
    "near": scenario_near,
}

#: The pattern scenarios: each prints its own table (bench.report.Section).
SECTIONS: dict[str, Callable[[Bench], Section]] = {
    "stampede": lambda b: run_stampede(b.redis.url, b.workdir),
    "expiry": lambda b: run_expiry_storm(b.redis.url, b.workdir, b.redis_pid),
    "writebehind": lambda b: run_writes(b.redis.url, b.workdir),
    # These two start their own redis-server (they stand alone as python -m too).
    "leaderboard": lambda b: run_leaderboard(b.plan.concurrency, b.plan.warmup, b.plan.duration),
    "pubsub": lambda b: run_pubsub(),
    # Its own standalone redis-server and 3-master cluster, one server per client stack.
    "redisclients": lambda b: run_redis_clients(
        b.plan.concurrency, b.plan.warmup, b.plan.duration, b.plan.seq_duration, b.workdir
    ),
    "nearcache": lambda b: run_nearcache(b.redis.url, b.workdir),
    "ack_modes": lambda b: run_ack_modes(),  # its own primary + replica
    "versions": lambda b: run_versions(b.redis.url),
    "memory": lambda b: run_memory(b.redis.url, b.workdir),
    # Its own Redis Clusters (3x0, 3x1): broadcast vs sharded pub/sub traffic.
    "shard_fanout": lambda b: run_shard_fanout(),
}


def _write_config(path: Path, redis_url: str) -> None:
    config = {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        # No loader: every read is a hit, and a miss would show as an error.
        "namespaces": {NAMESPACE: {"backend": "main", "ttl": "1h"}},
    }
    path.write_text(yaml.safe_dump(config))


def _revision() -> str:
    """``cachecar <commit>[+dirty]``: which code the figures belong to."""
    git = shutil.which("git")
    if git is None:
        return "cachecar (no git)"
    # Fixed arguments, the bench's own repository.
    head = subprocess.run(  # noqa: S603
        [git, "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    dirty = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no", "--", "sidecar", "clients"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    mark = "+dirty" if dirty.stdout.strip() else ""
    return f"cachecar {head.stdout.strip() or '?'}{mark}"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with` stops its child process.
    raise KeyboardInterrupt


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring (1)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (5)")
    parser.add_argument(
        "--seq-duration", type=float, default=2.0, help="measured seconds, 1 in flight (2)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=[*SCENARIOS, *SECTIONS], help="run only these scenarios"
    )
    args = parser.parse_args(argv)
    if not (
        1 <= args.concurrency <= 1024 and 0 < args.duration <= 60 and 0 < args.seq_duration <= 60
    ):
        parser.error("need 1 <= --concurrency <= 1024 and durations in (0, 60] s")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    plan = Plan(args.concurrency, args.warmup, args.duration, 0.5, args.seq_duration)
    wanted = list(dict.fromkeys(args.only or [*SCENARIOS, *SECTIONS]))
    if "echo" not in wanted and any(name in SCENARIOS for name in wanted):
        wanted.insert(0, "echo")  # every hit-path ratio is to the floor of this run
    signal.signal(signal.SIGTERM, _interrupt)
    rows: list[Row] = []
    sections: list[Section] = []
    try:
        ensure_node_modules()
        with (
            tempfile.TemporaryDirectory(prefix="cachecar-bench-") as tmp,
            RedisServer() as redis_server,
        ):
            workdir = Path(tmp)
            config = workdir / "cachecar.yaml"
            _write_config(config, redis_server.url)
            bench = Bench(plan, redis_server, workdir, config)
            with redis.Redis.from_url(redis_server.url) as client:
                redis_version = client.info("server")["redis_version"]
            machine = machine_lines([_revision(), node_versions(), f"redis-server {redis_version}"])
            for name in wanted:
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                if name in SCENARIOS:
                    rows.append(SCENARIOS[name](bench))
                else:
                    sections.append(SECTIONS[name](bench))
    except KeyboardInterrupt:
        print("bench: interrupted; every child process was stopped", file=sys.stderr)
        return 130
    except (
        ChildFailed,
        MissingBinary,
        ServerStartError,
        RuntimeError,  # the standalone leaderboard / pub/sub benches' own failures
        TimeoutError,  # a bounded wait ran out: a server hung
        grpc.RpcError,  # a setup call (Set, FlushWrites, Stats) failed
    ) as exc:
        # The bench could not run at all (a missing binary, a server that died):
        # unlike a slow figure, that is an error.
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    notes: list[str] = []
    if rows:
        notes += [
            f"{plan.concurrency} in flight: {plan.warmup:g} s warm-up, then {plan.duration:g} s "
            f"measured; 1 in flight: {plan.seq_warmup:g} s + {plan.seq_duration:g} s; "
            f"{len(HOT_KEYS)} hot keys of {VALUE_BYTES} B, one gRPC channel from the Node.js "
            "loadgen",
            "server CPU = utime+stime of the server process (all threads) over the measured "
            "window / calls completed in it; 'cores' = that CPU / window; 'other cores' = the "
            "machine's busy time (/proc/stat) minus server, redis-server and loadgen",
        ]
    noisy = max((r.loaded.other_cores or 0.0 for r in rows), default=0.0)
    if noisy > 0.2:
        notes.append(
            f"other processes kept up to {noisy:.2f} cores busy during a measured window: "
            "every figure is skewed; re-run on a quiet machine"
        )
    for row in rows:
        for run in (row.loaded, row.sequential):
            if run.errors or run.check_failures:
                notes.append(
                    f"{row.title}: {run.errors} errors, {run.check_failures} sampled non-hits "
                    f"at {run.concurrency} in flight (first: {run.first_error})"
                )
    by_key = {row.key: row for row in rows}
    notes += near_targets(by_key.get("echo"), by_key.get("near"))
    print(render(rows, machine, notes, sections))
    report = write_report(Path("bench-report.html"), rows, sections, ZIPF_RESULT.get("curve", []))
    print(f"charts: {report.resolve()}")
    return 0
