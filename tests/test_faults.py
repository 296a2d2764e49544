"""Fault injection against real processes, with a mixed workload running throughout.

Each test starts a bounded background workload (tests/faulttable.py: GetOrLoad,
Set, WriteThrough, EnqueueWrite with sequence-numbered values, leaderboard
increments and sessions where the backend has them), breaks one thing, puts it
back, and then checks what the callers saw and what survived:

- every error carries an ErrorInfo reason (the only exceptions are outcomes the
  client produces itself because the sidecar never answered: its own deadline,
  or no sidecar to connect to, and only where the fault explains them) and is
  never INTERNAL/UNKNOWN; no call outlives its deadline;
- no acknowledged EnqueueWrite or WriteThrough write is lost;
- how long after the fault was removed each kind of call first succeeded
  (recorded, never asserted beyond generous bounded waits).

One row per fault goes to .cache/fault-table.md, printed at the end of the run.
The Redis Cluster failover is in tests/test_cluster_failover.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import loader_pb2_grpc, writer_pb2_grpc

from sidecar.devmode import MemcachedServer, RedisServer, free_port
from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory
from tests.faultfixtures import _fault_table, _no_leftover_workload  # noqa: F401  (autouse)
from tests.faulttable import (
    ALL_KINDS,
    CLIENT_DEADLINE,
    FAULT,
    NO_SIDECAR,
    FaultRow,
    Workload,
    inject,
    record,
)
from tests.test_process import spawn_sidecar, write_config

FAST_WB = {"flush_interval": "50ms", "retry_backoff": "10ms", "max_backoff": "200ms"}
#: Like the sidecar's own callback channels: a restarted peer is redialled within ~1 s.
CLIENT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class AppServer:
    """The fake app's gRPC server on a fixed port, so it can be stopped and restarted."""

    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self.port = free_port()
        self._server: grpc.aio.Server | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server()
        loader_pb2_grpc.add_LoaderServiceServicer_to_server(self.app, server)
        writer_pb2_grpc.add_WriterServiceServicer_to_server(self.app, server)
        assert server.add_insecure_port(self.target) == self.port
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None


@pytest.fixture
async def app() -> AsyncIterator[tuple[FakeApp, AppServer, AppServer]]:
    """One fake app (one database) served twice: as the loader and as the writer,
    so either can go down on its own."""
    fake = FakeApp()
    fake.rows.update({f"get-{w}.{i}": b"row" for w in range(3) for i in range(10)})
    loader, writer = AppServer(fake), AppServer(fake)
    await loader.start()
    await writer.start()
    try:
        yield fake, loader, writer
    finally:
        await loader.stop()
        await writer.stop()


async def _sidecar(
    sidecar_for: SidecarFactory, url: str, app: tuple[FakeApp, AppServer, AppServer], **ns: Any
) -> RunningSidecar:
    """A sidecar on ``url`` whose namespace calls the app's loader and writer."""
    _, loader, writer = app
    return await sidecar_for(url, loader=loader.target, writer=writer.target, **ns)


def _redis(aof: bool) -> RedisServer:
    args = ["--appendonly", "yes", "--appendfsync", "always"] if aof else []
    return RedisServer(extra_args=args)


@pytest.fixture
def aof_redis() -> Iterator[RedisServer]:
    """A private Redis that keeps its data across a crash (AOF, fsync always)."""
    server = _redis(aof=True)
    server.start()
    try:
        yield server
    finally:
        server.close()


# -- Redis ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("aof", [True, False], ids=["aof", "no-persistence"])
async def test_redis_killed_and_restarted(
    aof: bool,
    app: tuple[FakeApp, AppServer, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake = app[0]
    server = _redis(aof)
    server.start()
    try:
        sc = await _sidecar(sidecar_for, server.url, app, write_behind=FAST_WB)
        work = Workload(sc.channel, ALL_KINDS)
        losses = await inject(work, server.kill, server.restart, rows=fake.rows)
    finally:
        server.close()
    persistence = "AOF appendfsync always" if aof else "no persistence (RDB/AOF off)"
    notes = f"SIGKILL, restart after {FAULT}s; {persistence}. GetOrLoad falls back to the loader."
    if not aof:
        notes += (
            " Without persistence the restart empties Redis, and with it the write-behind "
            "stream: acknowledged writes still queued are lost (write-behind is as durable "
            "as the Redis deployment)."
        )
    record(
        FaultRow.from_run(
            f"Redis killed + restarted ({'AOF' if aof else 'no persistence'})",
            "redis",
            work,
            losses,
            notes,
            order=1 if aof else 2,
        )
    )
    work.assert_well_behaved()
    assert work.recovery("get_or_load") is not None
    if aof:
        assert losses.durable_lost == 0, losses
        assert (losses.set_lost, losses.score_lost, losses.sessions_lost) == (0, 0, 0), losses
    else:
        assert losses.write_through_lost == 0, losses  # the writer has it before the ack


@pytest.mark.slow
async def test_redis_paused_with_sigstop(
    fresh_redis: RedisServer,
    app: tuple[FakeApp, AppServer, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake = app[0]
    sc = await _sidecar(sidecar_for, fresh_redis.url, app, write_behind=FAST_WB)
    work = Workload(sc.channel, ALL_KINDS)
    # inject() resumes it whatever happens: a stopped Redis would also hang the fixture's stop.
    losses = await inject(work, fresh_redis.pause, fresh_redis.resume, rows=fake.rows)
    record(
        FaultRow.from_run(
            "Redis paused (SIGSTOP) then continued",
            "redis",
            work,
            losses,
            f"SIGSTOP for {FAULT}s: the port accepts but nothing answers; the backend "
            "timeout (500 ms) and the breaker turn it into BACKEND_UNAVAILABLE, GetOrLoad "
            "falls back to the loader. Commands that timed out run when Redis continues: "
            "the 'unacknowledged writes that landed' column.",
            order=3,
        )
    )
    work.assert_well_behaved()
    for call in work.calls:  # within the backend timeout + breaker, far inside the deadline
        assert call.ended - call.started < call.deadline, call
    assert losses.durable_lost == 0, losses
    assert (losses.set_lost, losses.score_lost, losses.sessions_lost) == (0, 0, 0), losses


# -- Memcached --------------------------------------------------------------------


@pytest.mark.slow
async def test_memcached_node_killed(
    fresh_memcached: MemcachedServer,
    app: tuple[FakeApp, AppServer, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake = app[0]
    other = MemcachedServer()
    other.start()
    try:
        url = f"{fresh_memcached.url},{other.host}:{other.port}"
        sc = await _sidecar(sidecar_for, url, app)
        work = Workload(sc.channel, ["get_or_load", "set", "write_through", "session"])
        losses = await inject(work, other.kill, other.restart, rows=fake.rows)
    finally:
        other.kill()
        other.close()
    record(
        FaultRow.from_run(
            "Memcached node killed + restarted (1 of 2)",
            "memcached x2",
            work,
            losses,
            f"SIGKILL one of two nodes, restart after {FAULT}s. A restarted memcached is "
            "empty: Sets and sessions it held are gone by nature (a cache, not a store); "
            "WriteThrough reached the writer first.",
            order=4,
        )
    )
    work.assert_well_behaved()
    assert losses.durable_lost == 0, losses


# -- the app's loader and writer ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["slow", "erroring", "unreachable"])
async def test_loader_fault(
    how: str,
    redis_url: str,
    app: tuple[FakeApp, AppServer, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake, loader, _ = app
    sc = await _sidecar(sidecar_for, redis_url, app, write_behind=FAST_WB, loader_timeout="1s")
    # Every GetOrLoad misses (a new key each time), so every one needs the loader.
    work = Workload(sc.channel, ["get_or_load", "set", "write_through", "enqueue"], misses=True)

    async def break_loader() -> None:
        if how == "slow":
            fake.load_delay = 3.0  # beyond loader_timeout (1 s) and the callers' deadline (2 s)
        elif how == "erroring":
            fake.fail_with = grpc.StatusCode.UNAVAILABLE
        else:
            await loader.stop()

    async def mend_loader() -> None:
        fake.load_delay, fake.fail_with = 0.0, None
        if how == "unreachable":
            await loader.start()

    losses = await inject(work, break_loader, mend_loader, rows=fake.rows)
    notes = {
        "slow": "Load takes 3 s; loader_timeout 1 s, callers' deadline 2 s.",
        "erroring": "Load answers UNAVAILABLE.",
        "unreachable": "the loader's port is closed, then it listens again on the same port.",
    }[how]
    record(
        FaultRow.from_run(
            f"loader {how}",
            "redis",
            work,
            losses,
            notes + " Only GetOrLoad misses need the loader; other calls are untouched.",
            order=5,
        )
    )
    work.assert_well_behaved()
    assert losses.durable_lost == 0, losses
    assert losses.set_lost == 0, losses
    for kind in ("set", "write_through", "enqueue"):
        assert not work.failed_during_fault(kind), work.summary()


@pytest.mark.slow
async def test_writer_down(
    redis_url: str,
    app: tuple[FakeApp, AppServer, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake, _, writer = app
    sc = await _sidecar(sidecar_for, redis_url, app, write_behind=FAST_WB, writer_timeout="1s")
    work = Workload(sc.channel, ["get_or_load", "set", "write_through", "enqueue"])
    losses = await inject(work, writer.stop, writer.start, rows=fake.rows)
    record(
        FaultRow.from_run(
            "writer down (port closed) then back",
            "redis",
            work,
            losses,
            "WriteThrough fails (the cache is untouched); EnqueueWrite keeps accepting, "
            "its flusher retries until the writer is back. Recovery of the write-behind "
            "backlog: see the drain in verify().",
            order=6,
        )
    )
    work.assert_well_behaved()
    assert losses.durable_lost == 0, losses
    assert losses.set_lost == 0, losses
    assert not work.failed_during_fault("enqueue"), work.summary()


# -- the sidecar itself ---------------------------------------------------------------


def _sidecar_config(tmp_path: Path, port: int, redis_url: str, fake: AppServer) -> Path:
    return write_config(
        tmp_path,
        {
            "listen": f"127.0.0.1:{port}",
            "backends": {"main": redis_url},
            "namespaces": {
                "items": {
                    "backend": "main",
                    "loader": fake.target,
                    "writer": fake.target,
                    # Nothing flushes on its own: what was acknowledged before the
                    # kill is still queued in Redis, for the restarted sidecar.
                    "write_behind": {**FAST_WB, "flush_interval": "1h", "owner_ttl": "1s"},
                }
            },
        },
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.slow
async def test_sidecar_sigkilled_and_restarted(
    redis_url: str, app: tuple[FakeApp, AppServer, AppServer], tmp_path: Path
) -> None:
    fake, loader, _ = app
    port = free_port()
    config = _sidecar_config(tmp_path, port, redis_url, loader)
    procs: list[subprocess.Popen[str]] = []
    acked_before_kill = 0

    async def kill() -> None:
        nonlocal acked_before_kill
        os.kill(procs[0].pid, signal.SIGKILL)
        await asyncio.to_thread(procs[0].wait, 10)
        acked_before_kill = work.eq_acks
        assert not [k for k in fake.rows if k.startswith("wb-")]  # all still queued

    def restart() -> None:
        procs.append(spawn_sidecar(["serve", "--config", str(config)])[0])

    try:
        proc, address = spawn_sidecar(["serve", "--config", str(config)])
        procs.append(proc)
        async with grpc.aio.insecure_channel(address, options=CLIENT_OPTIONS) as channel:
            work = Workload(channel, ALL_KINDS)
            # Restarted FAULT / 3 later: a supervisor restarting it promptly.
            losses = await inject(work, kill, restart, rows=fake.rows, lasting=FAULT / 3)
    finally:
        for p in procs:
            _stop(p)
    record(
        FaultRow.from_run(
            "sidecar SIGKILLed + restarted",
            "redis",
            work,
            losses,
            f"`cachecar serve` SIGKILLed, restarted on the same port {FAULT / 3:.1f}s later; "
            "the client redials (reconnect backoff 100 ms..1 s). Writes in flight at the "
            "kill were not acknowledged. flush_interval 1h: the EnqueueWrites acknowledged "
            "before the kill were all still queued; the restarted sidecar reclaims the dead "
            "one's partitions after owner_ttl (1 s) and FlushWrites delivers them.",
            order=7,
        )
    )
    work.assert_well_behaved(allowed_bare=[NO_SIDECAR, CLIENT_DEADLINE])
    assert acked_before_kill > 0
    assert losses.durable_lost == 0, losses
    assert (losses.set_lost, losses.score_lost, losses.sessions_lost) == (0, 0, 0), losses
