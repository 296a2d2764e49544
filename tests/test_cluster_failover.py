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
import redis
from cachecar.v1 import cache_pb2, cache_pb2_grpc, leaderboard_pb2, leaderboard_pb2_grpc
from redis.crc import key_slot

from sidecar.backends.breaker import BreakerState
from sidecar.backends.redis import RedisBackend
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


# First in the module: the failover test below leaves its killed master down.
async def test_a_dead_master_opens_its_own_breaker_not_the_backends(
    failover_cluster: RedisCluster, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # Keys served by the other masters must keep coming from the cache while one
    # master is down (before its replica takes over): the breaker is per node.
    sc = await sidecar_for(failover_cluster.url, loader=fake_app.target)
    backend = sc.sidecar.namespaces["items"].backend
    assert isinstance(backend, RedisBackend)
    victim = failover_cluster.master_nodes()[0]
    with redis.Redis(victim.host, victim.port) as r:
        ranges = r.execute_command("CLUSTER SLOTS")
    victim_slots = {
        slot
        for start, end, master, *_ in ranges
        if (master[0].decode(), int(master[1])) == (victim.host, victim.port)
        for slot in range(start, end + 1)
    }
    keys = [f"k{i}" for i in range(60)]
    for key in keys:
        fake_app.rows[key] = b"v"
        await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=key))
    others = [k for k in keys if key_slot(f"cc:v{{items:{k}}}".encode()) not in victim_slots]
    assert 0 < len(others) < len(keys)
    # With full coverage required (Redis' default), every node refuses every
    # query (CLUSTERDOWN) from when the dead master is flagged until its replica
    # takes over; without, the other masters go on serving their slots.
    _full_coverage(failover_cluster, "no")
    victim.kill()
    sources: set[int] = set()
    node_states: set[BreakerState] = set()
    backend_states: set[BreakerState] = set()
    try:
        for _ in range(30):  # about a second of traffic, before the failover completes
            for key in keys:
                got = await sc.cache.GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=10
                )
                assert got.found  # the loader answers for the dead master's keys
                if key in others:
                    sources.add(got.source)
            node_states.update(backend.node_breakers.states().values())
            backend_states.add(backend.breaker.state)
            await asyncio.sleep(0.02)
    finally:
        victim.restart()  # it rejoins as a replica of its promoted one
        await asyncio.to_thread(failover_cluster.wait_healthy, 30.0)
        _full_coverage(failover_cluster, "yes")
    assert sources == {cache_pb2.SOURCE_CACHE}
    assert backend_states == {BreakerState.CLOSED}
    assert BreakerState.OPEN in node_states  # the dead master's own breaker opened


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
        client = backend._client  # type: ignore[attr-defined]  # the component's own client
        direct = await asyncio.gather(
            *(client.set(f"direct{i}", b"v") for i in range(1000)), return_exceptions=True
        )
        assert [r for r in direct if isinstance(r, BaseException)] == []
    finally:
        await sidecar.stop(grace=1.0)


def _full_coverage(cluster: RedisCluster, value: str) -> None:
    for node in cluster.nodes:
        if node.running:
            with redis.Redis(node.host, node.port) as r:
                r.config_set("cluster-require-full-coverage", value)
