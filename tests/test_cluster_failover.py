"""Redis Cluster under fire: a master killed and its replica promoted; 1,000 calls at once.

The failover runs on a private 3-master-3-replica cluster (six redis-server
children, module-scoped: only this module pays for it). Replication in Redis
is asynchronous, so what a master acknowledged in its last moments may never
reach the replica that replaces it: the test measures and records that (Set
values, write-behind entries) in the fault table instead of hiding it, and
asserts what must hold whatever Redis does: callers get clean errors, the
sidecar recovers by itself, and WriteThrough (the writer first) loses nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc, leaderboard_pb2, leaderboard_pb2_grpc

from sidecar.config import settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp, SidecarFactory
from tests.faultfixtures import _fault_table, _no_leftover_workload  # noqa: F401  (autouse)
from tests.faulttable import ALL_KINDS, FaultRow, Workload, inject, record
from tests.servers import RedisCluster, replicated_cluster
from tests.test_faults import FAST_WB, AppServer


@pytest.fixture(scope="module")
def failover_cluster() -> Iterator[RedisCluster]:
    # node_timeout 1 s: a dead master is noticed, and its replica elected, in ~2 s.
    with replicated_cluster(node_timeout_ms=1000) as cluster:
        yield cluster


@pytest.fixture
async def app() -> AsyncIterator[tuple[FakeApp, AppServer]]:
    fake = FakeApp()
    fake.rows.update({f"get-{w}.{i}": b"row" for w in range(3) for i in range(10)})
    server = AppServer(fake)
    await server.start()
    try:
        yield fake, server
    finally:
        await server.stop()


@pytest.mark.slow
async def test_master_killed_replica_promoted(
    failover_cluster: RedisCluster,
    app: tuple[FakeApp, AppServer],
    sidecar_for: SidecarFactory,
) -> None:
    fake, server = app
    sc = await sidecar_for(
        failover_cluster.url,
        loader=server.target,
        writer=server.target,
        write_behind={**FAST_WB, "partitions": 6},
    )
    work = Workload(sc.channel, ALL_KINDS)
    killed_at = promoted_in = 0.0

    def kill() -> None:
        nonlocal killed_at
        failover_cluster.master_nodes()[0].kill()
        killed_at = time.monotonic()

    async def promoted() -> None:
        # The cluster heals itself: the replica serves the slots (restored from then on).
        nonlocal promoted_in
        promoted_in = await asyncio.to_thread(failover_cluster.wait_healthy, 30.0)

    losses = await inject(work, kill, promoted, rows=fake.rows, lasting=0)
    lost_note = ""
    if losses.enqueue_lost or losses.set_lost or losses.score_lost or losses.sessions_lost:
        lost_note = (
            " Losses are acknowledged writes the dead master had not yet replicated "
            "(Redis replication is asynchronous); WAIT 1 <timeout> after the write-behind "
            "append would close that window for EnqueueWrite."
        )
    record(
        FaultRow.from_run(
            "Redis Cluster master killed, replica promoted",
            "cluster 3 masters x 1 replica",
            work,
            losses,
            f"SIGKILL one master (node timeout 1 s); the cluster was healthy again "
            f"{promoted_in:.2f}s after the kill (recovery is measured from then)." + lost_note,
            order=8,
        )
    )
    work.assert_well_behaved()
    assert time.monotonic() - killed_at < 60
    assert losses.write_through_lost == 0, losses  # the writer had it before the ack


@pytest.mark.slow
async def test_a_thousand_concurrent_calls_wait_for_a_connection(cluster_url: str) -> None:
    """redis-py's async cluster client raised MaxConnectionsError once more commands
    than pool_size were in flight to one node; now the extra callers wait."""
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            # A small pool, so that 2,000 calls in flight overrun it many times.
            "backends": {"main": {"url": cluster_url, "pool_size": 4}},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=0.2)
    await sidecar.start()
    try:
        async with grpc.aio.insecure_channel(sidecar.address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
            sets = [
                cache.Set(
                    cache_pb2.SetRequest(namespace="items", key=f"k{i}", value=b"v"), timeout=60
                )
                for i in range(1000)
            ]
            adds = [
                boards.AddScore(
                    leaderboard_pb2.AddScoreRequest(
                        namespace="items", board="hot", member=f"m{i}", score=i
                    ),
                    timeout=60,
                )
                for i in range(1000)
            ]
            results = await asyncio.gather(*sets, *adds, return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            assert failed == [], f"{len(failed)} failed, e.g. {failed[0]!r}"
            top = await boards.GetTop(
                leaderboard_pb2.GetTopRequest(namespace="items", board="hot", limit=1), timeout=10
            )
            assert top.entries[0].member == "m999"
        # The backend's client itself: 1,000 commands at once through 4 connections per node.
        backend = sidecar.namespaces["items"].backend
        client = backend.client  # type: ignore[attr-defined]
        direct = await asyncio.gather(
            *(client.set(f"direct{i}", b"v") for i in range(1000)), return_exceptions=True
        )
        assert [r for r in direct if isinstance(r, BaseException)] == []
    finally:
        await sidecar.stop(grace=1.0)
