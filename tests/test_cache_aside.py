"""Cache-aside through the real gRPC API, on Redis, Redis Cluster and Memcached.

Every test runs once per backend (the ``backend_url`` fixture): one contract,
three real servers.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from cachecar.v1 import cache_pb2
from google.protobuf import duration_pb2

from tests.appfixtures import FakeApp, SidecarFactory


async def test_miss_calls_loader_once_then_hits(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["42"] = b'{"id": 42}'
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    first = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="42"))
    assert (first.found, first.value, first.source) == (
        True,
        b'{"id": 42}',
        cache_pb2.SOURCE_LOADER,
    )
    for _ in range(3):
        hit = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="42"))
        assert (hit.found, hit.value, hit.source) == (True, b'{"id": 42}', cache_pb2.SOURCE_CACHE)
    assert fake_app.loads == [("items", "42")]


async def test_empty_value_is_a_value(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["e"] = b""
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    for source in (cache_pb2.SOURCE_LOADER, cache_pb2.SOURCE_CACHE):
        r = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="e"))
        assert (r.found, r.value, r.source) == (True, b"", source)
    assert fake_app.loads_of("e") == 1


async def test_not_found_is_cached_for_the_negative_ttl(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target, negative_ttl="1s")
    request = cache_pb2.GetOrLoadRequest(namespace="items", key="ghost")
    first = await sc.cache.GetOrLoad(request)
    second = await sc.cache.GetOrLoad(request)
    assert (first.found, first.source) == (False, cache_pb2.SOURCE_LOADER)
    assert (second.found, second.source) == (False, cache_pb2.SOURCE_CACHE)
    assert fake_app.loads_of("ghost") == 1
    # Once the negative TTL is over the loader is asked again (and now finds it).
    fake_app.rows["ghost"] = b"boo"
    await asyncio.sleep(1.1)
    third = await sc.cache.GetOrLoad(request)
    assert (third.found, third.value, third.source) == (True, b"boo", cache_pb2.SOURCE_LOADER)
    assert fake_app.loads_of("ghost") == 2


async def test_entries_expire_after_their_ttl(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"v1"
    sc = await sidecar_for(backend_url, loader=fake_app.target, ttl="1s")
    request = cache_pb2.GetOrLoadRequest(namespace="items", key="k")
    assert (await sc.cache.GetOrLoad(request)).source == cache_pb2.SOURCE_LOADER
    assert (await sc.cache.GetOrLoad(request)).source == cache_pb2.SOURCE_CACHE
    fake_app.rows["k"] = b"v2"
    await asyncio.sleep(1.1)
    again = await sc.cache.GetOrLoad(request)
    assert (again.value, again.source) == (b"v2", cache_pb2.SOURCE_LOADER)


async def test_loader_ttl_overrides_the_namespace_ttl(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["short"] = b"x"
    fake_app.ttl_ms = 1000
    sc = await sidecar_for(backend_url, loader=fake_app.target, ttl="1h")
    request = cache_pb2.GetOrLoadRequest(namespace="items", key="short")
    await sc.cache.GetOrLoad(request)
    assert (await sc.cache.GetOrLoad(request)).source == cache_pb2.SOURCE_CACHE
    await asyncio.sleep(1.1)
    assert (await sc.cache.GetOrLoad(request)).source == cache_pb2.SOURCE_LOADER


async def test_get_set_invalidate(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url)
    get = cache_pb2.GetRequest(namespace="items", key="a")
    assert not (await sc.cache.Get(get)).found
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="a", value=b"1"))
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="b", value=b"2"))
    got = await sc.cache.Get(get)
    assert (got.found, got.value) == (True, b"1")
    inv = await sc.cache.Invalidate(
        cache_pb2.InvalidateRequest(namespace="items", keys=["a", "b", "never-set"])
    )
    assert inv.invalidated_count == 2
    assert not (await sc.cache.Get(get)).found
    assert not (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="b"))).found


async def test_set_with_ttl_expires(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url)
    await sc.cache.Set(
        cache_pb2.SetRequest(
            namespace="items", key="t", value=b"1", ttl=duration_pb2.Duration(seconds=1)
        )
    )
    assert (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="t"))).found
    await asyncio.sleep(1.1)
    assert not (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="t"))).found


async def test_namespaces_are_isolated(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url)
    # Keys full of separators and braces still cannot reach another namespace.
    for key in ("x", "items:x", "{other:x}", "}x", "x}", "a b\nc\x00d", "é" * 300):
        await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key=key, value=b"items"))
        other = await sc.cache.Get(cache_pb2.GetRequest(namespace="other", key=key))
        assert not other.found, key
        await sc.cache.Set(cache_pb2.SetRequest(namespace="other", key=key, value=b"other"))
        mine = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key=key))
        assert mine.value == b"items", key


async def test_any_key_bytes_round_trip(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url)
    keys = [
        "with space",
        "new\nline",
        "nul\x00byte",
        "ctl\x01\x7f",
        "ünïcødé",
        "x" * 1024,
        "{tag}",
        "a}b{c",
        "#hash",
    ]
    for i, key in enumerate(keys):
        await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key=key, value=str(i).encode()))
    for i, key in enumerate(keys):
        got = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key=key))
        assert (got.found, got.value) == (True, str(i).encode()), repr(key)


async def test_get_or_load_many_in_order_one_load_per_missing_key(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows.update({"1": b"one", "2": b"two", "3": b"three"})
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="2"))
    keys = ["3", "2", "missing", "1", "3"]
    response = await sc.cache.GetOrLoadMany(
        cache_pb2.GetOrLoadManyRequest(namespace="items", keys=keys)
    )
    assert [r.key for r in response.results] == keys
    assert [(r.found, r.value) for r in response.results] == [
        (True, b"three"),
        (True, b"two"),
        (False, b""),
        (True, b"one"),
        (True, b"three"),
    ]
    sources = [r.source for r in response.results]
    assert sources[1] == cache_pb2.SOURCE_CACHE
    assert sources[0] == sources[3] == sources[4] == cache_pb2.SOURCE_LOADER
    assert sorted(fake_app.loads) == [("items", k) for k in ("1", "2", "3", "missing")]
    again = await sc.cache.GetOrLoadMany(
        cache_pb2.GetOrLoadManyRequest(namespace="items", keys=keys)
    )
    assert {r.source for r in again.results} == {cache_pb2.SOURCE_CACHE}
    assert len(fake_app.loads) == 4


async def test_concurrent_misses_share_one_load(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["hot"] = b"v"
    fake_app.load_delay = 0.2
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    results = await asyncio.gather(
        *(
            sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="hot"))
            for _ in range(50)
        )
    )
    assert {(r.found, r.value) for r in results} == {(True, b"v")}
    assert fake_app.loads_of("hot") == 1


async def test_deadline_is_passed_to_the_loader(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, loader=fake_app.target, loader_timeout="10s")
    await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="a"), timeout=7)
    # The loader sees the caller's deadline (less transit time), not its own default of 5 s.
    remaining = fake_app.deadlines_seen[-1]
    assert remaining is not None
    assert 6 < remaining < 7.5  # gRPC rounds deadlines up a little
    # Without a caller deadline the namespace's loader_timeout bounds the load.
    await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="b"))
    capped = fake_app.deadlines_seen[-1]
    assert capped is not None
    assert 9 < capped < 10.5


async def test_slow_loader_fails_with_deadline_exceeded(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.load_delay = 2
    sc = await sidecar_for(redis_url, loader=fake_app.target)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sc.cache.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace="items", key="k"), timeout=0.3
        )
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
