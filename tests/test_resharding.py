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
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from redis.crc import key_slot

from sidecar.backends.breaker import BreakerState
from sidecar.config import settings_from_mapping
from tests.appfixtures import FakeApp, RunningSidecar, start_in_loop
from tests.servers import RedisCluster, replicated_cluster

SLOTS_MOVED = 1000
#: Keys in the moving slots besides the test's own: MIGRATE has work to do.
FILLER = 20_000
WORKERS = 4
FAST_WB = {"flush_interval": "50ms", "retry_backoff": "10ms", "max_backoff": "200ms"}


@pytest.fixture(scope="module")
def reshard_cluster() -> Iterator[RedisCluster]:
    with replicated_cluster() as cluster:
        yield cluster


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

    def __init__(
        self, a: RunningSidecar, b: RunningSidecar, app: FakeApp, queue: str, moving: set[int]
    ) -> None:
        self.a, self.b, self.app = a, b, app
        self.queue = queue
        self.moving = moving
        self.board = next(
            f"board-{i}"
            for i in range(100_000)
            if key_slot(f"cc:b{{items:board-{i}}}".encode()) in moving
        )
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

    async def round(self, warm: list[str], worker: int) -> None:
        self.rounds += 1
        n = self.rounds
        cold = _keys(f"cold-{n}", self.moving, 4)
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
        # Each worker its own keys: per key, acknowledgement order is value order.
        for key in (f"wb-{worker}-{n % 3}", f"wb-{worker}-{(n + 1) % 3}"):
            value = str(n).encode()
            sc = self.a if n % 2 else self.b
            request = cache_pb2.EnqueueWriteRequest(namespace=self.queue, key=key, value=value)
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
                    namespace="items", board=self.board, member=f"m{n}", score=n
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


def _keys(prefix: str, slots: set[int], count: int) -> list[str]:
    """``count`` keys of namespace items whose value lives in one of ``slots``."""
    found = []
    for i in range(1_000_000):
        key = f"{prefix}-{i}"
        if key_slot(f"cc:v{{items:{key}}}".encode()) in slots:
            found.append(key)
            if len(found) == count:
                return found
    raise AssertionError(f"no {count} keys in those slots")


def _fill(cluster: RedisCluster, slots: set[int]) -> None:
    """FILLER keys spread over ``slots``, for MIGRATE to move while the workload runs."""
    node = cluster.master_nodes()[0]
    client = redis.RedisCluster(node.host, node.port)
    try:
        keys = [
            k for k in (f"filler-{i}".encode() for i in range(FILLER * 20)) if key_slot(k) in slots
        ]
        client.mset_nonatomic(dict.fromkeys(keys[:FILLER], b"x" * 64))
    finally:
        client.close()


async def _start(url: str, app: FakeApp, queue: str) -> RunningSidecar:
    """A sidecar with ``items`` (cache, sessions, boards, pub/sub: keys spread over
    every slot) and ``queue`` (write-behind: its keys share the partition's slot)."""
    config = {
        "listen": "127.0.0.1:0",
        "backends": {"main": url},
        "namespaces": {
            "items": {"backend": "main", "ttl": "1h", "ttl_jitter": 0.0, "loader": app.target},
            queue: {
                "backend": "main",
                "writer": app.target,
                "write_behind": {**FAST_WB, "partitions": 1},
            },
        },
    }
    sidecar, channel = await start_in_loop(settings_from_mapping(config))
    return RunningSidecar(sidecar, channel, cache_pb2_grpc.CacheServiceStub(channel))


@pytest.mark.timeout(300)
async def test_online_reshard_under_mixed_load(
    reshard_cluster: RedisCluster, fake_app: FakeApp
) -> None:
    cli = shutil.which("redis-cli")
    assert cli is not None, "redis-cli is part of the redis-tools package (make setup)"
    masters = _masters(reshard_cluster)
    source, target = sorted(masters)[:2]
    # redis-cli moves the source's lowest slots first: the keys under test live
    # there (checked after the move); half the warm keys live elsewhere.
    moving = set(sorted(masters[source][2])[:SLOTS_MOVED])
    queue_ns = next(
        f"wb{i}" for i in range(100_000) if key_slot(f"cc:q{{wb{i}:#00}}".encode()) in moving
    )
    _fill(reshard_cluster, moving)
    a = await _start(reshard_cluster.url, fake_app, queue_ns)
    b = await _start(reshard_cluster.url, fake_app, queue_ns)
    try:
        warm = _keys("warm", moving, 50) + _keys("warm-out", set(range(16384)) - moving, 50)
        for key in warm:
            fake_app.rows[key] = b"w"
            await a.cache.GetOrLoad(_get(key))
        work = Mixed(a, b, fake_app, queue_ns, moving)
        ready = asyncio.Event()
        subscriber = asyncio.ensure_future(work.subscribe(ready))
        await asyncio.wait_for(ready.wait(), 10)
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

        async def worker(i: int) -> int:
            rounds = 0
            for _ in range(2000):  # bounded; the reshard takes a few seconds
                await work.round(warm, i)
                rounds += 1
                if waiting.done():
                    break
            return rounds

        during = sum(await asyncio.gather(*(worker(i) for i in range(WORKERS))))
        output, _ = await asyncio.wait_for(waiting, 120)
        assert reshard.returncode == 0, output.decode(errors="replace")[-2000:]
        for _ in range(3):  # and a few rounds on the new layout
            await work.round(warm, 0)
        moved = masters[source][2] - _masters(reshard_cluster)[source][2]
        assert moved == moving  # the keys under test were on the move
        subscriber.cancel()
        await asyncio.gather(subscriber, return_exceptions=True)
        flushed = await a.cache.FlushWrites(
            cache_pb2.FlushWritesRequest(namespace=queue_ns), timeout=30
        )
    finally:
        for running in (a, b):
            await running.channel.close()
            await running.sidecar.stop(grace=1.0)

    assert work.errors == []
    assert during > 10, "the reshard ended before the workload could overlap it"
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
