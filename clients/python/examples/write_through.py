"""Write-through with cachecar: the hand-written updateProduct().

The snippet wrote the database, then ``redis.set`` — and a cache-aside read
that loaded the old row just before the update could store it just after,
leaving the old price cached for an hour. Here the app calls WriteThrough;
cachecar calls the app's writer first and updates the cache only once the
write succeeded (breaking any load in flight), and a failed write leaves the
cache untouched and reaches the caller as a typed error.
"""

from __future__ import annotations

import asyncio
import json
import os

from cachecar import CacheCar, Unavailable, Write, serve_app

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")
APP_ADDRESS = os.environ.get("CACHECAR_APP_ADDRESS", "127.0.0.1:50071")

DATABASE: dict[str, bytes] = {"42": json.dumps({"name": "Green tea", "price": 4.5}).encode()}
database_up = True


async def load(namespace: str, product_id: str) -> bytes | None:
    """The app's loader (for reads that miss)."""
    return DATABASE.get(product_id)


async def update_database(write: Write) -> None:
    """The app's writer: cachecar calls it first, and caches only if it succeeds."""
    if not database_up:
        raise Unavailable("the products database is down")  # cachecar: WRITER_UNAVAILABLE
    DATABASE[write.key] = write.value


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def main() -> None:
    global database_up  # noqa: PLW0603 - flipped to show a failing write
    async with (
        serve_app(load=load, write=update_database, address=APP_ADDRESS),
        CacheCar(TARGET) as cc,
    ):
        await cc.invalidate("products", "42")
        before = await cc.get_or_load("products", "42")
        print(f"cached before the update: {json.loads(before.value)}")

        data = json.dumps({"name": "Green tea", "price": 3.9}).encode()
        write_id = await cc.write_through("products", "42", data)  # updateProduct(42, data)
        cached = await cc.get("products", "42")
        print(
            f"updateProduct(42) -> write {write_id}: database={json.loads(DATABASE['42'])}, "
            f"cache={json.loads(cached.value)}"
        )
        check(DATABASE["42"] == data and cached.value == data, "database and cache agree")

        database_up = False
        try:
            await cc.write_through("products", "42", json.dumps({"price": 0}).encode())
        except Unavailable as exc:
            print(
                f"with the database down the update fails: {type(exc).__name__} "
                f"{exc.reason} - {exc.message}"
            )
            check(exc.reason == "WRITER_UNAVAILABLE", "the writer's failure is reported")
        else:
            check(False, "a failed write must fail the call")
        still = await cc.get("products", "42")
        print(f"...and the cache still holds what the database holds: {json.loads(still.value)}")
        check(still.value == DATABASE["42"], "a failed write leaves the cache alone")


if __name__ == "__main__":
    asyncio.run(main())
