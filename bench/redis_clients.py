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
import statistics
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
    #: Every row is measured this many times, interleaved; the table shows medians.
    rounds: int = 1


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


@dataclass
class Result:
    """One stack x topology x operation over every round: loaded and one-in-flight runs.

    Each figure is the median over the rounds: the machine is shared, and a
    round that another process slowed should not decide a row on its own.
    """

    stack: str
    topology: str
    op: str
    loaded: list[Measured] = field(default_factory=list)
    sequential: list[Measured] = field(default_factory=list)

    @property
    def cpus(self) -> list[float]:
        return [c for m in self.loaded if (c := m.cpu_per_call(SERVER)) is not None]

    @property
    def cpu_us(self) -> float | None:
        return _median(self.cpus)

    @property
    def rate(self) -> float | None:
        return _median([m.rate for m in self.loaded])

    @property
    def p50_us(self) -> float | None:
        return _median([m.p50_us for m in self.sequential])

    @property
    def p99_us(self) -> float | None:
        return _median([m.p99_us for m in self.sequential])

    @property
    def redis_us(self) -> float | None:
        per_call = [
            sum(v for k, v in m.server_cpu_us.items() if k.startswith(REDIS)) / m.calls
            for m in self.loaded
            if m.calls
        ]
        return _median(per_call)

    @property
    def other_cores(self) -> float | None:
        return max((m.other_cores or 0.0 for m in self.loaded), default=None)

    @property
    def failures(self) -> int:
        return sum(m.errors for m in [*self.loaded, *self.sequential])

    @property
    def first_error(self) -> str | None:
        return next((m.first_error for m in [*self.loaded, *self.sequential] if m.errors), None)


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
    workdir: Path, plan: Plan, target: Target, stack: str, into: dict[tuple[str, ...], Result]
) -> None:
    argv = [sys.executable, "-m", "bench.redis_client_server", "--stack", stack]
    argv += ["--redis", target.url] + (["--cluster"] if target.cluster else [])
    name = f"{stack}-{target.topology}"
    child = Child(name, argv, logdir=workdir, env=clean_env(), ready_prefix=READY)
    with child:
        watch = {SERVER: child.pid}
        watch.update({f"{REDIS}{i}": pid for i, pid in enumerate(target.redis_pids)})
        for op in ("GET", "MGET"):
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

            row = into.setdefault((stack, target.topology, op), Result(stack, target.topology, op))
            row.loaded.append(load(plan.concurrency, plan.warmup, plan.duration))
            row.sequential.append(load(1, plan.seq_warmup, plan.seq_duration))


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
    rows: dict[tuple[str, ...], Result] = {}
    with _targets() as (standalone, cluster, version):
        for target in (standalone, cluster):
            _store(target)
        for turn in range(1, plan.rounds + 1):
            say(f"round {turn}/{plan.rounds}: floor")
            _measure(workdir, plan, standalone, "floor", rows)
            for target in (standalone, cluster):
                for stack in stacks:
                    if stack == "resp" and target.cluster:
                        continue  # RespPool speaks to one standalone server only
                    say(f"round {turn}/{plan.rounds}: {stack} on {target.topology}")
                    _measure(workdir, plan, target, stack, rows)
        outcome.results = list(rows.values())
        outcome.machine = machine_lines([node_versions(), f"redis-server {version}", _versions()])
    return outcome


def _row(result: Result, floor: dict[str, float | None]) -> tuple[str, ...]:
    base = floor.get(result.op)
    cpu = result.cpu_us
    over = None if cpu is None or base is None else cpu - base
    label = STACK_LABELS[result.stack]
    topology = "—" if result.stack == "floor" else result.topology
    op = result.op if result.op == "GET" else f"MGET {MGET_KEYS}"
    cpus = result.cpus
    spread = f"{min(cpus):,.0f}-{max(cpus):,.0f}" if len(cpus) > 1 else "—"
    return (
        label,
        topology,
        op,
        num(cpu),
        spread,
        "—" if result.stack == "floor" else num(over),
        num(result.rate),
        num(result.p50_us),
        num(result.p99_us),
        num(result.redis_us, ",.1f"),
        num(result.other_cores, ".2f"),
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
        "CPU range",
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
        f"(p50, p99); values of {VALUE_BYTES} B; one Node.js channel; {plan.rounds} round(s), "
        "interleaved: figures are medians, CPU range is min-max over the rounds, "
        "other cores the worst round",
        "server CPU = utime+stime of the grpc.aio server process (all threads, so "
        "valkey-glide's Rust runtime counts) over the window / calls; over floor = that "
        "minus the floor row's (the client stack's own cost per call); redis CPU sums "
        "every redis-server of the topology",
        *outcome.skipped,
    ]
    noisy = max((r.other_cores or 0.0 for r in outcome.results), default=0.0)
    if noisy > 0.2:
        notes.append(
            f"other processes kept up to {noisy:.2f} cores busy in a window: re-run on a "
            "quiet machine before reading the figures"
        )
    notes += [
        f"{STACK_LABELS[r.stack]} {r.topology} {r.op}: {r.failures} failed calls "
        f"(first: {r.first_error})"
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
        "--rounds", type=int, default=3, help="measure every row this many times (3)"
    )
    parser.add_argument(
        "--stacks", nargs="+", choices=CLIENT_STACKS, default=CLIENT_STACKS, help="(all)"
    )
    args = parser.parse_args(argv)
    if not (
        1 <= args.concurrency <= 256 and 0 < args.duration <= 30 and 0 < args.seq_duration <= 30
    ):
        parser.error("need 1 <= --concurrency <= 256 and durations in (0, 30] s")
    if not 1 <= args.rounds <= 10:
        parser.error("need 1 <= --rounds <= 10")
    plan = Plan(args.concurrency, 1.0, args.duration, 0.5, args.seq_duration, args.rounds)
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
