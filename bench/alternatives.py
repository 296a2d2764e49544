"""Server models for the GetOrLoad hit, side by side: which is cheapest per hit?

``python -m bench.alternatives`` measures, in one run against one private
redis-server and with the Node.js load generator (one channel, 32 in flight),
minimal ``cachecar.v1.CacheService/GetOrLoad`` servers that each do a hit's
work — decode the request, resolve the namespace, one Redis ``GET`` of the
stored entry (14-byte envelope header + 1 KiB), answer found/value/CACHE —
next to the echo floors of the two gRPC server models:

1. echo floor, grpc.aio (``bench.echo_server``, as ``make bench`` row a);
2. echo floor, sync ``grpc.server`` with a thread pool of 4, 8 and 16;
3. grpc.aio + redis-py asyncio (``redis.asyncio``);
4. grpc.aio + ``sidecar.backends.redis.resp.RespPool`` (the sidecar's hit path);
5. sync ``grpc.server`` + redis-py sync (a connection pool), pools of 4, 8, 16;
6. grpc.aio, generic handler with the messages' FromString/SerializeToString
   registered directly (no generated servicer) + RespPool;
5b. sync ``grpc.server`` + a blocking hiredis socket per thread (no redis-py),
   pools of 4, 8, 16: the sync model's lean client, as RespPool is aio's;
7. variant 4 in 2 processes on one port (``grpc.so_reuseport``), loaded by
   two generators of 16 in flight each (one channel is one connection, which
   SO_REUSEPORT gives to one process): CPU is the sum of both processes.

Server CPU per RPC is utime+stime from ``/proc/<pid>/stat`` over the
measured window only, as in ``make bench``. Each server runs as a child of
this module (``--serve VARIANT``). Exit code 0 whatever the timings, 2 when
it could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import grpc
import hiredis
import redis
import redis.asyncio
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.echo_server import METHOD as ECHO_METHOD
from bench.loadgen import ensure_node_modules, node_versions, run_loadgen
from bench.measure import Measured
from bench.procs import Child, ChildFailed, clean_env, serve_until_signalled
from bench.report import REDIS, SERVER
from sidecar.backends.redis.resp import RespPool
from sidecar.devmode import MissingBinary, RedisServer, ServerStartError, free_port

__all__ = ["main"]

NAMESPACE = "bench"
VALUE_BYTES = 1024
HEADER_BYTES = 14
HOT_KEYS = [f"hot-{i:03d}" for i in range(100)]
GET_OR_LOAD = "cachecar.v1.CacheService/GetOrLoad"
SERVICE = "cachecar.v1.CacheService"
READY = "alt listening on "
POOLS = (4, 8, 16)
#: namespace -> Redis key prefix, as the sidecar resolves it (``cc:v{ns:key}``).
PREFIXES = {NAMESPACE: "cc:v{" + NAMESPACE + ":"}

Response = cache_pb2.GetOrLoadResponse
Request = cache_pb2.GetOrLoadRequest


def _redis_key(request: Request) -> str:
    prefix = PREFIXES.get(request.namespace)
    if prefix is None:
        raise KeyError(request.namespace)
    return f"{prefix}{request.key}}}"


def _answer(raw: Any) -> Response:
    if raw is None:
        return Response(found=False, source=cache_pb2.SOURCE_CACHE)
    return Response(found=True, value=raw[HEADER_BYTES:], source=cache_pb2.SOURCE_CACHE)


# --- the servers (children) -------------------------------------------------


def _concrete(cls: Any) -> Any:
    """An instance of a servicer that implements GetOrLoad only.

    The generated base class answers UNIMPLEMENTED for the other methods at
    run time; the type stubs declare them abstract, hence the Any.
    """
    return cls()


def _options(reuseport: bool) -> list[tuple[str, Any]]:
    return [("grpc.so_reuseport", 1 if reuseport else 0)]


def _announce(listen: str, port: int) -> None:
    print(f"{READY}{listen.rpartition(':')[0]}:{port}", flush=True)


async def _serve_aio(variant: str, listen: str, url: str, reuseport: bool) -> None:
    server = grpc.aio.server(options=_options(reuseport))
    closers: list[Callable[[], Any]] = []
    if variant == "aio-redispy":
        client = redis.asyncio.Redis.from_url(url)
        closers.append(client.aclose)

        class RedisPyServicer(cache_pb2_grpc.CacheServiceServicer):
            async def GetOrLoad(self, request: Request, context: Any) -> Response:
                raw = await client.get(_redis_key(request))
                return _answer(raw)

        cache_pb2_grpc.add_CacheServiceServicer_to_server(_concrete(RedisPyServicer), server)
    elif variant in ("aio-resp", "aio-generic-resp"):
        pool = RespPool(url, username=None, timeout=1.0, connect_timeout=1.0, ssl_context=None)
        closers.append(pool.close)

        async def get_or_load(request: Request, context: Any) -> Response:
            raw: bytes | None = await pool.execute("GET", _redis_key(request))
            return _answer(raw)

        if variant == "aio-resp":

            class RespServicer(cache_pb2_grpc.CacheServiceServicer):
                async def GetOrLoad(self, request: Request, context: Any) -> Response:
                    return await get_or_load(request, context)

            cache_pb2_grpc.add_CacheServiceServicer_to_server(_concrete(RespServicer), server)
        else:
            handler = grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    "GetOrLoad": grpc.unary_unary_rpc_method_handler(
                        get_or_load,
                        request_deserializer=Request.FromString,
                        response_serializer=Response.SerializeToString,
                    )
                },
            )
            server.add_generic_rpc_handlers((handler,))
    else:
        raise SystemExit(f"unknown aio variant {variant}")
    port = server.add_insecure_port(listen)
    await server.start()
    await serve_until_signalled(server, f"{READY}{listen.rpartition(':')[0]}:{port}")
    for close in closers:
        result = close()
        if asyncio.iscoroutine(result):
            await result


def _hiredis_getter(url: str) -> Callable[[str], Any]:
    """A blocking GET on one socket per thread, replies parsed by hiredis."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 6379)
    local = threading.local()

    def get(key: str) -> Any:
        conn: tuple[socket.socket, hiredis.Reader] | None = getattr(local, "conn", None)
        if conn is None:
            sock = socket.create_connection(address, timeout=1.0)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = local.conn = (sock, hiredis.Reader())
        sock, reader = conn
        command: Any = ("GET", key)  # the stubs type the tuple as one element
        sock.sendall(hiredis.pack_command(command))
        while (reply := reader.gets()) is False:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("redis closed the connection")
            reader.feed(data)
        return reply

    return get


def _serve_sync(variant: str, listen: str, url: str, threads: int, reuseport: bool) -> None:
    server = grpc.server(ThreadPoolExecutor(threads), options=_options(reuseport))
    if variant == "sync-echo":
        reply = b"a" * VALUE_BYTES

        def echo(request: bytes, context: Any) -> bytes:
            return reply

        service, _, name = ECHO_METHOD.strip("/").partition("/")
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    service, {name: grpc.unary_unary_rpc_method_handler(echo)}
                ),
            )
        )
    elif variant == "sync-redispy":
        pool = redis.ConnectionPool.from_url(url, max_connections=threads)
        client = redis.Redis(connection_pool=pool)

        class SyncServicer(cache_pb2_grpc.CacheServiceServicer):
            def GetOrLoad(self, request: Request, context: Any) -> Response:
                raw = client.get(_redis_key(request))
                return _answer(raw)

        cache_pb2_grpc.add_CacheServiceServicer_to_server(_concrete(SyncServicer), server)
    elif variant == "sync-hiredis":
        get = _hiredis_getter(url)

        class HiredisServicer(cache_pb2_grpc.CacheServiceServicer):
            def GetOrLoad(self, request: Request, context: Any) -> Response:
                return _answer(get(_redis_key(request)))

        cache_pb2_grpc.add_CacheServiceServicer_to_server(_concrete(HiredisServicer), server)
    else:
        raise SystemExit(f"unknown sync variant {variant}")
    port = server.add_insecure_port(listen)
    server.start()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    _announce(listen, port)
    while not stop.wait(0.5):
        pass
    server.stop(1.0).wait(2.0)


def serve(variant: str, listen: str, url: str, threads: int, reuseport: bool) -> None:
    if variant.startswith("sync-"):
        _serve_sync(variant, listen, url, threads, reuseport)
    else:
        asyncio.run(_serve_aio(variant, listen, url, reuseport))


# --- the bench (parent) -----------------------------------------------------


@dataclass
class Result:
    name: str
    family: str  # "aio" or "sync": which echo floor it is compared with
    measured: Measured
    cpu_us: float | None
    rate: float
    p50_us: float | None
    p99_us: float | None
    other_cores: float | None
    redis_us: float | None
    notes: list[str] = field(default_factory=list)
    #: Variant 7: process A's share of the servers' CPU.
    share: float | None = None


@dataclass
class Run:
    workdir: Path
    url: str
    redis_pid: int
    concurrency: int
    warmup: float
    duration: float

    def child(self, name: str, variant: str, threads: int = 8, listen: str = "") -> Child:
        argv = [
            sys.executable, "-m", "bench.alternatives", "--serve", variant,
            "--redis", self.url, "--threads", str(threads),
            "--listen", listen or "127.0.0.1:0",
        ]  # fmt: skip
        if listen:
            argv.append("--reuseport")
        return Child(name, argv, logdir=self.workdir, env=clean_env(), ready_prefix=READY)

    def load(self, target: str, method: str, pids: Sequence[int], hits: bool) -> Measured:
        watch = {REDIS: self.redis_pid}
        watch.update({SERVER if i == 0 else f"{SERVER}{i}": pid for i, pid in enumerate(pids)})
        requests = [{"namespace": NAMESPACE, "key": k} for k in HOT_KEYS] if hits else []
        return run_loadgen(
            target,
            method,
            requests=requests,
            concurrency=self.concurrency,
            warmup=self.warmup,
            duration=self.duration,
            watch=watch,
            logdir=self.workdir,
            check_hits=hits,
        )


def _servers_cpu(m: Measured) -> float:
    return sum(v for k, v in m.server_cpu_us.items() if k.startswith(SERVER))


def _result(name: str, family: str, m: Measured) -> Result:
    cpu = _servers_cpu(m) / m.calls if m.calls else None
    notes = []
    if m.errors or m.check_failures:
        notes.append(f"{m.errors} errors, {m.check_failures} non-hits (first: {m.first_error})")
    redis_cpu = m.server_cpu_us.get(REDIS)
    redis_us = redis_cpu / m.calls if redis_cpu and m.calls else None
    return Result(name, family, m, cpu, m.rate, m.p50_us, m.p99_us, m.other_cores, redis_us, notes)


def bench_aio_echo(run: Run) -> Result:
    echo = Child(
        "echo",
        [sys.executable, "-m", "bench.echo_server", "--reply-bytes", str(VALUE_BYTES)],
        logdir=run.workdir,
        env=clean_env(),
        ready_prefix="echo listening on ",
    )
    with echo:
        m = run.load(echo.address, ECHO_METHOD, [echo.pid], hits=False)
    return _result("1. echo floor, grpc.aio", "aio", m)


def bench_one(run: Run, title: str, family: str, variant: str, threads: int = 8) -> Result:
    hits = variant != "sync-echo"
    with run.child(variant, variant, threads) as child:
        method = GET_OR_LOAD if hits else ECHO_METHOD
        m = run.load(child.address, method, [child.pid], hits=hits)
    return _result(title, family, m)


def bench_best_pool(run: Run, title: str, variant: str) -> tuple[Result, list[str]]:
    tried = [bench_one(run, f"{title} ({n} threads)", "sync", variant, n) for n in POOLS]
    scored = [r for r in tried if r.cpu_us is not None]
    best = min(scored or tried, key=lambda r: r.cpu_us or float("inf"))
    summary = ", ".join(
        f"{n} thr {r.cpu_us:.0f} µs/{r.rate:,.0f} rps" if r.cpu_us is not None else f"{n} thr ?"
        for n, r in zip(POOLS, tried, strict=True)
    )
    return best, [f"{title}: {summary} -> kept the lowest CPU/RPC"]


def bench_reuseport(run: Run, attempts: int = 3) -> Result:
    """Variant 4 x2 on one port; retried while the kernel gave both connections to one."""
    result = _reuseport_once(run)
    for _ in range(attempts - 1):
        if result.share is None or 0.1 <= result.share <= 0.9:
            break
        print("alternatives: reuseport: one process got both connections, again", file=sys.stderr)
        result = _reuseport_once(run)
    return result


def _reuseport_once(run: Run) -> Result:
    """Variant 4 in two processes on one port; two generators of half the load each."""
    port = free_port()
    listen = f"127.0.0.1:{port}"
    a = run.child("resp-a", "aio-resp", listen=listen)
    b = run.child("resp-b", "aio-resp", listen=listen)
    with a, b:
        pids = [a.pid, b.pid]
        half = Run(
            run.workdir / "a", run.url, run.redis_pid, run.concurrency // 2, run.warmup,
            run.duration,
        )  # fmt: skip
        other = Run(
            run.workdir / "b", run.url, run.redis_pid, run.concurrency // 2, run.warmup,
            run.duration,
        )  # fmt: skip
        half.workdir.mkdir(exist_ok=True)
        other.workdir.mkdir(exist_ok=True)
        out: dict[str, Measured] = {}

        def go(key: str, r: Run) -> None:
            out[key] = r.load(listen, GET_OR_LOAD, pids, hits=True)

        threads = [
            threading.Thread(target=go, args=("a", half)),
            threading.Thread(target=go, args=("b", other)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if set(out) != {"a", "b"}:
        raise ChildFailed("a reuseport load generator gave no result")
    ma, mb = out["a"], out["b"]
    # Both windows start within a few ms of each other: CPU of both servers over
    # generator a's window, divided by all calls completed in both windows
    # scaled to a's window length.
    calls_b = mb.calls * (ma.window_s / mb.window_s) if mb.window_s else 0.0
    total_calls = ma.calls + calls_b
    cpu = _servers_cpu(ma) / total_calls if total_calls else None
    split = [ma.server_cpu_us.get(SERVER, 0.0), ma.server_cpu_us.get(f"{SERVER}1", 0.0)]
    share = split[0] / sum(split) if sum(split) else 0.0
    notes = [
        f"7.: 2 generators x {run.concurrency // 2} in flight; process A took "
        f"{share:.0%} of the server CPU; other cores include the second generator "
        f"({mb.client_cores:.2f} cores); p50/p99 are generator A's; two channels, so "
        "its ratios are not strictly like for like with the one-channel echo floor"
    ]
    for m in (ma, mb):
        if m.errors or m.check_failures:
            notes.append(f"7.: {m.errors} errors, {m.check_failures} non-hits ({m.first_error})")
    other_cores = ma.other_cores
    if other_cores is not None:
        other_cores = max(0.0, other_cores - mb.client_cores)
    return Result(
        "7. aio+RespPool x2 procs (reuseport)",
        "aio",
        ma,
        cpu,
        ma.rate + mb.rate,
        ma.p50_us,
        ma.p99_us,
        other_cores,
        ma.server_cpu_us.get(REDIS, 0.0) / total_calls if total_calls else None,
        notes,
        share,
    )


def _store(url: str) -> None:
    value = os.urandom(VALUE_BYTES)
    header = b"\x01" + b"\x00" * (HEADER_BYTES - 1)  # stands in for the sidecar's envelope
    with redis.Redis.from_url(url) as client:
        for key in HOT_KEYS:
            client.set(f"{PREFIXES[NAMESPACE]}{key}}}", header + value)


def _fmt(v: float | None, spec: str = ".0f") -> str:
    return "-" if v is None else format(v, spec)


def render(results: list[Result], notes: list[str], machine: str) -> str:
    aio = next((r.cpu_us for r in results if r.name.startswith("1.")), None)
    sync = next((r.cpu_us for r in results if r.name.startswith("2.")), None)
    head = [
        "variant",
        "RPC/s",
        "p50/p99 µs",
        "server CPU µs/RPC",
        "x own echo",
        "x aio echo",
        "redis µs/RPC",
        "other cores",
    ]
    rows = []
    for r in results:
        own = aio if r.family == "aio" else sync
        rows.append(
            [
                r.name,
                f"{r.rate:,.0f}",
                f"{_fmt(r.p50_us)}/{_fmt(r.p99_us)}",
                _fmt(r.cpu_us),
                _fmt(r.cpu_us / own if r.cpu_us and own else None, ".2f") + "x",
                _fmt(r.cpu_us / aio if r.cpu_us and aio else None, ".2f") + "x",
                _fmt(r.redis_us),
                _fmt(r.other_cores, ".2f"),
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [machine, "", line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    out.append("")
    if aio is not None:
        best = min(
            (r for r in results if r.cpu_us is not None and "echo" not in r.name),
            key=lambda r: r.cpu_us or 0.0,
            default=None,
        )
        if best is not None and best.cpu_us is not None:
            ratio = best.cpu_us / aio
            verdict = "met" if ratio <= 1.15 and best.cpu_us <= 300 else "NOT MET"
            out.append(
                f"cheapest hit: {best.name} at {best.cpu_us:.0f} µs/RPC = {ratio:.2f}x the aio "
                f"echo floor (target <= 1.15x and <= 300 µs: {verdict})"
            )
    out += [f"note: {n}" for n in notes]
    for r in results:
        out += [f"note: {r.name}: {n}" for n in r.notes]
    return "\n".join(out)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.alternatives", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--no-reuseport", action="store_true", help="skip variant 7")
    # The child side: serve one variant.
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--listen", default="127.0.0.1:0", help=argparse.SUPPRESS)
    parser.add_argument("--reuseport", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.listen, args.redis or "", args.threads, args.reuseport)
        return 0

    signal.signal(signal.SIGTERM, _interrupt)
    results: list[Result] = []
    notes: list[str] = []
    try:
        ensure_node_modules()
        with (
            tempfile.TemporaryDirectory(prefix="cachecar-alt-") as tmp,
            RedisServer() as redis_server,
        ):
            pid = redis_server.pid or 0
            _store(redis_server.url)
            run = Run(
                Path(tmp), redis_server.url, pid, args.concurrency, args.warmup, args.duration
            )
            steps: list[tuple[str, Callable[[], None]]] = []

            def add(result: Result) -> None:
                results.append(result)

            def pooled(title: str, variant: str) -> None:
                best, summary = bench_best_pool(run, title, variant)
                results.append(best)
                notes.extend(summary)

            steps = [
                ("aio echo", lambda: add(bench_aio_echo(run))),
                ("sync echo", lambda: pooled("2. echo floor, sync grpc.server", "sync-echo")),
                (
                    "aio redis-py",
                    lambda: add(bench_one(run, "3. aio + redis.asyncio", "aio", "aio-redispy")),
                ),
                ("aio resp", lambda: add(bench_one(run, "4. aio + RespPool", "aio", "aio-resp"))),
                ("sync redis-py", lambda: pooled("5. sync + redis-py pool", "sync-redispy")),
                (
                    "sync hiredis",
                    lambda: pooled("5b. sync + hiredis socket/thread", "sync-hiredis"),
                ),
                (
                    "aio generic",
                    lambda: add(
                        bench_one(
                            run, "6. aio generic handler + RespPool", "aio", "aio-generic-resp"
                        )
                    ),
                ),
            ]
            if not args.no_reuseport:
                steps.append(("reuseport", lambda: add(bench_reuseport(run))))
            for label, step in steps:
                print(f"alternatives: {label} ...", file=sys.stderr, flush=True)
                step()
            machine = f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, " + node_versions()
    except KeyboardInterrupt:
        print("alternatives: interrupted; every child process was stopped", file=sys.stderr)
        return 130
    except (ChildFailed, MissingBinary, ServerStartError, TimeoutError, grpc.RpcError) as exc:
        print(f"alternatives: {exc}", file=sys.stderr)
        return 2
    notes.append(
        f"{args.concurrency} in flight, one Node.js channel, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured; server CPU = utime+stime over the window / calls; "
        "sync rows: x own echo is to the best sync echo floor"
    )
    print(render(results, notes, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
