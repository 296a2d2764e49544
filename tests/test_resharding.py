"""Online resharding under load: ``redis-cli --cluster reshard`` while two sidecars work.

A private Redis Cluster of 3 masters x 1 replica (six redis-server children,
module-scoped) has a few hundred slots moved from one master to another by
``redis-cli --cluster reshard`` (what ElastiCache online scaling does: slots
set MIGRATING/IMPORTING, keys moved with MIGRATE, slots handed over) while two
sidecars serve a mixed workload: GetOrLoad on cold keys (both sidecars ask
for each) and on warm ones, Set, EnqueueWrite, sessions, AddScore, and
Publish with a Subscribe stream open.

What must hold: no caller error, every cold key loaded once across both
sidecars, no warm key reloaded, neither breaker ever opens, and no
acknowledged write-behind write lost or written out of order.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import (
    cache_pb2,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)

from sidecar.backends.breaker import BreakerState
from sidecar.devmode import MissingBinary, ServerStartError
from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory
from tests.servers import RedisCluster

SLOTS_MOVED = 400
FAST_WB = {"flush_interval": "50ms", "retry_backoff": "10ms", "max_backoff": "200ms"}


@pytest.fixture(scope="module")
def reshard_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster(masters=3, replicas=1)
    try:
        cluster.start()
        cluster.wait_healthy(30.0)
    except (MissingBinary, ServerStartError) as exc:
        pytest.fail(f"could not start a 3x2 Redis Cluster: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.close()


def _masters(cluster: RedisCluster) -> dict[str, tuple[str, int, set[int]]]:
    """Master node id -> (host, port, the slots it serves)."""
    first = cluster.master_nodes()[0]
    with redis.Redis(first.host, first.port) as r:
        ranges = r.execute_command("CLUSTER SLOTS")
    masters: dict[str, tuple[str, int, set[int]]] = {}
    for start, end, master, *_ in ranges:
        node_id = master[2].decode()
        entry = masters.setdefault(node_id, (master[0].decode(), int(master[1]), set()))
        entry[2].update(range(start, end + 1))
    return masters


class Mixed:
    """The workload: every call's outcome, and what was acknowledged."""

    def __init__(self, a: RunningSidecar, b: RunningSidecar, app: FakeApp) -> None:
        self.a, self.b, self.app = a, b, app
        self.errors: list[str] = []
        self.cold: list[str] = []
        self.warm_reloads: list[str] = []
        self.acked: dict[str, list[bytes]] = {}
        self.breaker_states: set[BreakerState] = set()
        self.received = 0
        self.rounds = 0

    async def call(self, what: str, call: Any) -> Any:
        try:
            return await call
        except grpc.aio.AioRpcError as exc:
            self.errors.append(f"{what}: {exc.code().name}: {exc.details()}")
            return None

    async def round(self, warm: list[str]) -> None:
        self.rounds += 1
        n = self.rounds
        cold = [f"cold-{n}-{j}" for j in range(4)]
        for key in cold:
            self.app.rows[key] = key.encode()
        self.cold += cold
        # Both sidecars ask for every cold key at once: one load between them.
        await asyncio.gather(
            *(
                self.call("GetOrLoad cold", sc.cache.GetOrLoad(_get(key), timeout=10))
                for key in cold
                for sc in (self.a, self.b)
            )
        )
        for key in warm[n % 10 :: 10]:
            got = await self.call("GetOrLoad warm", self.b.cache.GetOrLoad(_get(key), timeout=10))
            if got is not None and got.source != cache_pb2.SOURCE_CACHE:
                self.warm_reloads.append(key)
        await self.call(
            "Set",
            self.a.cache.Set(
                cache_pb2.SetRequest(namespace="items", key=f"set-{n % 50}", value=b"v"),
                timeout=10,
            ),
        )
        for key in (f"wb-{n % 7}", f"wb-{(n + 3) % 7}"):
            value = str(n).encode()
            sc = self.a if n % 2 else self.b
            request = cache_pb2.EnqueueWriteRequest(namespace="items", key=key, value=value)
            if await self.call("EnqueueWrite", sc.cache.EnqueueWrite(request, timeout=10)):
                self.acked.setdefault(key, []).append(value)
        sessions = session_pb2_grpc.SessionServiceStub(self.b.channel)
        created = await self.call(
            "CreateSession",
            sessions.CreateSession(
                session_pb2.CreateSessionRequest(namespace="items", subject=f"user-{n % 9}"),
                timeout=10,
            ),
        )
        if created is not None:
            get = session_pb2.GetSessionRequest(namespace="items", session_id=created.session_id)
            await self.call("GetSession", sessions.GetSession(get, timeout=10))
        boards = leaderboard_pb2_grpc.LeaderboardServiceStub(self.a.channel)
        await self.call(
            "AddScore",
            boards.AddScore(
                leaderboard_pb2.AddScoreRequest(
                    namespace="items", board=f"board-{n % 5}", member=f"m{n}", score=n
                ),
                timeout=10,
            ),
        )
        publish = pubsub_pb2_grpc.PubSubServiceStub(self.a.channel).Publish
        await self.call(
            "Publish",
            publish(
                pubsub_pb2.PublishRequest(namespace="items", channel="news", payload=b"x"),
                timeout=10,
            ),
        )
        for sc in (self.a, self.b):
            self.breaker_states.add(sc.sidecar.namespaces["items"].backend.breaker.state)

    async def subscribe(self, ready: asyncio.Event) -> None:
        stream = pubsub_pb2_grpc.PubSubServiceStub(self.b.channel).Subscribe(
            pubsub_pb2.SubscribeRequest(namespace="items", channels=["news"])
        )
        try:
            async for event in stream:
                if event.HasField("subscribed"):
                    ready.set()
                elif event.HasField("message"):
                    self.received += 1
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(f"Subscribe: {exc.code().name}: {exc.details()}")


def _get(key: str) -> cache_pb2.GetOrLoadRequest:
    return cache_pb2.GetOrLoadRequest(namespace="items", key=key)


@pytest.mark.timeout(300)
async def test_online_reshard_under_mixed_load(
    reshard_cluster: RedisCluster, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    cli = shutil.which("redis-cli")
    assert cli is not None, "redis-cli is part of the redis-tools package (make setup)"
    settings: dict[str, Any] = {
        "loader": fake_app.target,
        "writer": fake_app.target,
        "write_behind": {**FAST_WB, "partitions": 8},
    }
    a = await sidecar_for(reshard_cluster.url, **settings)
    b = await sidecar_for(reshard_cluster.url, **settings)
    warm = [f"warm-{i}" for i in range(100)]
    for key in warm:
        fake_app.rows[key] = b"w"
        await a.cache.GetOrLoad(_get(key))
    work = Mixed(a, b, fake_app)
    ready = asyncio.Event()
    subscriber = asyncio.ensure_future(work.subscribe(ready))
    await asyncio.wait_for(ready.wait(), 10)
    masters = _masters(reshard_cluster)
    source, target = sorted(masters)[:2]
    host, port, _ = masters[source]
    reshard = await asyncio.create_subprocess_exec(
        cli,
        "--cluster", "reshard", f"{host}:{port}",
        "--cluster-from", source,
        "--cluster-to", target,
        "--cluster-slots", str(SLOTS_MOVED),
        "--cluster-yes",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    waiting = asyncio.ensure_future(reshard.communicate())
    for _ in range(2000):  # bounded; the reshard takes a few seconds
        await work.round(warm)
        if waiting.done():
            break
    output, _ = await asyncio.wait_for(waiting, 120)
    assert reshard.returncode == 0, output.decode(errors="replace")[-2000:]
    for _ in range(3):  # and a few rounds on the new layout
        await work.round(warm)
    moved = masters[source][2] - _masters(reshard_cluster)[source][2]
    assert len(moved) == SLOTS_MOVED
    subscriber.cancel()
    await asyncio.gather(subscriber, return_exceptions=True)
    flushed = await a.cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace="items"), timeout=30)

    assert work.errors == []
    assert work.rounds > 3
    assert {k: fake_app.loads_of(k) for k in work.cold if fake_app.loads_of(k) != 1} == {}
    assert work.warm_reloads == []
    assert {k: fake_app.loads_of(k) for k in warm if fake_app.loads_of(k) != 1} == {}
    assert work.breaker_states == {BreakerState.CLOSED}
    assert work.received > 0
    assert flushed.pending_count == 0
    for key, values in work.acked.items():
        written = [w.value for w in fake_app.writes if w.key == key]
        numbers = [int(v) for v in written]
        assert numbers == sorted(numbers), f"{key} written out of order: {numbers}"
        assert fake_app.rows[key] == values[-1], key
