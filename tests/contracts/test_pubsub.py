"""The pub/sub contract (``sidecar.backends.pubsub``: PubSubTransport and Subscriber).

Fire-and-forget channels through a subscriber connection (SUBSCRIBE,
PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PING: every reply in order through
``read``), and durable channels: ``append`` numbers messages 1, 2, 3... and
announces each on the notification channel, ``last_id`` / ``read_after``
read them back. That a message was *not* delivered is shown by order (a
later message of the same hash tag arrives first: in a cluster only messages
published from one node keep their order), never by waiting for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sidecar.backends.base import Backend
from sidecar.backends.pubsub import (
    Delivery,
    PubSubTransport,
    StreamEntry,
    Subscriber,
    format_id,
)
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import implementation, needs

pytestmark = needs(PubSubTransport)

WITHIN = 10.0  # seconds a delivery may take on a busy machine; bounds every read

Connect = Callable[[], Awaitable[Subscriber]]


@pytest.fixture
def transport(component: Backend) -> PubSubTransport:
    return implementation(component, PubSubTransport)


@pytest.fixture
async def connect(transport: PubSubTransport) -> AsyncIterator[Connect]:
    """Opens subscriber connections; closes them after the test."""
    opened: list[Subscriber] = []

    async def open_one() -> Subscriber:
        subscriber = await transport.connect_subscriber()
        opened.append(subscriber)
        return subscriber

    yield open_one
    for subscriber in opened:
        await subscriber.aclose()


async def next_delivery(subscriber: Subscriber) -> Delivery:
    got = await subscriber.read(WITHIN)
    assert got is not None, f"nothing delivered within {WITHIN}s"
    return got


async def subscribed(connect: Connect, *channels: bytes) -> Subscriber:
    subscriber = await connect()
    await subscriber.send("SUBSCRIBE", *channels)
    for channel in channels:
        assert await next_delivery(subscriber) == Delivery(b"subscribe", channel)
    return subscriber


# -- channels -------------------------------------------------------------------------


async def test_a_subscriber_gets_its_channels_messages_in_order(
    transport: PubSubTransport, connect: Connect, keys: KeyLayout
) -> None:
    channel = keys.channel("news")
    subscriber = await subscribed(connect, channel)
    assert ":" in subscriber.address
    payloads = [b"%d" % i for i in range(20)] + [b"", bytes(range(256))]
    for payload in payloads:
        await transport.publish(channel, payload)
    got = [await next_delivery(subscriber) for _ in payloads]
    assert got == [Delivery(b"message", channel, None, payload) for payload in payloads]


async def test_a_pattern_gets_the_matching_channels_messages(
    transport: PubSubTransport, connect: Connect, keys: KeyLayout
) -> None:
    pattern = keys.channel_pattern("news.?")
    subscriber = await connect()
    await subscriber.send("PSUBSCRIBE", pattern)
    assert await next_delivery(subscriber) == Delivery(b"psubscribe", pattern)
    news_a, news_b = keys.channel("news.a"), keys.channel("news.b")
    # Same hash tag as news.a, so in a cluster it travels the same way just
    # before it: were it delivered, it would arrive first.
    await transport.publish(keys.channel("news.a}x"), b"not for us")
    await transport.publish(news_a, b"a1")
    await transport.publish(news_b, b"b")
    await transport.publish(news_a, b"a2")
    got = [await next_delivery(subscriber) for _ in range(3)]
    assert all(d.kind == b"pmessage" and d.pattern == pattern for d in got), got
    # One channel's messages keep their order; a cluster may interleave two
    # channels (they are published from different nodes).
    assert [d.data for d in got if d.channel == news_a] == [b"a1", b"a2"]
    assert [d.data for d in got if d.channel == news_b] == [b"b"]


async def test_unsubscribing_stops_delivery(
    transport: PubSubTransport, connect: Connect, keys: KeyLayout
) -> None:
    # Every channel here shares the hash tag of "kept" (the tag ends at the
    # first brace), so in a cluster all are published from one node, in order.
    kept, left = keys.channel("kept"), keys.channel("kept}left")
    pattern = keys.channel_pattern("kept}p*")
    subscriber = await subscribed(connect, left, kept)
    await subscriber.send("PSUBSCRIBE", pattern)
    assert await next_delivery(subscriber) == Delivery(b"psubscribe", pattern)
    await subscriber.send("UNSUBSCRIBE", left)
    assert await next_delivery(subscriber) == Delivery(b"unsubscribe", left)
    await subscriber.send("PUNSUBSCRIBE", pattern)
    assert await next_delivery(subscriber) == Delivery(b"punsubscribe", pattern)
    await transport.publish(left, b"lost")
    await transport.publish(keys.channel("kept}pattern match"), b"lost")
    await transport.publish(kept, b"kept")
    assert await next_delivery(subscriber) == Delivery(b"message", kept, None, b"kept")


async def test_ping_is_answered_in_line(connect: Connect, keys: KeyLayout) -> None:
    first, second = keys.channel("first"), keys.channel("second")
    subscriber = await subscribed(connect, first)
    await subscriber.send("PING")
    await subscriber.send("SUBSCRIBE", second)
    await subscriber.send("PING")
    assert (await next_delivery(subscriber)).kind == b"pong"
    assert await next_delivery(subscriber) == Delivery(b"subscribe", second)
    assert (await next_delivery(subscriber)).kind == b"pong"


async def test_an_idle_read_returns_none(connect: Connect, keys: KeyLayout) -> None:
    subscriber = await subscribed(connect, keys.channel("quiet"))
    assert await subscriber.read(0.05) is None


async def test_publishing_to_no_subscriber_reaches_nobody(
    transport: PubSubTransport, keys: KeyLayout
) -> None:
    assert await transport.publish(keys.channel("nobody listens"), b"x") == 0


# -- durable channels -----------------------------------------------------------------


async def test_appends_are_numbered_and_read_back_in_order(
    transport: PubSubTransport, keys: KeyLayout
) -> None:
    stream, notify = keys.stream("audit"), keys.stream_notify("audit")
    assert await transport.last_id(stream) == (0, 0)
    assert await transport.read_after(stream, (0, 0), 10) == []
    fields = [[(b"n", b"%d" % i), (b"bin", bytes(range(256)))] for i in range(3)]
    ids = [await transport.append(stream, notify, f, 1000) for f in fields]
    assert [ordinal for _, ordinal in ids] == [1, 2, 3]
    assert [ms for ms, _ in ids] == sorted(ms for ms, _ in ids)  # never goes back
    assert await transport.last_id(stream) == ids[-1]
    entries = [StreamEntry(sid, dict(f)) for sid, f in zip(ids, fields, strict=True)]
    assert await transport.read_after(stream, (0, 0), 10) == entries
    assert await transport.read_after(stream, ids[0], 10) == entries[1:]
    assert await transport.read_after(stream, (0, 0), 2) == entries[:2]
    assert await transport.read_after(stream, ids[-1], 10) == []


async def test_every_append_is_announced(
    transport: PubSubTransport, connect: Connect, keys: KeyLayout
) -> None:
    stream, notify = keys.stream("audit"), keys.stream_notify("audit")
    subscriber = await subscribed(connect, notify)
    ids = [await transport.append(stream, notify, [(b"n", b"%d" % i)], 1000) for i in range(3)]
    assert [await next_delivery(subscriber) for _ in ids] == [
        Delivery(b"message", notify, None, format_id(sid).encode()) for sid in ids
    ]


async def test_trimmed_messages_show_as_a_gap_in_the_ordinals(
    transport: PubSubTransport, keys: KeyLayout
) -> None:
    stream, notify = keys.stream("short"), keys.stream_notify("short")
    for i in range(300):
        await transport.append(stream, notify, [(b"n", b"%d" % i)], 10)
    kept = [entry.id[1] for entry in await transport.read_after(stream, (0, 0), 1000)]
    assert len(kept) >= 10  # "about max_len": never fewer
    assert kept == list(range(kept[0], 301))  # the newest, contiguous, up to the 300th
    assert kept[0] > 1  # and a reader sees how many were trimmed: kept[0] - 1
    assert (await transport.last_id(stream))[1] == 300
