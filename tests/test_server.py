"""The server around the patterns: health, reflection, listeners, graceful stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sidecar.config import settings_from_mapping
from sidecar.devmode import MemcachedServer, RedisServer
from sidecar.server import Sidecar
from tests.appfixtures import FakeApp, SidecarFactory, wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _status(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return int(response.status)


async def _wait_status(channel: grpc.aio.Channel, service: str, want: int) -> None:
    for _ in range(100):  # up to 10 s; the monitor in tests polls every 0.2 s
        if await _status(channel, service) == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service} never became {want}")


async def test_health_follows_the_backend(
    fresh_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(fresh_redis.url)
    assert await _status(sc.channel, "") == SERVING
    assert await _status(sc.channel, "cachecar.v1.CacheService") == SERVING
    assert await _status(sc.channel, "cachecar.backend.main") == SERVING
    fresh_redis.stop()
    await _wait_status(sc.channel, "cachecar.backend.main", NOT_SERVING)
    # The sidecar itself keeps serving (GetOrLoad can still reach the loader).
    assert await _status(sc.channel, "") == SERVING
    fresh_redis.restart()
    await _wait_status(sc.channel, "cachecar.backend.main", SERVING)
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"))
    assert (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))).found


async def test_health_of_a_memcached_backend(
    fresh_memcached: MemcachedServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(fresh_memcached.url)
    assert await _status(sc.channel, "cachecar.backend.main") == SERVING
    fresh_memcached.kill()
    await _wait_status(sc.channel, "cachecar.backend.main", NOT_SERVING)
    fresh_memcached.restart()
    await _wait_status(sc.channel, "cachecar.backend.main", SERVING)


async def test_reflection_lists_every_service(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    stub = reflection_pb2_grpc.ServerReflectionStub(sc.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for response in stub.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in response.list_services_response.service}
    assert {
        "cachecar.v1.CacheService",
        "cachecar.v1.SessionService",
        "cachecar.v1.LeaderboardService",
        "cachecar.v1.PubSubService",
        "grpc.health.v1.Health",
    } <= names


async def test_unix_socket_listener(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "cachecar.sock"
    settings = settings_from_mapping(
        {
            "listen": f"unix://{path}",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    async with Sidecar(settings) as sidecar, grpc.aio.insecure_channel(sidecar.address) as ch:
        cache = cache_pb2_grpc.CacheServiceStub(ch)
        await cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"over a socket"))
        got = await cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
        assert got.value == b"over a socket"


async def test_stop_finishes_calls_in_flight(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.load_delay = 0.5
    fake_app.rows.update({str(i): b"v%d" % i for i in range(10)})
    sc = await sidecar_for(redis_url, loader=fake_app.target)
    calls = [
        asyncio.ensure_future(
            sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key=str(i)))
        )
        for i in range(10)
    ]
    await wait_until(lambda: len(fake_app.loads) == 10)
    await sc.sidecar.stop(grace=5.0)
    results = await asyncio.gather(*calls)
    assert [r.value for r in results] == [b"v%d" % i for i in range(10)]
    # New calls are refused once stopped.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="0"), timeout=1)
    assert refused.value.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


async def test_health_only_listener(redis_url: str) -> None:
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "health_listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    sidecar = Sidecar(settings)
    await sidecar.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{sidecar.health_port}") as channel:
            assert await _status(channel, "") == SERVING
            assert await _status(channel, "cachecar.backend.main") == SERVING
            # Nothing but health is served there.
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED

    finally:
        await sidecar.stop(grace=1.0)


async def test_write_behind_on_a_redis_without_aof_is_warned_once(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The test Redis runs without AOF: a restart would lose queued writes.
    caplog.set_level(logging.WARNING, logger="cachecar.server")
    sc = await sidecar_for(redis_url, writer=fake_app.target, write_behind={"partitions": 1})
    await wait_until(lambda: any("without AOF" in r.getMessage() for r in caplog.records))
    await sc.sidecar._poll_backend_stats()
    warned = [r for r in caplog.records if "without AOF" in r.getMessage()]
    assert len(warned) == 1
    assert warned[0].namespaces == "items"  # type: ignore[attr-defined]
