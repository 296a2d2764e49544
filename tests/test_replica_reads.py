"""read_from: plain Gets on replicas, everything else on the primary, and a fallback.

Against real servers: a 3-master x 1-replica Redis Cluster, and a standalone
primary with one replica behind a ``reader_url`` (a cluster-mode-disabled
reader endpoint). ``INFO commandstats`` on each node says who served what;
then the replicas are killed and every Get must still answer (from the
primary), with no failed call.
"""

from __future__ import annotations

import contextlib
import gc
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.config import ConfigError, settings_from_mapping
from sidecar.devmode import RedisServer, ServerStartError
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp
from tests.servers import RedisCluster, replicated_cluster

KEYS = 30


@pytest.fixture(scope="module", autouse=True)
def _collect_leaked_replica_connections() -> Iterator[None]:
    """Known leak, left for a follow-up: redis-py's cluster client drops the
    killed replicas' connections without closing them. Collected when this
    module is done (every loop closed), so their ResourceWarnings stay here
    instead of failing whichever test runs the garbage collector next."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _stats(node: RedisServer) -> dict[str, Any]:
    with redis.Redis(node.host, node.port, socket_timeout=5) as r:
        stats: dict[str, Any] = r.info("commandstats")
    return stats


def _calls(node: RedisServer, command: str) -> int:
    return int(_stats(node).get(f"cmdstat_{command}", {}).get("calls", 0))


def _reset(nodes: list[RedisServer]) -> None:
    for node in nodes:
        with redis.Redis(node.host, node.port, socket_timeout=5) as r:
            r.config_resetstat()


@pytest.fixture
async def start(fake_app: FakeApp) -> AsyncIterator[Any]:
    running: list[tuple[Sidecar, grpc.aio.Channel]] = []

    async def go(backend: dict[str, Any]) -> tuple[Sidecar, cache_pb2_grpc.CacheServiceStub]:
        settings = settings_from_mapping(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": {"timeout": "1s", "connect_timeout": "500ms", **backend}},
                "namespaces": {
                    "items": {"backend": "main", "ttl": "1h", "loader": fake_app.target}
                },
            }
        )
        sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=0.5)
        await sidecar.start()
        channel = grpc.aio.insecure_channel(sidecar.address)
        running.append((sidecar, channel))
        return sidecar, cache_pb2_grpc.CacheServiceStub(channel)

    yield go
    for sidecar, channel in running:
        await channel.close()
        await sidecar.stop(grace=1.0)


#: SETs per node (by port) during the last _write_then_read's write phase.
WRITES: dict[int, int] = {}


async def _write_then_read(
    cache: cache_pb2_grpc.CacheServiceStub, nodes: list[RedisServer]
) -> list[str]:
    """Set KEYS keys, then Get each until a replica has it; the failures. The
    servers' command counts are reset between the two, so they count the reads
    only (a versioned Set's script reads the stored record: a GET on the primary)."""
    failures = []
    _reset(nodes)
    for i in range(KEYS):
        await cache.Set(cache_pb2.SetRequest(namespace="items", key=f"k{i}", value=b"v%d" % i))
    # Where the writes went (a versioned Set is a script whose SET counts here).
    WRITES.clear()
    WRITES.update({node.port: _calls(node, "set") for node in nodes})
    _reset(nodes)
    for i in range(KEYS):
        # A replica may lag its primary: a miss right after the write is allowed
        # (that is what read_from promises); a wrong value or an error is not.
        for _ in range(200):
            try:
                got = await cache.Get(cache_pb2.GetRequest(namespace="items", key=f"k{i}"))
            except grpc.aio.AioRpcError as exc:
                failures.append(f"k{i}: {exc.code().name}: {exc.details()}")
                break
            if got.found:
                if got.value != b"v%d" % i:
                    failures.append(f"k{i}: {got.value!r}")
                break
        else:
            failures.append(f"k{i}: never found")
    return failures


async def _read_all(cache: cache_pb2_grpc.CacheServiceStub, rounds: int = 3) -> list[str]:
    failures = []
    for _ in range(rounds):
        for i in range(KEYS):
            try:
                got = await cache.Get(cache_pb2.GetRequest(namespace="items", key=f"k{i}"))
            except grpc.aio.AioRpcError as exc:
                failures.append(f"k{i}: {exc.code().name}: {exc.details()}")
                continue
            if (got.found, got.value) != (True, b"v%d" % i):
                failures.append(f"k{i}: {got.found} {got.value!r}")
    return failures


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    with replicated_cluster() as running:
        _until_replicas_listed(running)
        yield running


def _until_replicas_listed(cluster: RedisCluster) -> None:
    # Redis leaves a replica out of CLUSTER SLOTS until it has replicated
    # something (offset 0 = "not yet synced"), and the client learns the
    # topology from CLUSTER SLOTS: write to every shard first.
    seed = cluster.nodes[0]
    with redis.RedisCluster(seed.host, seed.port, socket_timeout=5) as writer:
        for i in range(60):  # keys on every shard
            writer.set(f"warmup{i}", b"1")
    seed = cluster.nodes[0]
    with redis.Redis(seed.host, seed.port, socket_timeout=5) as r:
        for _ in range(100):
            if all(len(s) >= 4 for s in r.execute_command("CLUSTER SLOTS")):
                return
            time.sleep(0.1)
    pytest.fail("replicas never appeared in CLUSTER SLOTS", pytrace=False)


async def test_cluster_gets_go_to_replicas_and_fall_back_when_they_die(
    cluster: RedisCluster, start: Any
) -> None:
    sidecar, cache = await start({"url": cluster.url, "read_from": "replica"})
    masters = cluster.master_nodes()
    replicas = [n for n in cluster.nodes if n not in masters]
    assert len(replicas) == 3
    assert await _write_then_read(cache, cluster.nodes) == []
    replica_gets = sum(_calls(n, "get") for n in replicas)
    master_gets = sum(_calls(n, "get") for n in masters)
    master_sets = sum(WRITES[n.port] for n in masters)
    reads = sidecar.backends["main"]._replicas
    # Most reads land on replicas; a replica may still answer one with MOVED
    # (sending it to the primary), and GET inside the write scripts counts on
    # the primaries, so the primaries' count is small, not necessarily 0.
    assert replica_gets >= KEYS - 3, (replica_gets, master_gets, reads.replica_reads)
    assert master_gets <= 3
    assert master_sets >= KEYS
    for node in replicas:
        node.kill()
    assert await _read_all(cache) == []
    reads = sidecar.backends["main"]._replicas
    assert reads.fallbacks > 0
    assert sum(_calls(n, "get") for n in cluster.master_nodes()) >= 1


def _until_synced(replica: redis.Redis) -> None:
    for _ in range(100):  # the initial sync
        if replica.info("replication").get("master_link_status") == "up":
            return
        time.sleep(0.1)
    raise ServerStartError("the replica never synced with its primary")


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary, replica = RedisServer(), RedisServer()
    try:
        primary.start()
        replica.start()
        with redis.Redis(replica.host, replica.port, socket_timeout=5) as r:
            r.replicaof(primary.host, primary.port)
            _until_synced(r)
    except ServerStartError as exc:
        primary.close()
        replica.close()
        pytest.fail(f"could not start a primary and a replica: {exc}", pytrace=False)
    yield primary, replica
    for server in (primary, replica):
        with contextlib.suppress(Exception):
            server.close()


async def test_a_reader_endpoint_serves_gets_and_the_primary_takes_over(
    primary_and_replica: tuple[RedisServer, RedisServer], start: Any
) -> None:
    primary, replica = primary_and_replica
    sidecar, cache = await start(
        {"url": primary.url, "read_from": "prefer_replica", "reader_url": replica.url}
    )
    assert await _write_then_read(cache, [primary, replica]) == []
    assert _calls(replica, "get") >= KEYS
    assert _calls(primary, "get") == 0
    assert WRITES[primary.port] >= KEYS

    replica.kill()
    assert await _read_all(cache) == []
    assert _calls(primary, "get") >= KEYS
    reads = sidecar.backends["main"]._replicas
    assert reads.fallbacks >= KEYS


async def test_get_or_load_never_reads_a_replica(
    primary_and_replica: tuple[RedisServer, RedisServer], start: Any, fake_app: FakeApp
) -> None:
    # GetOrLoad decides whether to load from what it reads: a replica's stale
    # miss would load again, so it stays on the primary.
    primary, replica = primary_and_replica
    _, cache = await start({"url": primary.url, "read_from": "replica", "reader_url": replica.url})
    _reset([primary, replica])
    fake_app.rows["p"] = b"tea"
    for _ in range(5):
        got = await cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p"))
        assert got.value == b"tea"
    assert _calls(replica, "get") == 0
    assert fake_app.loads_of("p") == 1


@pytest.mark.parametrize(
    ("backend", "fix"),
    [
        ({"url": "redis://h:1", "read_from": "replica"}, "needs reader_url"),
        (
            {"url": "redis+cluster://h:1", "read_from": "replica", "reader_url": "redis://r:1"},
            "remove reader_url",
        ),
        ({"url": "redis://h:1", "reader_url": "redis://r:1"}, "set read_from"),
        ({"url": "redis://h:1", "read_from": "replica", "reader_url": "rediss://r:1"}, "scheme"),
        ({"url": "redis+cluster://h:1", "read_from": "az_affinity"}, "not implemented"),
    ],
)  # fmt: skip
def test_replica_settings_that_cannot_work_say_what_to_fix(
    backend: dict[str, Any], fix: str
) -> None:
    with pytest.raises(ConfigError) as failed:
        settings_from_mapping({"backends": {"main": backend}, "namespaces": {}})
    assert fix in str(failed.value)
