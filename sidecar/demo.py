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

import grpc
from cachecar.v1 import (
    cache_pb2,
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    loader_pb2,
    loader_pb2_grpc,
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    writer_pb2,
    writer_pb2_grpc,
)
from google.protobuf.duration_pb2 import Duration

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


class ProductsLoader(loader_pb2_grpc.LoaderServiceServicer, writer_pb2_grpc.WriterServiceServicer):
    """The demo app's side: reads and writes products in SQLite, counting both."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(db)
        self.loads = 0
        self.writes = 0
        self.batches = 0

    def _apply(self, request: writer_pb2.WriteRequest) -> None:
        self.writes += 1
        if request.kind == writer_pb2.WRITE_KIND_DELETE:
            self.db.execute("DELETE FROM products WHERE id = ?", (request.key,))
        else:
            row = json.loads(request.value)
            self.db.execute(
                "INSERT OR REPLACE INTO products VALUES (?, ?, ?)",
                (int(request.key), row["name"], row["price"]),
            )

    async def Write(
        self, request: writer_pb2.WriteRequest, context: grpc.aio.ServicerContext
    ) -> writer_pb2.WriteResponse:
        self._apply(request)
        return writer_pb2.WriteResponse()

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: grpc.aio.ServicerContext
    ) -> writer_pb2.WriteBatchResponse:
        self.batches += 1
        for write in request.writes:
            self._apply(write)
        return writer_pb2.WriteBatchResponse()

    async def Load(
        self, request: loader_pb2.LoadRequest, context: grpc.aio.ServicerContext
    ) -> loader_pb2.LoadResponse:
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

        await _writes(cache, loader)
        await _sessions_and_boards(channel)
        await _pubsub(channel)

        print("\nbad input gets a clear error")
        for request in (
            cache_pb2.GetOrLoadRequest(namespace="nope", key="1"),
            cache_pb2.GetOrLoadRequest(namespace="products", key=""),
        ):
            try:
                await cache.GetOrLoad(request)
            except grpc.aio.AioRpcError as exc:
                print(f"  {exc.code().name}: {exc.details()}")


async def _writes(cache: cache_pb2_grpc.CacheServiceStub, app: ProductsLoader) -> None:
    print("\nwrite-through: the database first, then the cache")
    latte = json.dumps({"name": "Latte", "price": 3.4}).encode()
    r = await cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace="products", key="5", value=latte)
    )
    got = await cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="products", key="5"))
    print(
        f"  WriteThrough products/5 (write {r.write_id}) -> db writes {app.writes}; "
        f"GetOrLoad -> {_SOURCE[got.source]} {got.value.decode()}"
    )

    print("\nwrite-behind: 300 price updates of 3 products, queued durably, coalesced")
    before = app.writes
    for i in range(300):
        row = {"name": f"Special {i % 3}", "price": round(1 + i / 100, 2)}
        await cache.EnqueueWrite(
            cache_pb2.EnqueueWriteRequest(
                namespace="orders", key=str(10 + i % 3), value=json.dumps(row).encode()
            )
        )
    queue = await cache.GetWriteQueue(cache_pb2.GetWriteQueueRequest(namespace="orders"))
    flushed = await cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace="orders"), timeout=10)
    print(
        f"  300 EnqueueWrite calls; queued before flushing: {queue.pending_count}; after "
        f"FlushWrites: {flushed.pending_count} pending; database writes: {app.writes - before}"
    )


async def _sessions_and_boards(channel: grpc.aio.Channel) -> None:
    sessions = session_pb2_grpc.SessionServiceStub(channel)
    boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
    print("\nsession store on Redis and Memcached: per-field updates, revocation")
    for ns in ("products", "products-mc"):
        s = await sessions.CreateSession(
            session_pb2.CreateSessionRequest(namespace=ns, subject="alice", data={"role": b"admin"})
        )
        u = await sessions.UpdateSession(
            session_pb2.UpdateSessionRequest(
                namespace=ns, session_id=s.session_id, set_fields={"cart": b"[1,3]"}
            )
        )
        print(f"  {ns}: session for alice, fields {sorted(u.data)}, version {u.version}")
    revoked = await sessions.DeleteSubjectSessions(
        session_pb2.DeleteSubjectSessionsRequest(namespace="products", subject="alice")
    )
    print(f"  DeleteSubjectSessions alice -> {revoked.deleted_count} revoked")

    print("\nleaderboard: equal scores rank whoever got there first")
    for member, score in (("kim", 30), ("amy", 30), ("bob", 45)):
        await boards.AddScore(
            leaderboard_pb2.AddScoreRequest(
                namespace="products", board="top-sellers", member=member, score=score
            )
        )
    top = await boards.GetTop(
        leaderboard_pb2.GetTopRequest(namespace="products", board="top-sellers")
    )
    print("  " + ", ".join(f"#{e.rank} {e.member} {e.score:g}" for e in top.entries))
    for _ in range(4):
        c = await boards.IncrementCounter(
            leaderboard_pb2.IncrementCounterRequest(
                namespace="products", counter="login:alice", delta=1, window=Duration(seconds=60)
            )
        )
    print(f"  rate limit 3/min: 4th attempt -> count {c.value}, blocked {c.value > 3}")


async def _pubsub(channel: grpc.aio.Channel) -> None:
    print("\npub/sub: subscribe, publish, then resume after a disconnect")
    pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)
    sub = pubsub.Subscribe(
        pubsub_pb2.SubscribeRequest(namespace="events", channels=["price-changes", "orders"])
    )
    await sub.read()  # SubscribedEvent: publishing now cannot race the subscription
    for name, body in (
        ("price-changes", b'{"id": 1, "price": 2.7}'),
        ("orders", b'{"order": 1}'),
        ("orders", b'{"order": 2}'),
    ):
        sent = await pubsub.Publish(
            pubsub_pb2.PublishRequest(namespace="events", channel=name, payload=body)
        )
        print(f"  Publish {name} -> {sent.receiver_count} receiver(s) {sent.message_id}")
    last = ""
    for _ in range(3):
        m = (await sub.read()).message
        last = m.message_id or last
        print(f"  received {m.channel}: {m.payload.decode()}")
    sub.cancel()
    await pubsub.Publish(
        pubsub_pb2.PublishRequest(namespace="events", channel="orders", payload=b'{"order": 3}')
    )
    again = pubsub.Subscribe(
        pubsub_pb2.SubscribeRequest(
            namespace="events", channels=["orders"], resume_ids={"orders": last}
        )
    )
    await again.read()
    resumed = (await again.read()).message.payload.decode()
    print(f"  resumed after {last}: {resumed} (published while away)")
    again.cancel()


async def _run(listen: str, app_port: int, db: Path) -> None:
    loader = ProductsLoader(db)
    app = grpc.aio.server()
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(loader, app)
    writer_pb2_grpc.add_WriterServiceServicer_to_server(loader, app)
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
