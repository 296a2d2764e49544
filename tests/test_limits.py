"""Sidecar-wide limits: each one exceeded is a clear error, never unbounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc, pubsub_pb2

from sidecar.config import ITEM_OVERHEAD, settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests import pubsubhelpers as ps
from tests.appfixtures import FakeApp, error_info, status_of

Start = Callable[..., Awaitable[tuple[Sidecar, grpc.aio.Channel]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    running: list[tuple[Sidecar, grpc.aio.Channel]] = []

    async def run(
        url: str, limits: dict[str, Any] | None = None, **ns: Any
    ) -> tuple[Sidecar, grpc.aio.Channel]:
        config = {
            "listen": "127.0.0.1:0",
            "backends": {"main": url},
            "namespaces": {"items": {"backend": "main", **ns}},
            "limits": limits or {},
        }
        sidecar = Sidecar(settings_from_mapping(config), telemetry=Telemetry())
        await sidecar.start()
        channel = grpc.aio.insecure_channel(sidecar.address)
        running.append((sidecar, channel))
        return sidecar, channel

    yield run
    for sidecar, channel in running:
        await channel.close()
        await sidecar.stop(grace=0.5)


async def test_inflight_loads_are_bounded(redis_url: str, fake_app: FakeApp, start: Start) -> None:
    fake_app.load_delay = 1.0
    _, channel = await start(redis_url, {"max_inflight_loads": 2}, loader=fake_app.target)
    cache = cache_pb2_grpc.CacheServiceStub(channel)

    def load(key: str) -> Awaitable[Any]:
        call: Awaitable[Any] = cache.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=10
        )
        return call

    slow = [asyncio.ensure_future(status_of(load(k))) for k in ("a", "b")]
    for _ in range(500):  # the two loads reach the loader
        if len(fake_app.loads) == 2:
            break
        await asyncio.sleep(0.01)
    # A third key is refused at once; a caller of a key already loading joins it.
    assert await status_of(load("c")) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "LOADS_EXHAUSTED")
    assert await status_of(load("a")) == (grpc.StatusCode.OK, "")
    assert [await s for s in slow] == [(grpc.StatusCode.OK, "")] * 2
    # Once those loads are done, new keys load again.
    assert await status_of(load("c")) == (grpc.StatusCode.OK, "")
    assert len(fake_app.loads) == 3


async def test_subscribe_streams_are_bounded(redis_url: str, start: Start) -> None:
    sidecar, channel = await start(redis_url, {"max_streams": 2})
    # Both kept referenced: a dropped call object cancels its stream.
    first = await ps.subscribe(channel, ["a"])
    second = await ps.subscribe(channel, ["b"])
    refused = ps.stub(channel).Subscribe(
        pubsub_pb2.SubscribeRequest(namespace="items", channels=["c"])
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await refused.read()
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(caught.value).reason == "TOO_MANY_STREAMS"
    assert "limits.max_streams" in (caught.value.details() or "")
    first.cancel()
    for _ in range(200):
        if sidecar.pubsub.active_subscriptions() < 2:
            break
        await asyncio.sleep(0.05)
    third = await ps.subscribe(channel, ["c"])
    assert sidecar.pubsub.active_subscriptions() == 2
    second.cancel()
    third.cancel()


async def test_requests_over_max_request_size_are_refused(redis_url: str, start: Start) -> None:
    _, channel = await start(redis_url, {"max_request_size": "64KiB"}, max_value_size="1MiB")
    cache = cache_pb2_grpc.CacheServiceStub(channel)
    await cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"x" * 60_000))
    assert await status_of(
        cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"x" * 70_000))
    ) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE")
    # Past twice the limit gRPC refuses the message itself (no ErrorInfo) before
    # buffering it whole.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"x" * 140_000))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    got = await cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
    assert len(got.value) == 60_000


async def test_memcached_values_default_to_what_fits_in_an_item(
    memcached_url: str, start: Start
) -> None:
    sidecar, channel = await start(memcached_url)
    limit = sidecar.namespaces["items"].settings.max_value_size
    assert limit == 1024 * 1024 - ITEM_OVERHEAD
    cache = cache_pb2_grpc.CacheServiceStub(channel)
    # The largest value allowed really is stored by a stock memcached (-I 1m)...
    key = "k" * 250
    await cache.Set(cache_pb2.SetRequest(namespace="items", key=key, value=b"x" * limit))
    got = await cache.Get(cache_pb2.GetRequest(namespace="items", key=key))
    assert len(got.value) == limit
    # ...and one byte more is the caller's error, not a backend failure.
    assert await status_of(
        cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"x" * (limit + 1)))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LARGE")
