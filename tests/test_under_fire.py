"""Cache-aside under fire: stampedes across sidecars, fencing, grace, outages.

No timing assertions: every test counts loader calls and checks sources and
values; sleeps only let TTLs run out.
"""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest
from cachecar.v1 import cache_pb2

from sidecar.devmode import MemcachedServer, RedisServer
from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory, wait_until

Request = cache_pb2.GetOrLoadRequest


async def _get(sc: RunningSidecar, key: str, deadline_s: float = 10) -> cache_pb2.GetOrLoadResponse:
    response: cache_pb2.GetOrLoadResponse = await sc.cache.GetOrLoad(
        Request(namespace="items", key=key), timeout=deadline_s
    )
    return response


async def test_one_load_for_a_cold_key_across_three_sidecars(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["cold"] = b"v"
    fake_app.load_delay = 0.3
    sidecars = [await sidecar_for(backend_url, loader=fake_app.target) for _ in range(3)]
    calls = [_get(sidecars[i % 3], "cold") for i in range(150)]
    random.shuffle(calls)
    results = await asyncio.gather(*calls)
    assert {(r.found, r.value) for r in results} == {(True, b"v")}
    assert fake_app.loads_of("cold") == 1
    waited = sum(
        sc.sidecar.telemetry.metrics.lease_waits.labels("items")._value.get() for sc in sidecars
    )
    # The sidecars that lost the lease waited for the winner's value (a sidecar
    # whose first call came after the fill had a plain hit instead).
    assert 1 <= waited <= 2


async def test_invalidate_during_a_load_wins(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"old"
    fake_app.load_delay = 0.5
    first = await sidecar_for(backend_url, loader=fake_app.target)
    second = await sidecar_for(backend_url, loader=fake_app.target)
    in_flight = asyncio.ensure_future(_get(first, "k"))
    await wait_until(lambda: fake_app.loads_of("k") == 1)  # the load has read "old"
    fake_app.rows["k"] = b"new"  # the app writes, then invalidates, while the load runs
    await second.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=["k"]))
    assert (await in_flight).value == b"old"  # that caller asked before the write
    fake_app.load_delay = 0
    for sc in (first, second):
        got = await _get(sc, "k")
        assert got.value == b"new", "the load that started before Invalidate was stored"
    assert fake_app.loads_of("k") == 2


async def test_set_during_a_load_wins(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"loaded"
    fake_app.load_delay = 0.5
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    in_flight = asyncio.ensure_future(_get(sc, "k"))
    await wait_until(lambda: fake_app.loads_of("k") == 1)
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"set"))
    await in_flight
    got = await _get(sc, "k")
    assert (got.value, got.source) == (b"set", cache_pb2.SOURCE_CACHE)
    assert fake_app.loads_of("k") == 1


async def test_stale_within_grace_while_one_refresh_runs(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"v1"
    sc = await sidecar_for(
        backend_url, loader=fake_app.target, ttl="1s", grace="1h", early_refresh_beta=0
    )
    await _get(sc, "k")
    fake_app.rows["k"] = b"v2"
    fake_app.load_delay = 0.3
    await asyncio.sleep(1.1)
    results = await asyncio.gather(*(_get(sc, "k") for _ in range(30)))
    assert {(r.value, r.source) for r in results} == {(b"v1", cache_pb2.SOURCE_STALE)}
    await wait_until(lambda: fake_app.loads_of("k") == 2)
    await wait_until(lambda: sc.sidecar.cache.loads_in_flight == 0)
    fresh = await _get(sc, "k")
    assert (fresh.value, fresh.source) == (b"v2", cache_pb2.SOURCE_CACHE)
    assert fake_app.loads_of("k") == 2  # exactly one refresh for 30 stale reads


async def test_loader_failure_within_grace_serves_stale_beyond_it_fails(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"v1"
    sc = await sidecar_for(
        redis_url, loader=fake_app.target, ttl="1s", grace="1s", early_refresh_beta=0
    )
    await _get(sc, "k")
    fake_app.fail_with = grpc.StatusCode.UNAVAILABLE
    await asyncio.sleep(1.1)
    stale = await _get(sc, "k")
    assert (stale.value, stale.source) == (b"v1", cache_pb2.SOURCE_STALE)
    await wait_until(lambda: sc.sidecar.cache.loads_in_flight == 0)
    again = await _get(sc, "k")  # the failed refresh did not hurt: still stale
    assert (again.value, again.source) == (b"v1", cache_pb2.SOURCE_STALE)
    await asyncio.sleep(1.1)  # past TTL + grace: the entry is gone
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _get(sc, "k")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "LOADER_UNAVAILABLE" in str(caught.value.trailing_metadata())


async def test_hot_keys_are_refreshed_before_they_expire(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["hot"] = b"v"
    fake_app.load_delay = 0.3  # XFetch's delta: the last load took ~300 ms
    sc = await sidecar_for(redis_url, loader=fake_app.target, ttl="2s", early_refresh_beta=10)
    assert (await _get(sc, "hot")).source == cache_pb2.SOURCE_LOADER
    sources = []
    for _ in range(200):  # at most ~4 s of steady reads, past the 2 s TTL
        sources.append((await _get(sc, "hot")).source)
        if fake_app.loads_of("hot") >= 2 and sc.sidecar.cache.loads_in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert fake_app.loads_of("hot") >= 2  # refreshed in the background...
    assert set(sources) == {cache_pb2.SOURCE_CACHE}  # ...before any reader saw a miss


async def test_a_crashed_sidecars_lease_expires(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"v"
    sc = await sidecar_for(backend_url, loader=fake_app.target, lease_ttl="1s")
    ns = sc.sidecar.namespaces["items"]
    # A sidecar takes the lease and dies before loading: nobody releases it.
    fence = await ns.backend.lease(ns.keys.value("k"), ns.keys.lease("k"), 1000)
    assert fence is not None
    got = await _get(sc, "k", deadline_s=10)
    assert (got.found, got.value, got.source) == (True, b"v", cache_pb2.SOURCE_LOADER)
    assert fake_app.loads_of("k") == 1


async def test_waiters_fail_cleanly_at_their_deadline(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, loader=fake_app.target, lease_ttl="30s")
    ns = sc.sidecar.namespaces["items"]
    assert await ns.backend.lease(ns.keys.value("k"), ns.keys.lease("k"), 30_000) is not None
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _get(sc, "k", deadline_s=0.5)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert fake_app.loads == []


async def _steady_traffic(sc: RunningSidecar, rounds: int, errors: list[str]) -> list[int]:
    sources: list[int] = []
    for i in range(rounds):
        try:
            got = await _get(sc, str(i % 20), deadline_s=5)
            assert got.value == str(i % 20).encode()
            sources.append(got.source)
        except grpc.aio.AioRpcError as exc:
            errors.append(f"{exc.code().name}: {exc.details()}")
        await asyncio.sleep(0.005)
    return sources


@pytest.mark.parametrize("kind", ["redis", "memcached"])
async def test_backend_killed_mid_traffic_callers_see_no_errors(
    kind: str, request: pytest.FixtureRequest, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    server: RedisServer | MemcachedServer = request.getfixturevalue(f"fresh_{kind}")
    fake_app.rows.update({str(i): str(i).encode() for i in range(20)})
    sc = await sidecar_for(server.url, loader=fake_app.target)
    errors: list[str] = []
    await _steady_traffic(sc, 40, errors)
    server.kill()
    during = await _steady_traffic(sc, 100, errors)
    assert cache_pb2.SOURCE_LOADER in during  # served by the loader while the cache is down
    server.restart()
    ns = sc.sidecar.namespaces["items"]
    await wait_until(lambda: ns.backend.breaker.state.value == "closed", within=15)
    loads_before = len(fake_app.loads)
    after = await _steady_traffic(sc, 100, errors)
    assert errors == []
    assert after[-20:] == [cache_pb2.SOURCE_CACHE] * 20  # the cache is used again
    assert len(fake_app.loads) - loads_before <= 20  # refilled once per key at most
