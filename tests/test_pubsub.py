"""Pub/Sub against real Redis and Redis Cluster: fan-out, order, patterns, durable
resume, slow subscribers, cleanup.

No timing assertions: tests count messages, check their order and the
sidecar's own counts. A "stalled" subscriber is a client that stops reading
on a channel whose receive window cannot grow (``STALLABLE``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from cachecar.v1 import pubsub_pb2 as pb

from tests.appfixtures import RunningSidecar, SidecarFactory, error_info, wait_until
from tests.pubsubhelpers import (
    STALLABLE,
    numbered,
    ordinals,
    publish,
    publish_all,
    stub,
    subscribe,
)

DURABLE = {"durable": ["audit", "audit.*"]}


def _sample(sc: RunningSidecar, name: str, **labels: str) -> float:
    value = sc.sidecar.telemetry.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


@pytest.mark.parametrize("backend", ["redis", "cluster"])
@pytest.mark.parametrize("channel", ["news", "audit"], ids=["fire_and_forget", "durable"])
async def test_three_subscribers_on_two_sidecars_receive_all_in_order(
    backend: str, channel: str, request: pytest.FixtureRequest, sidecar_for: SidecarFactory
) -> None:
    url: str = request.getfixturevalue(f"{backend}_url")
    first = await sidecar_for(url, channels=DURABLE)
    second = await sidecar_for(url, channels=DURABLE)
    subscribers = [
        await subscribe(first.channel, [channel]),
        await subscribe(first.channel, [channel]),
        await subscribe(second.channel, [channel]),
    ]
    readers = [asyncio.ensure_future(s.take(1000, within=60)) for s in subscribers]
    sent = await publish_all(first.channel, channel, numbered(1000))
    await asyncio.gather(*readers)
    for subscriber in subscribers:
        assert subscriber.payloads == numbered(1000)
        assert subscriber.missed == []
        assert all(m.channel == channel and m.published_at.seconds > 0 for m in subscriber.messages)
    if channel == "audit":
        ids = [r.message_id for r in sent]
        assert len(set(ids)) == 1000
        for subscriber in subscribers:
            assert [m.message_id for m in subscriber.messages] == ids
        # Readers of a stream are not known at publish time: local ones only.
        assert {(r.receiver_count, r.local_receiver_count) for r in sent} == {(2, 2)}
    elif backend == "redis":
        # Two subscribers here, plus the other sidecar's one Redis connection.
        assert {(r.receiver_count, r.local_receiver_count) for r in sent} == {(3, 2)}
    else:  # PUBLISH counts only the clients of the node that ran it: a lower bound
        assert all(r.local_receiver_count == 2 <= r.receiver_count <= 3 for r in sent)
    kind = "durable" if channel == "audit" else "fire_and_forget"
    assert _sample(first, "cachecar_pubsub_published_total", namespace="items", kind=kind) == 1000
    assert _sample(first, "cachecar_pubsub_delivered_total", namespace="items") == 2000
    assert _sample(first, "cachecar_pubsub_subscribers", namespace="items") == 2


async def test_patterns_deliver_once_per_subscription_within_their_namespace(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels={"durable": ["orders.audit"]})
    sub = await subscribe(sc.channel, ["orders.eu.1"], ["orders.*", "orders.eu.?"])
    everything_elsewhere = await subscribe(sc.channel, patterns=["*"], namespace="other")
    counts = {}
    for name in ("orders.eu.1", "orders.eu.2", "orders.us", "orders.audit", "misc", "end"):
        counts[name] = await publish(sc.channel, name, name.encode())
    await publish(sc.channel, "orders.x", b"other namespace", namespace="other")
    await publish(sc.channel, "orders.end", b"sentinel")
    got = await sub.take(4)
    assert [(m.channel, m.pattern, m.payload) for m in got] == [
        ("orders.eu.1", "", b"orders.eu.1"),  # by name, though both patterns match too
        ("orders.eu.2", "orders.*", b"orders.eu.2"),  # the first matching pattern
        ("orders.us", "orders.*", b"orders.us"),
        ("orders.end", "orders.*", b"sentinel"),  # nothing durable, nothing of "other"
    ]
    assert [(m.channel, m.pattern) for m in await everything_elsewhere.take(1)] == [
        ("orders.x", "*")
    ]
    # One local subscriber however many of its subscriptions match; nobody else.
    assert (counts["orders.eu.2"].receiver_count, counts["orders.eu.2"].local_receiver_count) == (
        1,
        1,
    )
    assert counts["misc"].receiver_count == 0


async def test_a_message_published_right_after_subscribed_is_delivered(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    # The SubscribedEvent means "active in Redis": no sleep needed, on any sidecar.
    first = await sidecar_for(redis_url, channels=DURABLE)
    second = await sidecar_for(redis_url, channels=DURABLE)
    for i in range(20):
        for channel in (f"fresh.{i}", f"audit.{i}"):
            sub = await subscribe(first.channel, [channel])
            await publish(second.channel, channel, b"right away")
            assert [m.payload for m in await sub.take(1)] == [b"right away"]
            sub.cancel()


async def test_durable_resume_after_a_disconnect_loses_nothing(
    cluster_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(cluster_url, channels=DURABLE)
    first = await subscribe(sc.channel, ["audit"])
    assert dict(first.subscribed.resume_ids) == {"audit": "0-0"}  # nothing published yet
    await publish_all(sc.channel, "audit", numbered(100))
    last = (await first.take(30))[-1].message_id
    first.cancel()
    await publish_all(sc.channel, "audit", numbered(50, start=100))

    again = await subscribe(sc.channel, ["audit"], resume_ids={"audit": last})
    assert dict(again.subscribed.resume_ids) == {"audit": last}
    assert ordinals(m.payload for m in await again.take(120)) == list(range(30, 150))
    assert again.missed == []

    oldest = await subscribe(sc.channel, ["audit"], start=pb.START_POSITION_OLDEST)
    assert dict(oldest.subscribed.resume_ids) == {"audit": "0-0"}
    assert ordinals(m.payload for m in await oldest.take(150)) == list(range(150))

    latest = await subscribe(sc.channel, ["audit"])
    newest = again.messages[-1].message_id
    assert dict(latest.subscribed.resume_ids) == {"audit": newest}
    await publish(sc.channel, "audit", b"150")
    assert [m.payload for m in await latest.take(1)] == [b"150"]


async def test_trimmed_messages_are_reported_with_their_exact_count(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels={"durable": ["audit"], "max_len": 10})
    sent = await publish_all(sc.channel, "audit", numbered(300))
    sub = await subscribe(sc.channel, ["audit"], resume_ids={"audit": sent[4].message_id})
    await sub.account_for(295)
    assert sub.events[0] == "missed"
    [missed] = sub.missed
    assert (missed.reason, missed.channel) == (pb.MISSED_REASON_TRIMMED, "audit")
    assert missed.missed_count > 0
    assert ordinals(sub.payloads) == list(range(5 + missed.missed_count, 300))
    trimmed = _sample(sc, "cachecar_pubsub_dropped_total", namespace="items", reason="trimmed")
    assert trimmed == missed.missed_count


async def test_a_stalled_subscriber_drops_oldest_and_is_told_how_many(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels={"subscriber_buffer": 20})
    async with grpc.aio.insecure_channel(sc.sidecar.address, options=STALLABLE) as slow_channel:
        stalled = await subscribe(slow_channel, ["news"])  # and then it reads nothing
        fast = [await subscribe(sc.channel, ["news"]) for _ in range(2)]
        readers = [asyncio.ensure_future(f.take(600, within=60)) for f in fast]
        await publish_all(sc.channel, "news", numbered(600, size=4096))
        await asyncio.gather(*readers)  # all of it, while the stalled one read nothing
        for f in fast:
            assert f.payloads == numbered(600, size=4096)
        assert sc.sidecar.pubsub.active_subscriptions() == 3  # drop_oldest keeps it

        await stalled.account_for(600)
        delivered = ordinals(stalled.payloads)
        assert stalled.missed_count > 0
        assert delivered == sorted(set(delivered))  # in order, no duplicates
        assert delivered[-1] == 599  # the newest survive
        assert all(m.reason == pb.MISSED_REASON_SLOW_SUBSCRIBER for m in stalled.missed)
        dropped = _sample(
            sc, "cachecar_pubsub_dropped_total", namespace="items", reason="slow_subscriber"
        )
        assert dropped == stalled.missed_count


async def test_a_stalled_subscriber_is_disconnected_when_the_policy_says_so(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(
        redis_url, channels={"subscriber_buffer": 20, "slow_subscriber": "disconnect"}
    )
    async with grpc.aio.insecure_channel(sc.sidecar.address, options=STALLABLE) as slow_channel:
        stalled = await subscribe(slow_channel, ["news"])
        fast = [await subscribe(sc.channel, ["news"]) for _ in range(2)]
        readers = [asyncio.ensure_future(f.take(600, within=60)) for f in fast]
        await publish_all(sc.channel, "news", numbered(600, size=4096))
        await asyncio.gather(*readers)
        # Released server-side at once, before the stalled client reads again.
        await wait_until(lambda: sc.sidecar.pubsub.active_subscriptions() == 2)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stalled.account_for(600)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_info(caught.value).reason == "SUBSCRIBER_TOO_SLOW"
        assert 0 < len(stalled.messages) < 600
        # The others keep going.
        await publish(sc.channel, "news", b"after")
        for f in fast:
            assert [m.payload for m in await f.take(1)] == [b"after"]


async def test_a_slow_durable_subscriber_falls_behind_and_catches_up(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(
        redis_url,
        channels={"durable": ["audit"], "subscriber_buffer": 20, "slow_subscriber": "disconnect"},
    )
    async with grpc.aio.insecure_channel(sc.sidecar.address, options=STALLABLE) as slow_channel:
        stalled = await subscribe(slow_channel, ["audit"])
        fast = await subscribe(sc.channel, ["audit"])
        reader = asyncio.ensure_future(fast.take(300, within=60))
        await publish_all(sc.channel, "audit", numbered(300, size=4096))
        await reader
        assert sc.sidecar.pubsub.active_subscriptions() == 2  # durable: never dropped
        await stalled.take(300)
        assert ordinals(stalled.payloads) == list(range(300))
        assert stalled.missed == []


async def test_cancelled_streams_leave_no_tasks_and_no_redis_subscriptions(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels=DURABLE)
    pubsub = sc.sidecar.pubsub
    warm = await subscribe(sc.channel, ["warm"])  # starts the hub: its tasks stay
    warm.cancel()
    await wait_until(lambda: pubsub.active_subscriptions() == 0 and not pubsub.channel_refcounts())
    baseline = len(asyncio.all_tasks())

    subs = [await subscribe(sc.channel, [f"c{i % 3}", "audit"], [f"p{i % 2}.*"]) for i in range(20)]
    refcounts = pubsub.channel_refcounts()
    assert refcounts["channel:cc:p{items:c0}"] == 7
    assert refcounts["pattern:cc:p{items:p1.*}"] == 10
    assert refcounts["channel:cc:n{items:audit}"] == 1  # the one tail of the durable channel
    assert (pubsub.active_subscriptions(), pubsub.open_tails()) == (20, 1)
    client: Any = aioredis.from_url(redis_url)
    try:
        # One Redis subscription per sidecar, however many local subscribers.
        assert await client.pubsub_numsub("cc:p{items:c0}") == [(b"cc:p{items:c0}", 1)]
        assert await client.pubsub_numpat() == 2

        for sub in subs:
            sub.cancel()
        await wait_until(
            lambda: (
                pubsub.active_subscriptions() == 0
                and not pubsub.channel_refcounts()
                and pubsub.open_tails() == 0
                and len(asyncio.all_tasks()) == baseline
            )
        )
        for _ in range(500):  # the UNSUBSCRIBEs go out asynchronously
            counts = await client.pubsub_numsub("cc:p{items:c0}", "cc:n{items:audit}")
            if [n for _, n in counts] == [0, 0] and await client.pubsub_numpat() == 0:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"Redis still has subscriptions: {counts}")
    finally:
        await client.aclose()
    assert _sample(sc, "cachecar_pubsub_subscribers", namespace="items") == 0


async def test_memcached_namespaces_say_pubsub_needs_redis(
    memcached_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(memcached_url)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await publish(sc.channel, "news", b"x")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(caught.value)
    assert info.reason == "NOT_SUPPORTED_BY_BACKEND"
    assert (info.metadata["namespace"], info.metadata["kind"]) == ("items", "memcached")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await subscribe(sc.channel, ["news"])
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(caught.value).reason == "NOT_SUPPORTED_BY_BACKEND"


@pytest.mark.parametrize(
    ("request_fields", "reason"),
    [
        ({}, "SUBSCRIPTION_EMPTY"),
        ({"channels": [""]}, "CHANNEL_INVALID"),
        ({"channels": ["x" * 257]}, "CHANNEL_INVALID"),
        ({"channels": ["a", "a"]}, "CHANNEL_INVALID"),
        ({"patterns": ["a\\"]}, "PATTERN_INVALID"),
        ({"channels": [f"c{i}" for i in range(101)]}, "BATCH_TOO_LARGE"),
        ({"channels": ["news"], "resume_ids": {"news": "1-1"}}, "RESUME_ID_INVALID"),
        ({"channels": ["audit"], "resume_ids": {"audit": "latest"}}, "RESUME_ID_INVALID"),
        ({"channels": ["news"], "resume_ids": {"audit": "1-1"}}, "RESUME_ID_INVALID"),
    ],
)
async def test_bad_subscribe_requests_are_invalid_argument(
    redis_url: str, sidecar_for: SidecarFactory, request_fields: dict[str, Any], reason: str
) -> None:
    sc = await sidecar_for(redis_url, channels=DURABLE)
    call = stub(sc.channel).Subscribe(pb.SubscribeRequest(namespace="items", **request_fields))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), 10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == reason


async def test_bad_publish_requests(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url, max_value_size="1KiB")
    for channel, payload, code, reason in (
        ("", b"x", grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_INVALID"),
        ("news", b"x" * 1025, grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LARGE"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await publish(sc.channel, channel, payload)
        assert (caught.value.code(), error_info(caught.value).reason) == (code, reason)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await publish(sc.channel, "news", b"x", namespace="nope")
    assert error_info(caught.value).reason == "NAMESPACE_UNKNOWN"
    assert (await publish(sc.channel, "news", b"")).receiver_count == 0  # empty is a message
