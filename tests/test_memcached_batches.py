"""SetMany on Memcached: per-server pipelined gets/cas, per-item outcomes (issue #20).

Two real memcacheds behind one backend, so a batch spans servers. Each is
reached through a loopback relay that counts the sends it gets from the
sidecar (``recv`` calls): a batch sent as one pipelined write arrives in one
or two, one request per round trip in one each. That is how the test sees
"one round trip per server, not one per key" without timing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
from cachecar.v1 import cache_pb2

from sidecar.devmode import MemcachedServer
from tests.appfixtures import FakeApp, SidecarFactory

NS = "items"


class Relay:
    """A TCP relay to one memcached that counts the client's sends."""

    def __init__(self, target: MemcachedServer) -> None:
        host, _, port = target.url.removeprefix("memcached://").partition(":")
        self.target = (host, int(port))
        self.sends = 0
        self.address = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Future[tuple[None, None]]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while chunk := await src.read(1 << 20):
                    self.sends += count
                    dst.write(chunk)
                    await dst.drain()
            dst.close()

        both = asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))
        self._tasks.add(both)
        await both

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()


@pytest.fixture
async def relays() -> AsyncIterator[list[Relay]]:
    servers = [MemcachedServer() for _ in range(2)]
    started: list[Relay] = []
    try:
        for server in servers:
            server.start()
            relay = Relay(server)
            await relay.start()
            started.append(relay)
        yield started
    finally:
        for relay in started:
            await relay.close()
        for server in servers:
            server.close()


def _url(relays: list[Relay]) -> str:
    return "memcached://" + ",".join(r.address for r in relays)


def _item(key: str, value: bytes, **fields: object) -> cache_pb2.SetItem:
    return cache_pb2.SetItem(key=key, value=value, **fields)  # type: ignore[arg-type]


async def test_set_many_keeps_per_item_outcomes_across_servers(
    relays: list[Relay], fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(_url(relays), loader=fake_app.target)
    keys = [f"k{i}" for i in range(40)]
    first = await sc.cache.SetMany(
        cache_pb2.SetManyRequest(
            namespace=NS, items=[_item(k, b"v5", version=5) for k in keys[:20]]
        )
    )
    assert [(r.stored, r.version) for r in first.results] == [(True, 5)] * 20
    items = [
        _item("k0", b"stale", version=4),  # refused: version 5 is stored
        _item("k1", b"x", condition=cache_pb2.CONDITION_IF_ABSENT),  # refused: present
        _item("k2", b"v6", condition=cache_pb2.CONDITION_IF_VERSION, expected_version=5),
        _item("k3", b"bumped"),  # no version: the stored one plus one
        # One key twice: applied in order, the second over the first.
        _item("k30", b"one"),
        _item("k30", b"two"),
        *(_item(k, b"new", version=1) for k in keys[20:30]),
    ]
    reply = await sc.cache.SetMany(cache_pb2.SetManyRequest(namespace=NS, items=items))
    outcomes = [(r.key, r.stored, r.version, r.error.reason) for r in reply.results]
    assert outcomes[:6] == [
        ("k0", False, 0, "VERSION_STALE"),
        ("k1", False, 0, "VALUE_EXISTS"),
        ("k2", True, 6, ""),
        ("k3", True, 6, ""),
        ("k30", True, 1, ""),
        ("k30", True, 2, ""),
    ]
    assert [(r.stored, r.version) for r in reply.results[6:]] == [(True, 1)] * 10
    assert [r.error.code for r in reply.results[:2]] == [
        grpc.StatusCode.FAILED_PRECONDITION.value[0],
        grpc.StatusCode.ABORTED.value[0],
    ]
    got = await sc.cache.GetMany(
        cache_pb2.GetManyRequest(namespace=NS, keys=["k0", "k1", "k2", "k3", "k30", "k25", "k39"])
    )
    assert [(g.found, g.value, g.version) for g in got.results] == [
        (True, b"v5", 5),
        (True, b"v5", 5),
        (True, b"v6", 6),
        (True, b"bumped", 6),
        (True, b"two", 2),
        (True, b"new", 1),
        (False, b"", 0),
    ]


async def test_set_many_pipelines_per_server(
    relays: list[Relay], fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(_url(relays), loader=fake_app.target)
    items = [_item(f"k{i}", b"v") for i in range(60)]
    await sc.cache.SetMany(cache_pb2.SetManyRequest(namespace=NS, items=items[:1]))  # connect
    before = [r.sends for r in relays]
    reply = await sc.cache.SetMany(cache_pb2.SetManyRequest(namespace=NS, items=items))
    assert all(r.stored for r in reply.results)
    sends = [r.sends - b for r, b in zip(relays, before, strict=True)]
    # 60 keys over 2 servers: one gets_many and one pipelined store per server
    # (a few more if a send is split); one round trip per key would be 60+.
    assert sum(sends) <= 12, sends


async def test_set_many_applies_every_item_of_a_repeated_key_in_order(
    relays: list[Relay], fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # One gets/cas pair per key and round carries one store: ten items of one
    # key once ran out of rounds (WRITE_CONTENDED for the 9th and 10th) with
    # nobody else writing. Each must be stored, in order, and the last wins.
    sc = await sidecar_for(_url(relays), loader=fake_app.target)
    items = [_item("k", b"%d" % i) for i in range(10)] + [_item("j", b"x")]
    reply = await sc.cache.SetMany(cache_pb2.SetManyRequest(namespace="items", items=items))
    assert [r.stored for r in reply.results] == [True] * 11, reply.results
    versions = [r.version for r in reply.results[:10]]
    assert versions == sorted(versions)
    assert len(set(versions)) == 10
    got = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
    assert got.value == b"9"
