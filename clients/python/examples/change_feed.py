"""A change feed driving versioned invalidation (the CacheFront recipe).

A CDC pipeline (Debezium, DynamoDB Streams, Postgres logical decoding) emits
one event per committed row change, with the row's version. Here a durable
cachecar channel (a Redis Stream) stands in for that feed: the "database"
publishes ``{"key", "version"}`` on every commit, and a consumer turns each
event into ``invalidate(key, version=...)``, which leaves a tombstone of that
version. The loader reads a replica that lags, so right after a commit it
still returns the old row: its fill is refused (older than the tombstone),
so the cache never holds the old row again. A redelivered old event (feeds
are at-least-once) is a no-op against the newer cached value.
"""

from __future__ import annotations

import asyncio
import json
import os

from cachecar import CacheCar, Loaded, serve_app
from cachecar.v1 import pubsub_pb2

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")
APP_ADDRESS = os.environ.get("CACHECAR_APP_ADDRESS", "127.0.0.1:50071")
NS, FEED_NS, FEED = "products", "events", "orders.cdc"
KEY = f"cdc-{os.getpid()}"

primary: dict[str, tuple[bytes, int]] = {KEY: (b"price 4.50", 1)}
replica = dict(primary)  # what the loader reads: catches up later


async def load(namespace: str, key: str) -> Loaded | None:
    row = replica.get(key)
    return None if row is None else Loaded(row[0], version=row[1])


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def commit(cc: CacheCar, value: bytes, version: int) -> None:
    """The database commit; the feed publishes the change (CDC would)."""
    primary[KEY] = (value, version)
    event = json.dumps({"key": KEY, "version": version}).encode()
    await cc.publish(FEED_NS, FEED, event)


async def consume(cc: CacheCar, applied: asyncio.Queue[int]) -> None:
    """The feed's consumer: every change becomes a versioned Invalidate."""
    async with cc.subscribe(FEED_NS, [FEED]) as feed:
        await feed.start()
        applied.put_nowait(0)  # subscribed
        async for event in feed:
            if isinstance(event, pubsub_pb2.MessageEvent):
                change = json.loads(event.payload)
                removed = await cc.invalidate(NS, change["key"], version=change["version"])
                applied.put_nowait(removed)


async def main() -> None:
    async with serve_app(load=load, address=APP_ADDRESS), CacheCar(TARGET) as cc:
        applied: asyncio.Queue[int] = asyncio.Queue()
        consumer = asyncio.ensure_future(consume(cc, applied))
        try:
            async with asyncio.timeout(20):
                await applied.get()
                first = await cc.get_or_load(NS, KEY)
                print(f"cached {first.value.decode()!r} at version {first.version}")
                check(first.version == 1, "version 1 cached")

                await commit(cc, b"price 5.00", 2)
                print(f"change feed: invalidated {await applied.get()} entry (tombstone v2)")
                lagging = await cc.get_or_load(NS, KEY)
                cached = await cc.get(NS, KEY)
                print(
                    f"lagging replica served {lagging.value.decode()!r} (v{lagging.version}); "
                    f"cached afterwards: {cached.found}"
                )
                check(not cached.found, "the old row's fill is refused by the tombstone")

                replica[KEY] = primary[KEY]  # the replica catches up
                fresh = await cc.get_or_load(NS, KEY)
                print(f"after catch-up: {fresh.value.decode()!r} at version {fresh.version}")
                check(fresh.version == 2, "version 2 cached")

                # At-least-once delivery: the version-1 event arrives again.
                await cc.publish(FEED_NS, FEED, json.dumps({"key": KEY, "version": 1}).encode())
                removed = await applied.get()
                still = await cc.get(NS, KEY)
                print(f"replayed v1 event removed {removed}; cached v{still.version}")
                check(removed == 0 and still.version == 2, "a replayed old change is a no-op")
        finally:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
