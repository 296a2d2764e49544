"""Cache-aside with cachecar: the hand-written getProduct() (and its Memcached twin).

The snippet did ``redis.get`` -> miss -> ``fetchFromDatabase`` -> ``redis.set``
in every service, and read the database once per concurrent miss. Here the
app only says how to load a product (a plain async function served as its
LoaderService); cachecar caches it, and 100 callers missing the same key at
once cost ONE database read, on Redis and on Memcached alike.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from cachecar import CacheCar, serve_app
from cachecar.v1 import cache_pb2

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")
APP_ADDRESS = os.environ.get("CACHECAR_APP_ADDRESS", "127.0.0.1:50071")

DATABASE = {"42": {"id": 42, "name": "Green tea", "price": 4.5}}
db_reads = 0


async def fetch_from_database(namespace: str, product_id: str) -> bytes | None:
    """The app's loader: cachecar calls it on a miss (never more than once per key at a time)."""
    global db_reads  # noqa: PLW0603 - a counter for the demonstration
    db_reads += 1
    await asyncio.sleep(0.2)  # a slow query: the window in which a stampede piles up
    row = DATABASE.get(product_id)
    return None if row is None else json.dumps(row).encode()


async def get_product(cc: CacheCar, namespace: str, product_id: str) -> dict[str, Any] | None:
    """The whole of getProduct(): cachecar does the get, the load and the set."""
    result = await cc.get_or_load(namespace, product_id)
    return json.loads(result.value) if result.found else None


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def main() -> None:
    global db_reads  # noqa: PLW0603
    async with serve_app(load=fetch_from_database, address=APP_ADDRESS), CacheCar(TARGET) as cc:
        for namespace in ("products", "products-mc"):  # Redis, then Memcached
            await cc.invalidate(namespace, ["42", "999"])  # start from a cold cache
            db_reads = 0
            products = await asyncio.gather(*(get_product(cc, namespace, "42") for _ in range(100)))
            print(
                f"[{namespace}] 100 concurrent getProduct(42) on a cold cache -> "
                f"{db_reads} database read (the snippet would do 100): {products[0]}"
            )
            check(db_reads == 1 and all(p == products[0] for p in products), "one read")

            again = await cc.get_or_load(namespace, "42")
            print(
                f"[{namespace}] next call: {cache_pb2.Source.Name(again.source)}, "
                f"database reads still {db_reads}"
            )
            check(again.source == cache_pb2.SOURCE_CACHE and db_reads == 1, "a hit")

            for _ in range(2):
                missing = await get_product(cc, namespace, "999")
            print(
                f"[{namespace}] product 999 does not exist: {missing}; asked twice, "
                f"read once (cachecar caches 'not found' too): reads={db_reads}"
            )
            check(missing is None and db_reads == 2, "negative caching")


if __name__ == "__main__":
    asyncio.run(main())
