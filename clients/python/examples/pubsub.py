"""Pub/Sub with cachecar: the hand-written publisher / subscriber pair.

The snippet needed a dedicated Redis connection per subscriber and lost
every message published while a subscriber was away. Through cachecar, one
Redis connection per sidecar feeds every subscriber, a subscription is
confirmed active before the app relies on it, and durable channels (Redis
Streams) let a subscriber resume after its last message: nothing published
while it was disconnected is lost.
"""

from __future__ import annotations

import asyncio
import os

from cachecar import CacheCar, Subscription
from cachecar.v1 import pubsub_pb2

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def next_message(sub: Subscription) -> pubsub_pb2.MessageEvent:
    """The next message of a subscription (bounded: an example must not hang)."""
    async with asyncio.timeout(10):
        async for event in sub:
            if isinstance(event, pubsub_pb2.MessageEvent):
                return event
    raise SystemExit("the subscription ended")


async def main() -> None:
    async with CacheCar(TARGET) as cc:
        # Fire-and-forget (Redis Pub/Sub): the hand-written snippet's "notifications" channel.
        async with cc.subscribe("events", ["notifications"]) as subscriber:
            confirmed = await subscriber.start()  # already active: returns the confirmation
            print(f"subscribed to {list(confirmed.channels)}")
            sent = await cc.publish("events", "notifications", b"New order received")
            message = await next_message(subscriber)
            print(
                f"message from {message.channel}: {message.payload.decode()} "
                f"(delivered to {sent.receiver_count} subscriber)"
            )
            check(message.payload == b"New order received", "fan-out")

        # Durable (Redis Streams): a subscriber that goes away misses nothing.
        channel = "orders.created"
        async with cc.subscribe("events", [channel]) as worker:
            await cc.publish("events", channel, b"order 1")
            first = await next_message(worker)
            last_id = first.message_id  # the app stores this after processing
        print(f"worker processed {first.payload.decode()} (id {last_id}), then disconnected")
        for n in (2, 3):
            await cc.publish("events", channel, f"order {n}".encode())
        print("orders 2 and 3 were published while the worker was away")
        async with cc.subscribe("events", [channel], resume_ids={channel: last_id}) as worker:
            caught_up = [(await next_message(worker)).payload.decode() for _ in range(2)]
        print(f"worker resumed after {last_id} and received {caught_up}")
        check(caught_up == ["order 2", "order 3"], "durable resume")


if __name__ == "__main__":
    asyncio.run(main())
