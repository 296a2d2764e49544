"""The sharded pub/sub contract (``sidecar.backends.pubsub.ShardedPubSub``).

``owner_of`` names the primary owning a channel's slot (as CLUSTER SLOTS
says); a connection from ``connect_shard`` to that owner takes ``SSUBSCRIBE``
/ ``SUNSUBSCRIBE`` and reads ``smessage`` in publish order; ``spublish``
counts that shard's subscribers only; ``refresh_owners`` re-reads the map.
Only a cluster declares it (on one node there is nothing to shard).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from sidecar.backends.base import Backend
from sidecar.backends.pubsub import Delivery, ShardedPubSub, Subscriber
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import implementation, needs

pytestmark = needs(ShardedPubSub)

WITHIN = 10.0  # seconds a delivery may take on a busy machine; bounds every read


@pytest.fixture
def shards(component: Backend) -> ShardedPubSub:
    return implementation(component, ShardedPubSub)


@pytest.fixture
async def opened() -> AsyncIterator[list[Subscriber]]:
    subscribers: list[Subscriber] = []
    yield subscribers
    for subscriber in subscribers:
        await subscriber.aclose()


async def _next(subscriber: Subscriber) -> Delivery:
    got = await subscriber.read(WITHIN)
    assert got is not None, f"nothing delivered within {WITHIN}s"
    return got


def _cluster_owner(address: str, channel: bytes) -> str:
    host, _, port = address.rpartition(":")
    with redis.Redis(host, int(port)) as r:
        slot = int(r.execute_command("CLUSTER KEYSLOT", channel))
        ranges = r.execute_command("CLUSTER SLOTS")
    return next(
        f"{m[0].decode()}:{int(m[1])}" for start, end, m, *_ in ranges if start <= slot <= end
    )


async def test_the_owner_takes_ssubscribe_and_delivers_in_order(
    shards: ShardedPubSub, opened: list[Subscriber], keys: KeyLayout
) -> None:
    channel = keys.channel("news")
    await shards.refresh_owners()
    owner = shards.owner_of(channel)
    assert owner == _cluster_owner(owner, channel)
    subscriber = await shards.connect_shard(owner)
    opened.append(subscriber)
    assert subscriber.address == owner
    await subscriber.send("SSUBSCRIBE", channel)
    assert await _next(subscriber) == Delivery(b"ssubscribe", channel)
    payloads = [b"%d" % i for i in range(20)] + [b"", bytes(range(256))]
    counts = [await shards.spublish(channel, p) for p in payloads]
    assert counts == [1] * len(payloads)
    got = [await _next(subscriber) for _ in payloads]
    assert got == [Delivery(b"smessage", channel, None, p) for p in payloads]
    await subscriber.send("SUNSUBSCRIBE", channel)
    assert await _next(subscriber) == Delivery(b"sunsubscribe", channel)
    assert await shards.spublish(channel, b"nobody") == 0


async def test_another_shard_does_not_hear_it(
    shards: ShardedPubSub, opened: list[Subscriber], keys: KeyLayout
) -> None:
    await shards.refresh_owners()
    channel = keys.channel("here")
    owner = shards.owner_of(channel)
    # A channel of another shard: its subscriber must not see "here"'s messages.
    elsewhere = next(
        c for c in (keys.channel(f"there{i}") for i in range(1000)) if shards.owner_of(c) != owner
    )
    there = await shards.connect_shard(shards.owner_of(elsewhere))
    opened.append(there)
    await there.send("SSUBSCRIBE", elsewhere)
    assert await _next(there) == Delivery(b"ssubscribe", elsewhere)
    assert await shards.spublish(channel, b"not for there") == 0
    assert await shards.spublish(elsewhere, b"for there") == 1
    assert await _next(there) == Delivery(b"smessage", elsewhere, None, b"for there")
