"""The sidecar's connection to the app: kept on a default server, and a clean log.

A gRPC server on default settings (``grpc.aio.server()`` here; Go's
``grpc.NewServer()`` alike) treats a keepalive ping on a connection without
calls as abuse and, after two strikes, answers GOAWAY "too_many_pings". The
sidecar's Loader/Writer channels must therefore not ping an idle app. The
real policy takes minutes to trip (the C core spaces a client's pings at
least a minute apart); the first test compresses time by lowering those
client-side throttles, which speeds up whatever pings the options ask for
and nothing else, and shows with the previous options that it sees a GOAWAY
when there is one. A reconnect shows as a new peer port at the app.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc, loader_pb2, loader_pb2_grpc

from sidecar.callbacks import CHANNEL_OPTIONS
from tests.test_process import spawn_sidecar, write_config

#: The client's own ping throttles, lowered to fit minutes into seconds.
_FAST_PINGS = [
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_time_between_pings_ms", 100),
]
#: What the callback channels asked for before: a ping every 30 s, idle or not
#: (here scaled down to 1 s).
_PINGING = [("grpc.keepalive_time_ms", 1_000), ("grpc.keepalive_permit_without_calls", 1)]


class PeerApp(loader_pb2_grpc.LoaderServiceServicer):
    """A LoaderService that remembers the connection (peer) of every call."""

    def __init__(self) -> None:
        self.peers: list[str] = []

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        self.peers.append(context.peer())
        return loader_pb2.LoadResponse(found=True, value=request.key.encode())


@pytest.fixture
async def default_app() -> AsyncIterator[tuple[PeerApp, str]]:
    app = PeerApp()
    server = grpc.aio.server()  # default settings on purpose: the ping policy under test
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(app, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield app, f"127.0.0.1:{port}"
    await server.stop(None)


async def _load_idle_load(target: str, *layers: list[tuple[str, int]]) -> None:
    # Later layers override earlier ones (gRPC itself would take the first of a key).
    options = list({name: value for layer in layers for name, value in layer}.items())
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = loader_pb2_grpc.LoaderServiceStub(channel)
        await stub.Load(loader_pb2.LoadRequest(namespace="n", key="a"), timeout=5)
        # 4 s at one ping per 0.1-1 s: well past three pings, two strikes.
        await asyncio.sleep(4)
        await stub.Load(loader_pb2.LoadRequest(namespace="n", key="b"), timeout=5)


@pytest.mark.slow
async def test_callback_channel_is_not_sent_away_by_a_default_server(
    default_app: tuple[PeerApp, str],
) -> None:
    app, target = default_app
    await _load_idle_load(target, CHANNEL_OPTIONS, _FAST_PINGS)
    assert app.peers[0] == app.peers[1], "the idle connection was closed (GOAWAY?)"
    # The control: pinging options on the same server lose their connection.
    app.peers.clear()
    await _load_idle_load(target, CHANNEL_OPTIONS, _PINGING, _FAST_PINGS)
    assert app.peers[0] != app.peers[1], "the test would not have seen a GOAWAY"


@pytest.mark.slow
async def test_sidecar_keeps_the_app_connection_and_logs_only_json(
    redis_url: str, default_app: tuple[PeerApp, str], tmp_path: Path
) -> None:
    app, target = default_app
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main", "loader": target}},
        },
    )
    # GRPC_VERBOSITY=info: the C core writes plenty of its own lines to fd 2,
    # every one of which must reach the log as JSON.
    proc, address = spawn_sidecar(
        ["serve", "--config", str(config)], env={"GRPC_VERBOSITY": "info"}
    )
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            for key in ("a", "b"):
                reply = await cache.GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=5
                )
                assert reply.value == key.encode()
                await asyncio.sleep(2)
    finally:
        proc.terminate()
        _, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, err
    assert len(app.peers) == 2
    assert app.peers[0] == app.peers[1], "the sidecar reconnected to the app"
    lines = [json.loads(line) for line in err.splitlines()]  # a non-JSON line fails here
    assert not [line for line in lines if "GOAWAY" in line["event"]]
    core = [line for line in lines if line["logger"] == "grpc.core"]
    assert core, "GRPC_VERBOSITY=info printed nothing through the log"
    assert any(line["event"] == "cachecar stopped" for line in lines)
