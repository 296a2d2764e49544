"""A zombie flusher cannot reorder the app's writes: owner epochs + the client's WriteFence.

Two real ``cachecar serve`` processes share one write-behind partition. The
first (A) owns it and sends a WriteBatch; the moment it reaches the app, A is
SIGSTOPped and its batch held in transit (a forwarder between the sidecars
and the app). B takes the partition over (A's lease lapsed), claims A's
pending writes and writes newer values of the same keys. Then A resumes and
its late batch is delivered: the app, serving through ``serve_app(fence=...)``,
refuses it (lower owner epoch) and keeps the newer values; every key's
applied values stay in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar import Write, WriteFence, serve_app
from cachecar.v1 import cache_pb2, cache_pb2_grpc, writer_pb2, writer_pb2_grpc

from tests.appfixtures import wait_until
from tests.test_process import spawn_sidecar, write_config

KEYS = [f"k{i}" for i in range(5)]


class _Forwarder(writer_pb2_grpc.WriterServiceServicer):
    """Passes WriteBatch on to the app; holds the first one (A's) until released,
    SIGSTOPping its sender the moment it arrives."""

    def __init__(self, app_target: str) -> None:
        self._channel = grpc.aio.insecure_channel(app_target)
        self._app = writer_pb2_grpc.WriterServiceStub(self._channel)
        self.sender: subprocess.Popen[str] | None = None
        self.held: writer_pb2.WriteBatchRequest | None = None
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.late: asyncio.Future[writer_pb2.WriteBatchResponse] | None = None

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: Any
    ) -> writer_pb2.WriteBatchResponse:
        if self.held is None and self.sender is not None:
            self.held = request
            os.kill(self.sender.pid, signal.SIGSTOP)  # the owner freezes mid-WriteBatch
            self.holding.set()
            # Delivered late whatever happens to this call: A's deadline passes
            # while it is frozen, and grpc cancels the handler then.
            self.late = asyncio.ensure_future(self._deliver_late(request))
            return await asyncio.shield(self.late)
        response: writer_pb2.WriteBatchResponse = await self._app.WriteBatch(request, timeout=10)
        return response

    async def _deliver_late(
        self, request: writer_pb2.WriteBatchRequest
    ) -> writer_pb2.WriteBatchResponse:
        await self.release.wait()
        response: writer_pb2.WriteBatchResponse = await self._app.WriteBatch(request, timeout=10)
        return response

    async def aclose(self) -> None:
        await self._channel.close()


def _config(tmp_path: Path, name: str, redis_url: str, writer: str) -> Path:
    (tmp_path / name).mkdir()
    return write_config(
        tmp_path / name,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {
                "zombie": {
                    "backend": "main",
                    "writer": writer,
                    "writer_timeout": "500ms",
                    "write_behind": {
                        "partitions": 1,
                        "flush_interval": "50ms",
                        "retry_backoff": "20ms",
                        "max_backoff": "200ms",
                        "owner_ttl": "1s",
                    },
                }
            },
        },
    )


async def _enqueue(address: str, value: bytes) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        for key in KEYS:
            await cache.EnqueueWrite(
                cache_pb2.EnqueueWriteRequest(namespace="zombie", key=key, value=value), timeout=5
            )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.slow
async def test_a_resumed_owner_cannot_overwrite_its_successors_writes(
    redis_url: str, tmp_path: Path
) -> None:
    rows: dict[str, bytes] = {}
    history: dict[str, list[bytes]] = {key: [] for key in KEYS}

    async def apply(writes: Sequence[Write]) -> None:
        for w in writes:
            rows[w.key] = w.value
            history[w.key].append(w.value)

    fence = WriteFence()
    async with serve_app(write_batch=apply, fence=fence) as app:
        forwarder = _Forwarder(app.target)  # type: ignore[abstract]  # Write is not needed
        server = grpc.aio.server()
        writer_pb2_grpc.add_WriterServiceServicer_to_server(forwarder, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        target = f"127.0.0.1:{port}"
        a, a_address = spawn_sidecar(
            ["serve", "--config", str(_config(tmp_path, "a", redis_url, target))]
        )
        b: subprocess.Popen[str] | None = None
        try:
            forwarder.sender = a
            await _enqueue(a_address, b"old")
            await asyncio.wait_for(forwarder.holding.wait(), timeout=30)
            assert forwarder.held is not None
            late_epoch = forwarder.held.owner_epoch
            assert {w.key for w in forwarder.held.writes} == set(KEYS)
            # A is frozen holding its lease; B starts, queues newer values and,
            # once A's lease lapses, takes the partition over and writes them.
            b, b_address = spawn_sidecar(
                ["serve", "--config", str(_config(tmp_path, "b", redis_url, target))]
            )
            await _enqueue(b_address, b"new")
            await wait_until(lambda: all(rows.get(k) == b"new" for k in KEYS), within=30)
            # The zombie wakes up and its batch is delivered, late.
            a.send_signal(signal.SIGCONT)
            forwarder.release.set()
            assert forwarder.late is not None
            await asyncio.wait_for(forwarder.late, timeout=30)  # the app answered it
        finally:
            forwarder.release.set()
            _stop(a)
            if b is not None:
                _stop(b)
            await server.stop(None)
            await forwarder.aclose()
    assert all(rows[k] == b"new" for k in KEYS), rows
    assert fence.refused >= len(KEYS)
    for key in KEYS:
        mark = fence.applied_mark("zombie", key)
        assert mark is not None
        assert mark[0] > late_epoch, (key, mark, late_epoch)
        # Per-key order: once "new" landed, nothing older did.
        landed = history[key]
        assert landed[-1] == b"new"
        assert b"old" not in landed[landed.index(b"new") :]
