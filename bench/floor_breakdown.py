"""Where a near-cache hit's CPU goes, next to the floor (issue #15's CPU target).

    python -m bench.floor_breakdown [--seconds 4]

Three servers, each in its own process and driven by the same Python
grpc.aio client (one channel, 32 calls in flight); server CPU per call is the
process's utime + stime (``/proc``) over the measured window:

- the echo floor (``bench.echo_server``: raw bytes in and out, no protobuf);
- the same grpc.aio server answering ``CacheService/GetOrLoad`` with protobuf
  (de)serializers and one prebuilt 1 KiB ``GetOrLoadResponse``: what protobuf
  and a generated-message handler add, with no cachecar code at all;
- ``cachecar serve`` answering the same call from its near cache.

Then the sidecar's own handler alone: ``CacheServicer.GetOrLoad`` called
in-process (no gRPC) 50,000 times on a near-cache hit, CPU µs per call.
A benchmark, not a test: it prints what it measured and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.procs import Child, clean_env, cpu_us, serve_until_signalled, sidecar_child
from sidecar.devmode import RedisServer

__all__ = ["main"]

CONCURRENCY = 32
INPROC_CALLS = 50_000
VALUE = b"x" * 1024
_READY = "proto echo listening on "


async def _serve_proto_echo() -> None:
    """The floor plus protobuf: GetOrLoad answered with one prebuilt response."""
    reply = cache_pb2.GetOrLoadResponse(
        found=True, value=VALUE, source=cache_pb2.SOURCE_NEAR_CACHE, version=3
    )

    async def get_or_load(request: cache_pb2.GetOrLoadRequest, context: Any) -> Any:
        return reply

    handler = grpc.method_handlers_generic_handler(
        "cachecar.v1.CacheService",
        {
            "GetOrLoad": grpc.unary_unary_rpc_method_handler(
                get_or_load,
                request_deserializer=cache_pb2.GetOrLoadRequest.FromString,
                response_serializer=cache_pb2.GetOrLoadResponse.SerializeToString,
            )
        },
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await serve_until_signalled(server, f"{_READY}127.0.0.1:{port}")


async def _drive(call: Callable[[], Awaitable[object]], seconds: float) -> int:
    end = time.monotonic() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < end:
            await call()
            done += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done


async def _measure(child: Child, make_call: str, seconds: float) -> float:
    """Server CPU µs per call: 1 s warm-up, then ``seconds`` measured."""
    async with grpc.aio.insecure_channel(
        child.address, options=[("grpc.enable_http_proxy", 0)]
    ) as channel:
        if make_call == "echo":
            echo = channel.unary_unary("/bench.Echo/Echo")

            async def call() -> object:
                return await echo(b"k" * 30)
        else:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            request = cache_pb2.GetOrLoadRequest(namespace="bench", key="k")
            if make_call == "near":
                await cache.Set(cache_pb2.SetRequest(namespace="bench", key="k", value=VALUE))
                for _ in range(20):  # the second read fills the near cache
                    got = await cache.GetOrLoad(request)
                if got.source != cache_pb2.SOURCE_NEAR_CACHE:
                    raise RuntimeError("the sidecar did not serve the key from its near cache")

            async def call() -> object:
                return await cache.GetOrLoad(request)

        await _drive(call, 1.0)
        before = cpu_us(child.pid)
        calls = await _drive(call, seconds)
        return (cpu_us(child.pid) - before) / max(calls, 1)


def _config(path: Path, redis_url: str) -> Path:
    namespace = {"backend": "main", "ttl": "1h", "near_cache": {"max_bytes": "64MiB"}}
    path.write_text(
        yaml.safe_dump(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": redis_url},
                "namespaces": {"bench": namespace},
            }
        )
    )
    return path


class _Context:
    """What the servicer reads of a gRPC context on this path."""

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float:
        return 5.0

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"


async def _in_process(config: Path) -> float:
    """CPU µs per GetOrLoad near hit through the servicer, no gRPC."""
    from sidecar.api.cache import CacheServicer  # noqa: PLC0415  (this part only)
    from sidecar.config import load_settings  # noqa: PLC0415
    from sidecar.server import Sidecar  # noqa: PLC0415

    sidecar = Sidecar(load_settings(config))
    await sidecar.start()
    try:
        servicer = CacheServicer(
            sidecar.access, sidecar.cache, sidecar.writes, sidecar.flusher, sidecar.telemetry
        )
        context: Any = _Context()
        await servicer.Set(cache_pb2.SetRequest(namespace="bench", key="k", value=VALUE), context)
        request = cache_pb2.GetOrLoadRequest(namespace="bench", key="k")
        for _ in range(20):
            got = await servicer.GetOrLoad(request, context)
        if got.source != cache_pb2.SOURCE_NEAR_CACHE:
            raise RuntimeError("the in-process sidecar did not serve from its near cache")
        started = time.process_time()
        for _ in range(INPROC_CALLS):
            await servicer.GetOrLoad(request, context)
        return (time.process_time() - started) / INPROC_CALLS * 1e6
    finally:
        await sidecar.stop(grace=0)


async def _run(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="cachecar-floor-") as tmp, RedisServer() as redis:
        workdir = Path(tmp)
        config = _config(workdir / "near.yaml", redis.url)
        env = clean_env()
        servers = [
            (
                "echo floor (raw bytes, no protobuf)",
                "echo",
                Child(
                    "echo",
                    [sys.executable, "-m", "bench.echo_server", "--reply-bytes", "1024"],
                    logdir=workdir,
                    env=env,
                    ready_prefix="echo listening on ",
                ),
            ),
            (
                "grpc.aio + protobuf, prebuilt GetOrLoadResponse",
                "proto",
                Child(
                    "proto",
                    [sys.executable, "-m", "bench.floor_breakdown", "--serve-proto"],
                    logdir=workdir,
                    env=env,
                    ready_prefix=_READY,
                ),
            ),
            ("cachecar near-cache hit", "near", sidecar_child("near", config, logdir=workdir)),
        ]
        rows: list[tuple[str, float]] = []
        for title, kind, child in servers:
            with child:
                rows.append((title, await _measure(child, kind, seconds)))
        handler = await _in_process(config)
    floor = rows[0][1]
    print(f"server CPU per call, {CONCURRENCY} in flight, {seconds:g} s measured per row:")
    for title, us in rows:
        print(f"  {title:<50} {us:7.1f} µs  {us / floor:5.2f}x floor")
    print(f"  {'the sidecar handler alone, in-process':<50} {handler:7.1f} µs")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_breakdown")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per row")
    parser.add_argument("--serve-proto", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_proto:
        asyncio.run(_serve_proto_echo())
        return 0
    if not 0 < args.seconds <= 60:
        parser.error("--seconds must be in (0, 60]")
    asyncio.run(_run(args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
