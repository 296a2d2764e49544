"""The InvalidationFeed contract, run against every component that declares it.

Each test drives a real server (standalone Redis, a 3-master Cluster) and
checks what the feed promises its sinks: a write under a subscribed prefix
arrives as an invalidation, a write elsewhere does not, and every way the
link can be lost (killed, silent, server flushed) is a flush before the
feed vouches again (resume).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence

import pytest
import redis
from redis.crc import key_slot

from sidecar.backends.base import Backend
from sidecar.backends.invalidation import InvalidationFeed
from sidecar.backends.registry import BackendRegistry
from sidecar.config import settings_from_mapping
from tests.appfixtures import wait_until
from tests.contracts.support import declaring, needs

PREFIX = b"cc:v{items:"


class Recorder:
    """A sink that remembers what it was told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.keys: list[bytes] = []
        self.down: set[int] | None = None  # None: everything down

    def invalidate(self, keys: Sequence[bytes]) -> None:
        self.keys.extend(keys)
        self.events.append(("invalidate", list(keys)))

    def flush(self, slots: Collection[int] | None, cause: str) -> None:
        self.events.append(("flush", cause))
        if slots is None:
            self.down = None
        elif self.down is not None:
            self.down |= set(slots)

    def resume(self, slots: Collection[int] | None) -> None:
        self.events.append(("resume", None if slots is None else len(slots)))
        if slots is None:
            self.down = set()
        elif self.down is None:
            self.down = set(range(16384)) - set(slots)
        else:
            self.down -= set(slots)

    @property
    def serving(self) -> bool:
        return self.down == set()

    def flushes(self) -> list[object]:
        return [cause for kind, cause in self.events if kind == "flush"]


def _client_for(url: str, key: bytes) -> redis.Redis:
    """A plain client on the node that owns ``key`` (the writer of these tests)."""
    if "+cluster" not in url:
        return redis.Redis.from_url(url)
    cluster = redis.RedisCluster.from_url(url.replace("+cluster", ""))
    node = cluster.get_node_from_key(key)  # type: ignore[no-untyped-call]
    client = redis.Redis(node.host, node.port)
    cluster.close()
    return client


# Every component that declares the feed (as the other suites' `component`
# fixture does; the feed needs its server's URL, hence a fixture of its own).
pytestmark = needs(InvalidationFeed)


@pytest.fixture(params=declaring(InvalidationFeed))
async def feed_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def feed(feed_url: str) -> AsyncIterator[tuple[InvalidationFeed, Recorder, Backend]]:
    # Faster pings for the test, through the backend's own settings.
    fast = {"ping_interval": "200ms", "topology_interval": "200ms"}
    settings = settings_from_mapping(
        {
            "backends": {"main": {"url": feed_url, "invalidation": fast}},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    registry = BackendRegistry(settings.backends)
    backend = registry["main"]
    found = backend.capabilities.get(InvalidationFeed)
    assert found is not None, "every Redis component declares the invalidation feed"
    sink = Recorder()
    found.subscribe(PREFIX, sink)
    await found.start()
    await wait_until(lambda: sink.serving, within=15)
    try:
        yield found, sink, backend
    finally:
        await registry.aclose()


async def test_a_write_under_the_prefix_is_invalidated_and_others_are_not(
    feed: tuple[InvalidationFeed, Recorder, Backend], feed_url: str
) -> None:
    the_feed, sink, _ = feed
    assert the_feed.healthy()
    mine, other = PREFIX + b"k1}", b"cc:l{items:k1}"
    with _client_for(feed_url, mine) as client:
        client.set(other, b"x")
        client.set(mine, b"v")
    await wait_until(lambda: mine in sink.keys, within=5)
    assert other not in sink.keys
    assert sink.flushes() == []


async def test_a_killed_link_is_a_flush_then_a_resume(
    feed: tuple[InvalidationFeed, Recorder, Backend], feed_url: str
) -> None:
    the_feed, sink, _ = feed
    key = PREFIX + b"k2}"
    with _client_for(feed_url, key) as client:
        killed = 0
        for entry in client.client_list():
            if entry.get("name") == "cachecar-tracking":
                client.client_kill_filter(_id=entry["id"])
                killed += 1
        assert killed == 1
        await wait_until(lambda: "link_lost" in sink.flushes(), within=5)
        # Flushed first; vouched for again only once re-subscribed, after which
        # writes are heard again.
        await wait_until(lambda: sink.serving, within=10)
        assert the_feed.healthy()
        client.set(key, b"after")
    await wait_until(lambda: key in sink.keys, within=5)


async def test_a_server_flush_empties_the_sink(
    feed: tuple[InvalidationFeed, Recorder, Backend], feed_url: str
) -> None:
    _, sink, _ = feed
    key = PREFIX + b"k3}"
    with _client_for(feed_url, key) as client:
        client.flushall()
    await wait_until(lambda: "server_flush" in sink.flushes(), within=5)
    await wait_until(lambda: sink.serving, within=5)


async def test_a_silent_link_is_flushed(
    feed: tuple[InvalidationFeed, Recorder, Backend], feed_url: str
) -> None:
    # CLIENT PAUSE holds every client's commands (the tracking link's PING
    # too) without closing anything: the link goes silent, not down.
    _, sink, _ = feed
    key = PREFIX + b"k4}"
    with _client_for(feed_url, key) as client:
        client.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    await wait_until(lambda: "ping_timeout" in sink.flushes(), within=10)
    await wait_until(lambda: sink.serving, within=10)


async def test_slots_are_per_key(feed: tuple[InvalidationFeed, Recorder, Backend]) -> None:
    the_feed, _, backend = feed
    key = PREFIX + b"k5}"
    cluster = bool(getattr(backend, "cluster", False))
    assert the_feed.slot(key) == (key_slot(key) if cluster else 0)


async def test_a_feed_nobody_subscribed_opens_no_connection(redis_url: str) -> None:
    settings = settings_from_mapping(
        {"backends": {"main": redis_url}, "namespaces": {"items": {"backend": "main"}}}
    )
    registry = BackendRegistry(settings.backends)
    try:
        found = registry["main"].capabilities.get(InvalidationFeed)
        assert found is not None
        await found.start()
        await asyncio.sleep(0.2)
        assert not found.healthy()
        with redis.Redis.from_url(redis_url) as client:
            names = [c.get("name") for c in client.client_list()]
        assert "cachecar-tracking" not in names
    finally:
        await registry.aclose()
