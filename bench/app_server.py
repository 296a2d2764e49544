"""The app the pattern benchmarks call back: a LoaderService and a WriterService that count.

A real gRPC server in its own process, as the app would be (a fake *app* is
fine, STYLE.md): the sidecars call ``LoaderService.Load`` on a miss and
``WriterService.Write`` / ``WriteBatch`` for write-through and write-behind.

- ``Load`` sleeps ``--load-ms`` (the app's database read) and records when
  each call started, per key, so the bench can count loads per cold key and
  per expiry.
- ``Write`` / ``WriteBatch`` record the calls, the rows per key and each
  key's last written value (to check that write-behind kept the final one).

``/bench.App/Stats`` (raw bytes, no proto) returns everything recorded as
JSON; the bench reads it between phases with :func:`fetch_stats`, and starts
the app with :func:`app_child`.

    python -m bench.app_server [--listen 127.0.0.1:0] [--load-ms 50]

prints ``app listening on HOST:PORT`` once it serves, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cachecar.v1 import loader_pb2, loader_pb2_grpc, writer_pb2, writer_pb2_grpc

from bench.procs import Child, clean_env, serve_until_signalled

__all__ = ["READY", "STATS_METHOD", "AppStats", "app_child", "fetch_stats", "main"]

#: The first stdout line, followed by HOST:PORT.
READY = "app listening on "
#: The full method path of the bench-only statistics call.
STATS_METHOD = "/bench.App/Stats"


@dataclass
class AppStats:
    """What the app saw; serialized as the Stats reply."""

    #: Start time of every Load (``time.monotonic()``: one clock for every
    #: process on the host, so the bench can place loads on its own timeline).
    loads: dict[str, list[float]] = field(default_factory=dict)
    write_calls: int = 0
    write_batch_calls: int = 0
    #: Rows written per key, by Write and WriteBatch together.
    rows: Counter[str] = field(default_factory=Counter)
    #: The last value written per key (WriteBatch rows in the order sent).
    last_value: dict[str, str] = field(default_factory=dict)
    #: ``time.monotonic()`` of each WriteBatch call.
    batch_times: list[float] = field(default_factory=list)

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "loads": self.loads,
                "write_calls": self.write_calls,
                "write_batch_calls": self.write_batch_calls,
                "rows": dict(self.rows),
                "last_value": self.last_value,
                "batch_times": self.batch_times,
            }
        ).encode()


class _Loader(loader_pb2_grpc.LoaderServiceServicer):
    def __init__(self, stats: AppStats, load_s: float) -> None:
        self._stats = stats
        self._load_s = load_s

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        self._stats.loads.setdefault(request.key, []).append(time.monotonic())
        await asyncio.sleep(self._load_s)  # the app's database read
        return loader_pb2.LoadResponse(found=True, value=f"loaded:{request.key}".encode())


class _Writer(writer_pb2_grpc.WriterServiceServicer):
    def __init__(self, stats: AppStats) -> None:
        self._stats = stats

    def _row(self, write: writer_pb2.WriteRequest) -> None:
        self._stats.rows[write.key] += 1
        self._stats.last_value[write.key] = write.value.decode(errors="replace")

    async def Write(
        self, request: writer_pb2.WriteRequest, context: Any
    ) -> writer_pb2.WriteResponse:
        self._stats.write_calls += 1
        self._row(request)
        return writer_pb2.WriteResponse()

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: Any
    ) -> writer_pb2.WriteBatchResponse:
        self._stats.write_batch_calls += 1
        self._stats.batch_times.append(time.monotonic())
        for write in request.writes:
            self._row(write)
        return writer_pb2.WriteBatchResponse()


async def serve(listen: str, load_ms: float) -> None:
    stats = AppStats()

    async def report(request: bytes, context: Any) -> bytes:
        return stats.as_json()

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(_Loader(stats, load_ms / 1000), server)
    writer_pb2_grpc.add_WriterServiceServicer_to_server(_Writer(stats), server)
    # No serializers: the handler gets and returns raw bytes, so no bench proto is needed.
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "bench.App", {"Stats": grpc.unary_unary_rpc_method_handler(report)}
            ),
        )
    )
    port = server.add_insecure_port(listen)
    await server.start()
    await serve_until_signalled(server, f"{READY}{listen.rpartition(':')[0]}:{port}")


def app_child(name: str, *, logdir: Path, load_ms: float = 50.0) -> Child:
    """This module as a :class:`Child` of the bench (not yet started)."""
    return Child(
        name,
        [sys.executable, "-m", "bench.app_server", "--load-ms", str(load_ms)],
        logdir=logdir,
        env=clean_env(),
        ready_prefix=READY,
    )


async def fetch_stats(channel: grpc.aio.Channel) -> dict[str, Any]:
    """Everything the app recorded so far (see :class:`AppStats`)."""
    call = channel.unary_unary(STATS_METHOD)  # no serializers: bytes both ways
    reply = await call(b"", timeout=10)
    stats: dict[str, Any] = json.loads(reply)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--load-ms", type=float, default=50.0, help="Load's sleep (50)")
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.load_ms))


if __name__ == "__main__":
    main()
