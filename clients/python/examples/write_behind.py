"""Write-behind with cachecar: the hand-written writeBehindUpdate().

The snippet set the cache and scheduled ``updateDatabase`` with setTimeout:
one database write per update, and every pending write lost when the
process exits. Here EnqueueWrite updates the cache and a durable queue in
Redis in one atomic step; cachecar flushes the queue in coalesced batches to
the app's WriteBatch, retries while the app is down, and loses nothing when
the app (or a sidecar) goes away.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence

from cachecar import CacheCar, Write, serve_app

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")
APP_ADDRESS = os.environ.get("CACHECAR_APP_ADDRESS", "127.0.0.1:50071")

DATABASE: dict[str, bytes] = {}
batches: list[int] = []
applied: set[str] = set()


async def update_database(writes: Sequence[Write]) -> None:
    """The app's WriteBatch: one transaction per batch, idempotent per write_id."""
    batches.append(len(writes))
    for write in writes:
        if write.write_id in applied:
            continue  # at-least-once delivery: a redelivered write is dropped here
        applied.add(write.write_id)
        DATABASE[write.key] = write.value


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def main() -> None:
    async with CacheCar(TARGET) as cc:
        app = await serve_app(write_batch=update_database, address=APP_ADDRESS).start()
        # 200 price updates of 20 products, as fast as the app can send them.
        for price in range(10):
            await asyncio.gather(
                *(
                    cc.enqueue_write("orders", f"p{i}", json.dumps({"price": price}).encode())
                    for i in range(20)
                )
            )
        cached = await cc.get("orders", "p7")
        print(
            f"200 writeBehindUpdate() calls returned; the cache already answers "
            f"p7={json.loads(cached.value)}; queue: "
            f"{(await cc.get_write_queue('orders')).pending_count} pending"
        )
        flushed = await cc.flush_writes("orders", timeout=15)
        print(
            f"flushed: {sum(batches)} rows reached the database in {len(batches)} batch(es)"
            " - 200 updates coalesced to the last one per product; "
            f"pending={flushed.pending_count}"
        )
        check(DATABASE["p7"] == cached.value and flushed.pending_count == 0, "coalesced flush")
        check(sum(batches) <= 200 and len(DATABASE) == 20, "one row per product")

        # Now the app goes away with writes pending: with setTimeout they were lost.
        await app.aclose()
        for i in range(5):
            await cc.enqueue_write("orders", f"late{i}", b'{"price": 1}')
        stuck = await cc.flush_writes("orders", timeout=1)
        print(
            f"app down: {stuck.pending_count} writes wait in Redis (not in any process) "
            f"and are retried with backoff"
        )
        check(stuck.pending_count == 5, "writes stay queued while the writer is down")

        app = await serve_app(write_batch=update_database, address=APP_ADDRESS).start()
        try:
            done = await cc.flush_writes("orders", timeout=15)
        finally:
            await app.aclose()
        late = sorted(k for k in DATABASE if k.startswith("late"))
        print(f"app back: pending={done.pending_count}, delivered {late}")
        check(done.pending_count == 0 and len(late) == 5, "nothing lost")


if __name__ == "__main__":
    asyncio.run(main())
