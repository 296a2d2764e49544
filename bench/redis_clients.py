"""Redis client stacks for the hit path, side by side: which costs least per GET?

``python -m bench.redis_clients`` (also the ``redisclients`` section of
``make bench``) starts one private standalone redis-server and one 3-master
Redis Cluster (``tests.servers.RedisCluster``, the test fixtures' builder),
stores 100 values of 1 KiB, then for every client stack and topology starts a
grpc.aio server process (``bench.redis_client_server``) whose unary handler
does one GET (or one MGET of 10 keys) and returns the bytes, and loads it
with the Node.js generator ``make bench`` uses:

- at ``--concurrency`` calls in flight: calls/s, and the server process's
  CPU (utime+stime, all threads, so a client's own runtime threads count)
  over the measured window divided by the calls completed in it;
- at one call in flight: p50 and p99 latency.

Stacks: the floor (the same handler, no Redis call), redis-py asyncio as the
sidecar configures it, the sidecar's hand-written ``RespPool`` (standalone
only) and valkey-glide's asyncio client. valkey-glide is an optional,
bench-only install: without it its rows are skipped with a note saying how
to install it, and never count as measured. Exit code 0 whatever the
timings, 2 when it could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType

import grpc
import redis

from bench.loadgen import ensure_node_modules, node_versions, run_loadgen
from bench.measure import Measured
from bench.procs import Child, ChildFailed, clean_env
from bench.redis_client_server import (
    GET_METHOD,
    GLIDE_INSTALL,
    MGET_KEYS,
    MGET_METHOD,
    READY,
    VALUE_BYTES,
    glide_installed,
    stored_keys,
)
from bench.report import REDIS, SERVER, Section, format_table, machine_lines, num
from sidecar.devmode import MissingBinary, RedisServer, ServerStartError
from tests.servers import RedisCluster

__all__ = ["Plan", "main", "run", "section"]

#: (stack, label) in table order; the floor is measured once, on standalone.
STACK_LABELS = {
    "floor": "floor: grpc.aio handler, no Redis call",
    "redispy": "redis-py asyncio (hiredis)",
    "resp": "resp.py RespPool",
    "glide": "valkey-glide asyncio",
}
CLIENT_STACKS = ("redispy", "resp", "glide")


@dataclass(frozen=True)
class Plan:
    """How long and how hard each row is loaded."""

    concurrency: int = 32
    warmup: float = 1.0
    duration: float = 4.0
    seq_warmup: float = 0.5
    seq_duration: float = 2.0


@dataclass(frozen=True)
class Result:
    """One stack x topology x operation: the loaded run and the one-in-flight run."""

    stack: str
    topology: str
    op: str
    loaded: Measured
    sequential: Measured

    @property
    def cpu_us(self) -> float | None:
        return self.loaded.cpu_per_call(SERVER)

    @property
    def redis_us(self) -> float | None:
        spent = sum(v for k, v in self.loaded.server_cpu_us.items() if k.startswith(REDIS))
        return spent / self.loaded.calls if self.loaded.calls else None

    @property
    def failures(self) -> int:
        return self.loaded.errors + self.sequential.errors


@dataclass
class Outcome:
    """Everything one run produced: rows, what was skipped, the machine."""

    results: list[Result] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    machine: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """A Redis deployment the rows run against, and the pids whose CPU is watched."""

    topology: str
    url: str
    cluster: bool
    redis_pids: tuple[int, ...]


def _store(target: Target) -> None:
    value = os.urandom(VALUE_BYTES)
    client: redis.Redis | redis.RedisCluster
    if target.cluster:
        client = redis.RedisCluster.from_url(target.url)
    else:
        client = redis.Redis.from_url(target.url)
    with client:
        for key in stored_keys():
            client.set(key, value)


def _measure(
    workdir: Path, plan: Plan, target: Target, stack: str, ops: Sequence[str]
) -> list[Result]:
    argv = [sys.executable, "-m", "bench.redis_client_server", "--stack", stack]
    argv += ["--redis", target.url] + (["--cluster"] if target.cluster else [])
    name = f"{stack}-{target.topology}"
    child = Child(name, argv, logdir=workdir, env=clean_env(), ready_prefix=READY)
    results = []
    with child:
        watch = {SERVER: child.pid}
        watch.update({f"{REDIS}{i}": pid for i, pid in enumerate(target.redis_pids)})
        for op in ops:
            method = GET_METHOD if op == "GET" else MGET_METHOD

            def load(
                concurrency: int, warmup: float, duration: float, method: str = method
            ) -> Measured:
                return run_loadgen(
                    child.address,
                    method,
                    concurrency=concurrency,
                    warmup=warmup,
                    duration=duration,
                    watch=watch,
                    logdir=workdir,
                )

            loaded = load(plan.concurrency, plan.warmup, plan.duration)
            sequential = load(1, plan.seq_warmup, plan.seq_duration)
            results.append(Result(stack, target.topology, op, loaded, sequential))
    return results


@contextlib.contextmanager
def _targets() -> Iterator[tuple[Target, Target, str]]:
    """A standalone redis-server and a 3-master cluster, both stopped on exit."""
    with RedisServer() as standalone, RedisCluster(masters=3) as cluster:
        cluster.wait_healthy(30.0)
        pids = tuple(n.pid or 0 for n in cluster.nodes)
        one = Target("standalone", standalone.url, False, (standalone.pid or 0,))
        many = Target("cluster", cluster.url.replace("+cluster", ""), True, pids)
        with redis.Redis.from_url(standalone.url) as client:
            version = str(client.info("server")["redis_version"])
        yield one, many, version


def _versions() -> str:
    found = []
    for dist in ("redis", "hiredis", "valkey-glide"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            found.append(f"{dist} not installed")
    return ", ".join(found)


def run(
    plan: Plan,
    workdir: Path,
    progress: Callable[[str], None] | None = None,
    stacks: Sequence[str] = CLIENT_STACKS,
) -> Outcome:
    """Every stack on both topologies, GET and MGET, in one run (the floor always)."""
    say = progress or (lambda line: None)
    outcome = Outcome()
    stacks = [s for s in CLIENT_STACKS if s in stacks]
    if "glide" in stacks and not glide_installed():
        stacks.remove("glide")
        outcome.skipped.append(f"valkey-glide not installed: {GLIDE_INSTALL} (rows skipped)")
    with _targets() as (standalone, cluster, version):
        for target in (standalone, cluster):
            _store(target)
        say("floor")
        outcome.results += _measure(workdir, plan, standalone, "floor", ["GET", "MGET"])
        for target in (standalone, cluster):
            for stack in stacks:
                if stack == "resp" and target.cluster:
                    continue  # RespPool speaks to one standalone server only
                say(f"{stack} on {target.topology}")
                outcome.results += _measure(workdir, plan, target, stack, ["GET", "MGET"])
        outcome.machine = machine_lines([node_versions(), f"redis-server {version}", _versions()])
    return outcome


def _row(result: Result, floor: dict[str, float | None]) -> tuple[str, ...]:
    base = floor.get(result.op)
    cpu = result.cpu_us
    over = None if cpu is None or base is None else cpu - base
    label = STACK_LABELS[result.stack]
    topology = "—" if result.stack == "floor" else result.topology
    op = result.op if result.op == "GET" else f"MGET {MGET_KEYS}"
    return (
        label,
        topology,
        op,
        num(cpu),
        "—" if result.stack == "floor" else num(over),
        num(result.loaded.rate),
        num(result.sequential.p50_us),
        num(result.sequential.p99_us),
        num(result.redis_us, ",.1f"),
        num(result.loaded.other_cores, ".2f"),
        str(result.failures),
    )


def section(outcome: Outcome, plan: Plan) -> Section:
    """The rows as a :class:`bench.report.Section` (how ``make bench`` prints them)."""
    floor = {r.op: r.cpu_us for r in outcome.results if r.stack == "floor"}
    ordered = sorted(outcome.results, key=lambda r: (r.op != "GET", r.topology != "standalone"))
    header = (
        "stack",
        "topology",
        "op",
        "server CPU µs/call",
        "over floor µs",
        f"calls/s ({plan.concurrency} in flight)",
        "p50 µs (1 in flight)",
        "p99 µs (1 in flight)",
        "redis CPU µs/call",
        "other cores",
        "errors",
    )
    notes = [
        f"{plan.concurrency} in flight: {plan.warmup:g} s warm-up + {plan.duration:g} s measured "
        f"(CPU, calls/s); 1 in flight: {plan.seq_warmup:g} s + {plan.seq_duration:g} s "
        f"(p50, p99); values of {VALUE_BYTES} B; one Node.js channel",
        "server CPU = utime+stime of the grpc.aio server process (all threads, so "
        "valkey-glide's Rust runtime counts) over the window / calls; over floor = that "
        "minus the floor row's (the client stack's own cost per call); redis CPU sums "
        "every redis-server of the topology",
        *outcome.skipped,
    ]
    noisy = max((r.loaded.other_cores or 0.0 for r in outcome.results), default=0.0)
    if noisy > 0.2:
        notes.append(
            f"other processes kept up to {noisy:.2f} cores busy in a window: re-run on a "
            "quiet machine before reading the figures"
        )
    notes += [
        f"{STACK_LABELS[r.stack]} {r.topology} {r.op}: {r.failures} failed calls "
        f"(first: {r.loaded.first_error or r.sequential.first_error})"
        for r in outcome.results
        if r.failures
    ]
    rows = tuple(_row(r, floor) for r in ordered)
    title = "Redis client stacks: one GET / MGET from a grpc.aio handler"
    return Section("redisclients", title, header, rows, (), tuple(notes))


def render(outcome: Outcome, plan: Plan) -> str:
    table = section(outcome, plan)
    out = ["", f"cachecar bench — {table.title}", *outcome.machine, ""]
    out += format_table(table.header, [list(r) for r in table.rows])
    out += ["", "notes:", *(f"  {n}" for n in table.notes)]
    return "\n".join(out)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds every `with`, which stops its child


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.redis_clients", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds (4)")
    parser.add_argument(
        "--seq-duration", type=float, default=2.0, help="measured seconds, 1 in flight (2)"
    )
    parser.add_argument(
        "--stacks", nargs="+", choices=CLIENT_STACKS, default=CLIENT_STACKS, help="(all)"
    )
    args = parser.parse_args(argv)
    if not (
        1 <= args.concurrency <= 256 and 0 < args.duration <= 30 and 0 < args.seq_duration <= 30
    ):
        parser.error("need 1 <= --concurrency <= 256 and durations in (0, 30] s")
    plan = Plan(args.concurrency, 1.0, args.duration, 0.5, args.seq_duration)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        ensure_node_modules()
        with tempfile.TemporaryDirectory(prefix="cachecar-clients-") as tmp:
            outcome = run(
                plan,
                Path(tmp),
                lambda s: print(f"redis_clients: {s} ...", file=sys.stderr),
                args.stacks,
            )
    except KeyboardInterrupt:
        print("redis_clients: interrupted; every child process was stopped", file=sys.stderr)
        return 130
    except (ChildFailed, MissingBinary, ServerStartError, TimeoutError, grpc.RpcError) as exc:
        print(f"redis_clients: {exc}", file=sys.stderr)
        return 2
    print(render(outcome, plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
