"""Pub/Sub when things break: Redis restarts or hangs, the sidecar gets SIGTERM.

Real processes only: a private redis-server (with AOF where a restart must
keep the streams), and ``python -m sidecar serve`` children for SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from cachecar.v1 import pubsub_pb2 as pb

from sidecar.devmode import RedisServer
from tests.appfixtures import RunningSidecar, SidecarFactory, error_info, wait_until
from tests.pubsubhelpers import numbered, ordinals, publish, publish_all, subscribe
from tests.test_process import spawn_sidecar, write_config

DURABLE = {"durable": ["audit"]}


@pytest.fixture
def aof_redis() -> Iterator[RedisServer]:
    """A private Redis that keeps its data across a crash (AOF, fsync always)."""
    server = RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    server.start()
    try:
        yield server
    finally:
        server.close()


async def _resubscribed(url: str, channels: list[str], patterns: int) -> None:
    """Wait until Redis shows the sidecar's subscriptions again (bounded)."""
    client: Any = aioredis.from_url(url)
    try:
        for _ in range(1000):
            try:
                counts = await client.pubsub_numsub(*channels)
                if all(n == 1 for _, n in counts) and await client.pubsub_numpat() == patterns:
                    return
            except (aioredis.ConnectionError, OSError):
                pass  # still starting
            await asyncio.sleep(0.02)
        raise AssertionError("the sidecar did not resubscribe")
    finally:
        await client.aclose()


def _reconnects(sc: RunningSidecar) -> float:
    registry = sc.sidecar.telemetry.metrics.registry
    return registry.get_sample_value("cachecar_pubsub_reconnects_total", {"backend": "main"}) or 0


async def test_redis_restart_mid_stream_resubscribes_and_durable_loses_nothing(
    aof_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(aof_redis.url, channels=DURABLE)
    durable = await subscribe(sc.channel, ["audit"])
    news = await subscribe(sc.channel, ["news"], ["news.*"])
    await publish_all(sc.channel, "audit", numbered(50))
    await durable.take(20)  # mid-stream: the rest is in Redis when it dies

    aof_redis.kill()
    aof_redis.restart()
    # Nobody reopens a stream: the sidecar reconnects and resubscribes by itself.
    await _resubscribed(aof_redis.url, ["cc:p{items:news}", "cc:n{items:audit}"], patterns=1)
    breaker = sc.sidecar.namespaces["items"].backend.breaker
    await wait_until(lambda: breaker.state.value == "closed", within=15)
    await publish_all(sc.channel, "audit", numbered(50, start=50))
    await durable.take(80)
    assert ordinals(durable.payloads) == list(range(100))  # in order, nothing lost
    assert durable.missed == []

    await publish(sc.channel, "news", b"after")
    await publish(sc.channel, "news.eu", b"after, by pattern")
    assert [m.payload for m in await news.take(2)] == [b"after", b"after, by pattern"]
    assert _reconnects(sc) >= 1
    # The fire-and-forget stream says where it has a hole, once, before "after".
    assert [(m.reason, m.missed_count) for m in news.missed] == [(pb.MISSED_REASON_RESUBSCRIBED, 0)]


async def test_a_redis_that_stops_answering_is_noticed_by_the_keepalive(
    fresh_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(fresh_redis.url)
    sc.sidecar.pubsub.ping_interval = 0.2  # before the hub exists: it takes it at start
    news = await subscribe(sc.channel, ["news"])
    fresh_redis.pause()  # the TCP connection stays up; nothing answers
    try:
        await wait_until(lambda: not sc.sidecar.pubsub.connected(), within=15)
    finally:
        fresh_redis.resume()
    await _resubscribed(fresh_redis.url, ["cc:p{items:news}"], patterns=0)
    await wait_until(lambda: _reconnects(sc) >= 1, within=15)
    breaker = sc.sidecar.namespaces["items"].backend.breaker
    await wait_until(lambda: breaker.state.value == "closed", within=15)
    await publish(sc.channel, "news", b"back")
    assert [m.payload for m in await news.take(1)] == [b"back"]


async def test_subscribing_while_redis_is_down_fails_cleanly(
    fresh_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(fresh_redis.url, channels=DURABLE)
    sc.sidecar.pubsub.setup_timeout = 0.5
    fresh_redis.kill()
    for channels in (["news"], ["audit"]):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await subscribe(sc.channel, channels)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(caught.value).reason == "BACKEND_UNAVAILABLE"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await publish(sc.channel, "news", b"x")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    pubsub = sc.sidecar.pubsub
    await wait_until(lambda: pubsub.active_subscriptions() == 0 and pubsub.open_tails() == 0)


async def test_sigterm_ends_streams_and_a_restarted_sidecar_resumes_without_loss(
    redis_url: str, tmp_path: Path, sidecar_for: SidecarFactory
) -> None:
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main", "channels": DURABLE}},
        },
    )
    publisher = await sidecar_for(redis_url, channels=DURABLE)
    await publish_all(publisher.channel, "audit", numbered(100))

    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            durable = await subscribe(channel, ["audit"], start=pb.START_POSITION_OLDEST)
            news = await subscribe(channel, ["news"])
            await durable.take(40)
            proc.send_signal(signal.SIGTERM)
            for stream in (durable, news):
                ended = await stream.until_error()
                assert ended.code() == grpc.StatusCode.UNAVAILABLE
                assert error_info(ended).reason == "SHUTTING_DOWN"
        assert await asyncio.to_thread(proc.wait, 15) == 0
    finally:
        proc.kill()
        proc.communicate()
    processed = len(durable.messages)
    last = durable.messages[-1].message_id

    await publish_all(publisher.channel, "audit", numbered(50, start=100))
    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            again = await subscribe(channel, ["audit"], resume_ids={"audit": last})
            await again.take(150 - processed)
            assert ordinals(durable.payloads + again.payloads) == list(range(150))
            assert again.missed == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)


async def test_connection_age_never_drops_a_subscribers_subscriptions(
    fresh_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    # max_connection_age (11 h by default with IAM) recycles pooled connections
    # before a command. Applied to a subscriber connection (its keepalive PING),
    # it redialled the socket under the reader: "read() called while another
    # coroutine is already waiting", a failed resubscribe, leaked sockets and
    # lost messages. Subscriber connections are never retired by age.
    sc = await sidecar_for({"url": fresh_redis.url, "max_connection_age": "300ms"})
    sc.sidecar.pubsub.ping_interval = 0.2  # keepalive PINGs go out on the subscriber
    news = await subscribe(sc.channel, ["news"])
    await asyncio.sleep(1.5)  # several PINGs past the age limit
    await publish_all(sc.channel, "news", numbered(5))
    got = await news.take(5)
    assert ordinals([m.payload for m in got]) == list(range(5))
    assert news.missed == []


async def test_a_second_subscriber_of_a_confirmed_channel_hears_of_the_gap(
    fresh_redis: RedisServer, sidecar_for: SidecarFactory
) -> None:
    # The second Subscribe joins a channel Redis already confirmed for the
    # first one. It was never told "confirmed", so a lost connection was no
    # gap to it: after the reconnect only the first stream said RESUBSCRIBED.
    sc = await sidecar_for(fresh_redis.url)
    first = await subscribe(sc.channel, ["news"])
    second = await subscribe(sc.channel, ["news"])
    await publish(sc.channel, "news", b"0")
    await first.take(1)
    await second.take(1)
    client: Any = aioredis.from_url(fresh_redis.url)
    try:
        await client.client_kill_filter(_type="pubsub")
    finally:
        await client.aclose()
    await _resubscribed(fresh_redis.url, ["cc:p{items:news}"], patterns=0)
    await publish(sc.channel, "news", b"1")
    await first.take(1)
    await second.take(1)
    assert first.events == ["message", "missed", "message"]
    assert second.events == ["message", "missed", "message"]
