"""Redis Cluster resharding: a slot in migration is transient, and local to its slot.

A slot is put in ``MIGRATING`` (on its owner) / ``IMPORTING`` (on another
master) state, as ``redis-cli --cluster reshard`` does before it moves keys,
and held there while the sidecar works on keys of that slot and of others.
What must hold: the circuit breaker never opens, health stays SERVING, keys
of other slots are served from the cache (not reloaded), a multi-key call
in the moving slot either succeeds or fails with ``SLOT_MIGRATING`` naming
the slot (never a breaker error), GetOrLoad never fails, and everything works
as before once the slot is stable again.

Also here: the smaller items of the same probe (a resume id from the future,
a counter window under 1 ms).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import cache_pb2, leaderboard_pb2, leaderboard_pb2_grpc, pubsub_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.crc import key_slot

from sidecar.backends.breaker import BreakerState
from tests.appfixtures import FakeApp, SidecarFactory, error_info, status_of
from tests.servers import RedisCluster


@contextmanager
def migrating(cluster: RedisCluster, slot: int) -> Iterator[None]:
    """Hold ``slot`` in MIGRATING/IMPORTING state (no keys moved), then finish the
    move as ``redis-cli --cluster reshard`` would: the old owner's keys of the
    slot go over (MIGRATE), then the slot is handed to the new owner everywhere."""
    first = cluster.master_nodes()[0]
    with redis.Redis(first.host, first.port) as r:
        ranges = r.execute_command("CLUSTER SLOTS")
    masters = {(m[0].decode(), int(m[1])): m[2].decode() for _, _, m, *_ in ranges}
    owner = next((m[0].decode(), int(m[1])) for start, end, m, *_ in ranges if start <= slot <= end)
    target = next(address for address in masters if address != owner)
    with redis.Redis(*target) as r:
        r.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", masters[owner])
    with redis.Redis(*owner) as r:
        r.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", masters[target])
    try:
        yield
    finally:
        with redis.Redis(*owner) as r:
            for _ in range(1000):  # bounded: a test slot holds a few keys
                keys = r.execute_command("CLUSTER GETKEYSINSLOT", slot, 100)
                if not keys:
                    break
                r.execute_command("MIGRATE", *target, "", 0, 5000, "KEYS", *keys)
        for address in (target, owner, *(a for a in masters if a not in (owner, target))):
            with redis.Redis(*address) as r:
                r.execute_command("CLUSTER SETSLOT", slot, "NODE", masters[target])


def _value_slot(key: str) -> int:
    return key_slot(f"cc:v{{items:{key}}}".encode())


async def test_a_migrating_slot_does_not_open_the_breaker_or_touch_other_slots(
    cluster_url: str,
    redis_cluster: RedisCluster,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
) -> None:
    sc = await sidecar_for(cluster_url, loader=fake_app.target)
    backend = sc.sidecar.namespaces["items"].backend
    boards = leaderboard_pb2_grpc.LeaderboardServiceStub(sc.channel)
    health = health_pb2_grpc.HealthStub(sc.channel)
    board_slot = key_slot(b"cc:b{items:arena}")
    await boards.AddScore(
        leaderboard_pb2.AddScoreRequest(namespace="items", board="arena", member="m1", score=1)
    )
    # Warm keys in other slots; the cold ones share the board's slot.
    warm = [f"w{i}" for i in range(20) if _value_slot(f"w{i}") != board_slot]
    for key in warm:
        fake_app.rows[key] = b"v"
        await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=key))
    cold = [k for k in (f"c{i}" for i in range(100_000)) if _value_slot(k) == board_slot][:3]
    for key in cold:
        fake_app.rows[key] = b"cold"
    loads_before = {k: fake_app.loads_of(k) for k in warm}
    reasons: set[str] = set()
    states: set[BreakerState] = set()
    with migrating(redis_cluster, board_slot):
        deadline = time.monotonic() + 3  # held for a few seconds of traffic
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            # Concurrent misses in the moving slot (their fills meet TRYAGAIN):
            # never a caller error, the loader answers.
            got_cold = await asyncio.gather(
                *(
                    sc.cache.GetOrLoad(
                        cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=10
                    )
                    for key in cold
                )
            )
            assert {(g.found, g.value) for g in got_cold} == {(True, b"cold")}
            for key in warm:
                got = await sc.cache.GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=10
                )
                assert got.source == cache_pb2.SOURCE_CACHE
            code, reason = await status_of(
                boards.AddScore(
                    leaderboard_pb2.AddScoreRequest(
                        namespace="items", board="arena", member=f"m{rounds}", score=rounds
                    ),
                    timeout=10,
                )
            )
            assert code in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE)
            reasons.add(reason or "OK")
            states.add(backend.breaker.state)
            checked = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert checked.status == health_pb2.HealthCheckResponse.SERVING
    assert states == {BreakerState.CLOSED}
    assert reasons <= {"OK", "SLOT_MIGRATING"}, reasons
    assert {k: fake_app.loads_of(k) for k in warm} == loads_before  # other slots untouched
    # Each cold key was loaded once: its value parked in the lease key served the rest.
    assert rounds > 1
    assert {k: fake_app.loads_of(k) for k in cold} == dict.fromkeys(cold, 1)
    # Moved: the board takes scores, and the cold keys are served without loading.
    await boards.AddScore(
        leaderboard_pb2.AddScoreRequest(namespace="items", board="arena", member="after", score=9)
    )
    for _ in range(3):
        await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=cold[0]))
    assert {k: fake_app.loads_of(k) for k in cold} == dict.fromkeys(cold, 1)


async def test_a_held_migration_still_loads_each_cold_key_once_across_sidecars(
    cluster_url: str,
    redis_cluster: RedisCluster,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
) -> None:
    # The two-key fill cannot land while the slot is held (TRYAGAIN): the value
    # is parked in the lease key, where the other sidecar's waiters find it.
    a = await sidecar_for(cluster_url, loader=fake_app.target)
    b = await sidecar_for(cluster_url, loader=fake_app.target)
    slot = _value_slot("anchor")
    cold = [k for k in (f"h{i}" for i in range(200_000)) if _value_slot(k) == slot][:4]
    for key in cold:
        fake_app.rows[key] = key.encode()
    fake_app.load_delay = 0.05
    with migrating(redis_cluster, slot):
        for _ in range(3):  # rounds: both sidecars ask for every key at once
            got = await asyncio.gather(
                *(
                    sc.cache.GetOrLoad(
                        cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=10
                    )
                    for key in cold
                    for sc in (a, b)
                )
            )
            assert sorted(g.value for g in got) == sorted(k.encode() for k in cold * 2)
        assert {k: fake_app.loads_of(k) for k in cold} == dict.fromkeys(cold, 1)
        # A parked value is still the cache's: an Invalidate removes it (no stale reads).
        fake_app.rows[cold[0]] = b"new"
        await a.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=[cold[0]]))
        got_new = await b.cache.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace="items", key=cold[0]), timeout=10
        )
        assert got_new.value == b"new"
        fake_app.rows[cold[0]] = cold[0].encode()
        await a.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=[cold[0]]))
        await a.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=cold[0]))
    loads = dict.fromkeys(cold, 1) | {cold[0]: 3}
    # Moved: the parked values go to their value keys on the next read.
    for key in cold:
        await b.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=key))
        got = await a.cache.Get(cache_pb2.GetRequest(namespace="items", key=key))
        assert (got.found, got.value) == (True, key.encode())
    assert {k: fake_app.loads_of(k) for k in cold} == loads


async def test_slot_migrating_errors_name_the_slot_and_the_node(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    # A Set of a key that exists on neither node is a two-key script (value and
    # lease): the old owner redirects it (ASK), the new one answers TRYAGAIN
    # until the slot is stable. It fails, transiently and explicitly.
    sc = await sidecar_for(cluster_url)
    key = next(k for k in (f"s{i}" for i in range(100_000)) if _value_slot(k) != 0)
    slot = _value_slot(key)
    backend = sc.sidecar.namespaces["items"].backend
    with migrating(redis_cluster, slot):
        failures = []
        for _ in range(4):  # more than the breaker's threshold of 3
            try:
                await sc.cache.Set(
                    cache_pb2.SetRequest(namespace="items", key=key, value=b"v"), timeout=10
                )
            except grpc.aio.AioRpcError as exc:
                failures.append(exc)
        assert backend.breaker.state is BreakerState.CLOSED
    assert len(failures) == 4
    for failure in failures:
        info = error_info(failure)
        assert (failure.code(), info.reason) == (grpc.StatusCode.UNAVAILABLE, "SLOT_MIGRATING")
        assert f"slot {slot} is migrating" in (failure.details() or "")
        assert info.metadata["node"].startswith("127.0.0.1:")
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key=key, value=b"v"))


# -- smaller items of the same probe -------------------------------------------------


async def test_a_resume_id_from_the_future_is_refused(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels={"durable": ["audit"]})
    subscribe = sc.channel.unary_stream(
        "/cachecar.v1.PubSubService/Subscribe",
        pubsub_pb2.SubscribeRequest.SerializeToString,
        pubsub_pb2.SubscribeResponse.FromString,
    )
    future = f"{int(time.time() * 1000) + 3_600_000}-0"
    stream = subscribe(
        pubsub_pb2.SubscribeRequest(
            namespace="items", channels=["audit"], resume_ids={"audit": future}
        ),
        timeout=10,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _first(stream)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == "RESUME_ID_INVALID"
    assert "future" in (caught.value.details() or "")


async def _first(stream: Any) -> None:
    async for _ in stream:
        return


@pytest.mark.parametrize(("seconds", "nanos"), [(0, 0), (0, 1), (0, 999_999)])
async def test_a_counter_window_under_one_millisecond_is_refused(
    redis_url: str, sidecar_for: SidecarFactory, seconds: int, nanos: int
) -> None:
    sc = await sidecar_for(redis_url)
    boards = leaderboard_pb2_grpc.LeaderboardServiceStub(sc.channel)
    request = leaderboard_pb2.IncrementCounterRequest(namespace="items", counter="c", delta=1)
    request.window.seconds, request.window.nanos = seconds, nanos
    code, reason = await status_of(boards.IncrementCounter(request))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "WINDOW_INVALID")
    request.window.seconds, request.window.nanos = 0, 1_000_000  # 1 ms: the smallest window
    assert (await status_of(boards.IncrementCounter(request)))[0] == grpc.StatusCode.OK
    await asyncio.sleep(0)
