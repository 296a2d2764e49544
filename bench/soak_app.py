"""The app of the soak run: a LoaderService and a WriterService with fault knobs.

A real gRPC app in its own process (``python -m bench.soak_app``), with two
servers so the writer can really go away while the loader stays up:

- the **loader** server: ``LoaderService.Load`` (sleeps ``--load-ms``; keys
  starting with ``missing`` are ``found=false``) plus two bench-only methods
  on raw JSON bytes, ``/bench.Soak/Stats`` and ``/bench.Soak/Fault``;
- the **writer** server: ``WriterService.Write`` / ``WriteBatch``, recording
  per ``namespace/key`` the rows received, the last and the highest sequence
  number (the value, when it is an integer: what ``bench.soak`` enqueues),
  how often a key went backwards, and duplicate ``write_id`` s.

Faults (``/bench.Soak/Fault``, JSON ``{"loader_fail_s": 5}`` or
``{"writer_down_s": 5}``): the loader answers ``UNAVAILABLE`` for that long;
the writer server is stopped (connections refused) and started again on the
same port after that long. Both replies return at once.

Prints ``soak-app listening on LOADER_ADDR WRITER_ADDR`` once it serves and
stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cachecar.v1 import loader_pb2, loader_pb2_grpc, writer_pb2, writer_pb2_grpc

from bench.procs import Child, clean_env, serve_until_signalled

__all__ = ["READY", "SoakApp", "fetch_json", "main", "soak_app_child"]

READY = "soak-app listening on "
STATS_METHOD = "/bench.Soak/Stats"
FAULT_METHOD = "/bench.Soak/Fault"
#: Longest fault the app accepts, so a typo cannot take the writer away for an hour.
MAX_FAULT_S = 60.0
#: Attempts to bind the writer's port again after a planned outage.
_REBIND_ATTEMPTS = 40


@dataclass
class _KeyWrites:
    rows: int = 0
    last_seq: int = -1
    max_seq: int = -1
    #: Rows whose sequence number was below one the key already had.
    regressions: int = 0


@dataclass
class SoakApp:
    """What the app saw, and its fault knobs."""

    load_s: float
    loads: int = 0
    load_errors: int = 0
    not_found: int = 0
    write_calls: int = 0
    batch_calls: int = 0
    rows: int = 0
    duplicate_write_ids: int = 0
    writer_outages: int = 0
    writer_rebind_failures: int = 0
    loader_fail_until: float = 0.0
    keys: dict[str, _KeyWrites] = field(default_factory=dict)
    _write_ids: set[str] = field(default_factory=set)

    def record(self, write: writer_pb2.WriteRequest) -> None:
        self.rows += 1
        if write.write_id:
            if write.write_id in self._write_ids:
                self.duplicate_write_ids += 1
            self._write_ids.add(write.write_id)
        entry = self.keys.setdefault(f"{write.namespace}/{write.key}", _KeyWrites())
        entry.rows += 1
        try:
            seq = int(write.value)
        except ValueError:
            return
        if seq < entry.max_seq:
            entry.regressions += 1
        entry.last_seq = seq
        entry.max_seq = max(entry.max_seq, seq)

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "loads": self.loads,
                "load_errors": self.load_errors,
                "not_found": self.not_found,
                "write_calls": self.write_calls,
                "batch_calls": self.batch_calls,
                "rows": self.rows,
                "duplicate_write_ids": self.duplicate_write_ids,
                "writer_outages": self.writer_outages,
                "writer_rebind_failures": self.writer_rebind_failures,
                "keys": {
                    k: [v.rows, v.last_seq, v.max_seq, v.regressions] for k, v in self.keys.items()
                },
            }
        ).encode()


class _Loader(loader_pb2_grpc.LoaderServiceServicer):
    def __init__(self, app: SoakApp) -> None:
        self._app = app

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        if time.monotonic() < self._app.loader_fail_until:
            self._app.load_errors += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "soak: the database is down")
        self._app.loads += 1
        await asyncio.sleep(self._app.load_s)  # the app's database read
        if request.key.startswith("missing"):
            self._app.not_found += 1
            return loader_pb2.LoadResponse(found=False)
        return loader_pb2.LoadResponse(found=True, value=f"loaded:{request.key}".encode())


class _Writer(writer_pb2_grpc.WriterServiceServicer):
    def __init__(self, app: SoakApp) -> None:
        self._app = app

    async def Write(
        self, request: writer_pb2.WriteRequest, context: Any
    ) -> writer_pb2.WriteResponse:
        self._app.write_calls += 1
        self._app.record(request)
        return writer_pb2.WriteResponse()

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: Any
    ) -> writer_pb2.WriteBatchResponse:
        self._app.batch_calls += 1
        for write in request.writes:
            self._app.record(write)
        return writer_pb2.WriteBatchResponse()


class _WriterServer:
    """The writer's own server, which a fault stops and starts on the same port."""

    def __init__(self, app: SoakApp, host: str) -> None:
        self._app = app
        self._host = host
        self.port = 0
        self.server: grpc.aio.Server | None = None
        self.outage: asyncio.Task[None] | None = None

    async def start(self) -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        writer_pb2_grpc.add_WriterServiceServicer_to_server(_Writer(self._app), server)
        self.port = server.add_insecure_port(f"{self._host}:{self.port}")
        await server.start()
        self.server = server

    async def go_down(self, seconds: float) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None
        self._app.writer_outages += 1
        await asyncio.sleep(seconds)
        for _ in range(_REBIND_ATTEMPTS):
            try:
                await self.start()
            except RuntimeError:  # the port is not free again yet
                self._app.writer_rebind_failures += 1
                await asyncio.sleep(0.25)
            else:
                return

    async def stop(self) -> None:
        if self.outage is not None:
            self.outage.cancel()
        if self.server is not None:
            await self.server.stop(1.0)


async def serve(listen: str, load_ms: float) -> None:
    app = SoakApp(load_s=load_ms / 1000)
    host = listen.rpartition(":")[0]
    writer = _WriterServer(app, host)
    await writer.start()

    async def stats(request: bytes, context: Any) -> bytes:
        return app.as_json()

    async def fault(request: bytes, context: Any) -> bytes:
        ask: dict[str, float] = json.loads(request)
        if "loader_fail_s" in ask:
            app.loader_fail_until = time.monotonic() + min(ask["loader_fail_s"], MAX_FAULT_S)
        if "writer_down_s" in ask and (writer.outage is None or writer.outage.done()):
            writer.outage = asyncio.create_task(
                writer.go_down(min(ask["writer_down_s"], MAX_FAULT_S))
            )
        return b"{}"

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(_Loader(app), server)
    handlers = {
        "Stats": grpc.unary_unary_rpc_method_handler(stats),
        "Fault": grpc.unary_unary_rpc_method_handler(fault),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Soak", handlers),))
    port = server.add_insecure_port(listen)
    await server.start()
    try:
        await serve_until_signalled(server, f"{READY}{host}:{port} {host}:{writer.port}")
    finally:
        await writer.stop()


def soak_app_child(*, logdir: Path, load_ms: float = 5.0) -> Child:
    """This module as a :class:`Child` (not yet started); its ``address`` is
    ``"LOADER_ADDR WRITER_ADDR"``."""
    return Child(
        "soak-app",
        [sys.executable, "-m", "bench.soak_app", "--load-ms", str(load_ms)],
        logdir=logdir,
        env=clean_env(),
        ready_prefix=READY,
    )


async def fetch_json(
    channel: grpc.aio.Channel, method: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Call one of the app's JSON methods (``STATS_METHOD``, ``FAULT_METHOD``)."""
    call = channel.unary_unary(method)  # no serializers: bytes both ways
    reply = await call(json.dumps(body or {}).encode(), timeout=10)
    result: dict[str, Any] = json.loads(reply)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--load-ms", type=float, default=5.0, help="Load's sleep (5)")
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.load_ms))


if __name__ == "__main__":
    main()
