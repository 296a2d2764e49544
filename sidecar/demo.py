"""``cachecar demo``: the sidecar on its embedded default, plus a tiny app.

The demo app keeps products in a SQLite table and serves cachecar's
LoaderService from it, counting every load. The demo starts ``cachecar
serve`` with no config (development mode: private redis-server and memcached
children), points it at the app, and walks through each pattern, printing
what the sidecar did and how often the app's database was read.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import grpc
from cachecar.v1 import cache_pb2, cache_pb2_grpc, loader_pb2, loader_pb2_grpc

from sidecar.devmode import free_port

__all__ = ["run_demo"]

PRODUCTS = [
    (1, "Espresso", 2.5),
    (2, "Flat white", 3.2),
    (3, "Croissant", 2.9),
    (4, "Cheesecake", 4.5),
]
_SOURCE = {
    cache_pb2.SOURCE_CACHE: "CACHE",
    cache_pb2.SOURCE_LOADER: "LOADER",
    cache_pb2.SOURCE_STALE: "STALE",
}


class ProductsLoader(loader_pb2_grpc.LoaderServiceServicer):
    """The demo app's side: reads products from SQLite, counting the reads."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(db)
        self.loads = 0

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        self.loads += 1
        await asyncio.sleep(0.05)  # a database round trip worth caching
        row = self.db.execute(
            "SELECT id, name, price FROM products WHERE id = ?", (request.key,)
        ).fetchone()
        if row is None:
            return loader_pb2.LoadResponse(found=False)
        value = json.dumps({"id": row[0], "name": row[1], "price": row[2]}).encode()
        return loader_pb2.LoadResponse(found=True, value=value)


def _seed(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
        conn.executemany("INSERT INTO products VALUES (?, ?, ?)", PRODUCTS)


def _start_sidecar(listen: str, loader: str) -> subprocess.Popen[str]:
    env = dict(os.environ, CACHECAR_LISTEN=listen, CACHECAR_DEV_LOADER=loader)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "cachecar listening on ..." once it serves
    if not line.startswith("cachecar listening"):
        proc.wait(timeout=10)
        raise SystemExit("cachecar demo: the sidecar did not start; see its log above")
    return proc


async def _tour(target: str, loader: ProductsLoader) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)

        async def get_or_load(ns: str, key: str) -> None:
            started = time.perf_counter()
            r = await cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=ns, key=key))
            ms = (time.perf_counter() - started) * 1000
            shown = r.value.decode() if r.found else "(not found)"
            print(
                f"  GetOrLoad {ns}/{key:<4} -> {_SOURCE[r.source]:<6} {ms:6.1f} ms  "
                f"db reads so far: {loader.loads}  {shown}"
            )

        for ns, backend in (("products", "Redis"), ("products-mc", "Memcached")):
            print(
                f"\ncache-aside on {backend} (namespace {ns}): a miss reads the database once,"
                " then hits do not"
            )
            for _ in range(3):
                await get_or_load(ns, "1")
            await get_or_load(ns, "999")
            await get_or_load(ns, "999")

        print("\nstampede: 200 concurrent GetOrLoad of one cold key")
        before = loader.loads
        await asyncio.gather(
            *(
                cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="products", key="2"))
                for _ in range(200)
            )
        )
        print(f"  database reads for 200 concurrent misses: {loader.loads - before}")

        print("\nGetOrLoadMany, Set, Get, Invalidate")
        many = await cache.GetOrLoadMany(
            cache_pb2.GetOrLoadManyRequest(namespace="products", keys=["1", "3", "4", "404"])
        )
        print(
            "  GetOrLoadMany 1,3,4,404 ->",
            ", ".join(
                f"{r.key}:{_SOURCE[r.source]}{'' if r.found else '(none)'}" for r in many.results
            ),
            f" db reads so far: {loader.loads}",
        )
        await cache.Set(cache_pb2.SetRequest(namespace="products", key="1", value=b'{"promo":1}'))
        got = await cache.Get(cache_pb2.GetRequest(namespace="products", key="1"))
        print(f"  Set then Get products/1 -> {got.value.decode()}")
        inv = await cache.Invalidate(cache_pb2.InvalidateRequest(namespace="products", keys=["1"]))
        print(f"  Invalidate products/1 -> {inv.invalidated_count} removed; next read reloads:")
        await get_or_load("products", "1")

        print("\nbad input gets a clear error")
        for request in (
            cache_pb2.GetOrLoadRequest(namespace="nope", key="1"),
            cache_pb2.GetOrLoadRequest(namespace="products", key=""),
        ):
            try:
                await cache.GetOrLoad(request)
            except grpc.aio.AioRpcError as exc:
                print(f"  {exc.code().name}: {exc.details()}")


async def _run(listen: str, app_port: int, db: Path) -> None:
    loader = ProductsLoader(db)
    app = grpc.aio.server()
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(loader, app)
    app.add_insecure_port(f"127.0.0.1:{app_port}")
    await app.start()
    try:
        await _tour(listen, loader)
    finally:
        await app.stop(None)


def run_demo() -> int:
    """Run the whole demo; 0 on success."""
    listen = f"127.0.0.1:{free_port()}"
    app_port = free_port()
    with TemporaryDirectory(prefix="cachecar-demo-") as tmp:
        db = Path(tmp) / "products.db"
        _seed(db)
        print("cachecar demo: starting `cachecar serve` with no config (embedded default)")
        sidecar = _start_sidecar(listen, f"127.0.0.1:{app_port}")
        try:
            print(
                f"  sidecar at {listen}; demo app (SQLite products, LoaderService) "
                f"at 127.0.0.1:{app_port}"
            )
            asyncio.run(_run(listen, app_port, db))
        finally:
            sidecar.send_signal(signal.SIGTERM)
            sidecar.wait(timeout=30)
    print("\ndemo done: the sidecar drained and stopped its redis-server and memcached")
    return 0
