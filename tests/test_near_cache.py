"""The near cache: its store (bounds, eviction, the race rules) and, through
real sidecars on Redis, Redis Cluster and Memcached, what callers see."""

from __future__ import annotations

import time

import pytest
import redis
from cachecar.v1 import cache_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.config import ConfigError
from sidecar.patterns.entry import Entry
from sidecar.patterns.near_cache import ENTRY_OVERHEAD, NearCache
from tests.appfixtures import FakeApp, SidecarFactory, make_settings, wait_until

NOW = 1_000_000
LATER = NOW + 3_600_000


def _entry(value: bytes = b"v", stale_at: int = LATER) -> Entry:
    return Entry(True, value, stale_at)


def _fill(near: NearCache, key: bytes, entry: Entry, now: int = NOW) -> None:
    near.finish(near.begin(key), entry, 0, now)


def _open(max_bytes: int = 1 << 20, *, slot: bool = True) -> NearCache:
    near = NearCache("items", max_bytes, slot=(lambda key: key[0] % 4) if slot else None)
    near.resume(None)
    return near


# -- the store -------------------------------------------------------------------


def test_nothing_is_kept_until_the_feed_vouches() -> None:
    near = NearCache("items", 1 << 20, slot=lambda _: 0)
    _fill(near, b"k", _entry())
    assert near.lookup(b"k", NOW) is None
    near.resume(None)
    _fill(near, b"k", _entry())
    assert near.lookup(b"k", NOW) == _entry()


def test_a_reply_overtaken_by_its_invalidation_is_not_kept() -> None:
    near = _open()
    ticket = near.begin(b"k")
    near.invalidate([b"k"])  # pushed before the (older) reply arrives
    near.finish(ticket, _entry(b"old"), 0, NOW)
    assert near.lookup(b"k", NOW) is None
    _fill(near, b"k", _entry(b"new"))  # a read that started after it is kept
    assert near.lookup(b"k", NOW) == _entry(b"new")


def test_a_reply_overtaken_by_a_local_write_is_not_kept() -> None:
    near = _open()
    first, second = near.begin(b"k"), near.begin(b"k")
    near.discard([b"k"])
    near.finish(first, _entry(b"old"), 0, NOW)
    near.finish(second, _entry(b"old"), 0, NOW)
    assert near.lookup(b"k", NOW) is None


def test_a_flush_drops_everything_and_fences_reads_in_flight() -> None:
    near = _open()
    _fill(near, b"a", _entry())
    ticket = near.begin(b"b")
    near.flush(None, "link_lost")
    assert near.lookup(b"a", NOW) is None
    near.finish(ticket, _entry(), 0, NOW)  # down: not kept
    near.resume(None)
    near.finish(near.begin(b"c"), _entry(), 0, NOW)
    ticket = near.begin(b"b")
    near.flush(None, "link_lost")
    near.resume(None)
    near.finish(ticket, _entry(), 0, NOW)  # began before the flush: not kept
    assert near.lookup(b"b", NOW) is None
    assert len(near) == 0
    assert near.bytes == 0


def test_a_read_begun_while_the_feed_was_down_is_not_kept() -> None:
    # Its reply may predate a write whose invalidation nobody was subscribed to hear.
    near = _open()
    near.flush(None, "link_lost")
    ticket = near.begin(b"k")
    near.resume(None)
    near.finish(ticket, _entry(b"maybe old"), 0, NOW)
    assert near.lookup(b"k", NOW) is None


def test_a_slot_flush_drops_only_those_slots_until_they_resume() -> None:
    near = _open()  # slot = first byte % 4
    for key in (b"\x00a", b"\x01a", b"\x02a"):
        _fill(near, key, _entry())
    near.flush({1}, "topology")
    assert near.lookup(b"\x01a", NOW) is None
    assert near.lookup(b"\x00a", NOW) is not None
    _fill(near, b"\x01b", _entry())
    assert near.lookup(b"\x01b", NOW) is None
    near.resume({1})
    _fill(near, b"\x01b", _entry())
    assert near.lookup(b"\x01b", NOW) is not None


def test_a_cluster_feed_resumes_slot_by_slot() -> None:
    near = NearCache("items", 1 << 20, slot=lambda key: key[0] % 4)
    near.resume({0, 1})
    _fill(near, b"\x00a", _entry())
    _fill(near, b"\x02a", _entry())
    assert near.lookup(b"\x00a", NOW) is not None
    assert near.lookup(b"\x02a", NOW) is None


def test_entries_expire_with_their_grace_and_max_staleness() -> None:
    near = _open()
    near.finish(near.begin(b"k"), _entry(stale_at=NOW + 10), 5, NOW)
    assert near.lookup(b"k", NOW + 14) is not None
    assert near.lookup(b"k", NOW + 15) is None
    bounded = NearCache("items", 1 << 20, max_staleness_ms=100)  # no feed: always open
    _fill(bounded, b"k", _entry())
    assert bounded.lookup(b"k", NOW + 99) is not None
    assert bounded.lookup(b"k", NOW + 100) is None


def test_bytes_stay_within_max_bytes_overhead_included() -> None:
    near = _open(64 * 1024)
    value = b"x" * 1000
    for i in range(1000):
        _fill(near, b"key%04d" % i, _entry(value))
        assert near.bytes <= near.max_bytes
    per_entry = len(value) + len(b"key0000") + ENTRY_OVERHEAD
    assert len(near) == near.max_bytes // per_entry
    assert near.bytes == len(near) * per_entry


def test_hot_keys_survive_a_scan() -> None:
    near = _open(100 * (1000 + 8 + ENTRY_OVERHEAD))  # room for 100 entries
    value = b"x" * 1000
    hot = [b"hot%05d" % i for i in range(50)]
    for key in hot:
        _fill(near, key, _entry(value))
        assert near.lookup(key, NOW) is not None  # a second touch: protected
    for i in range(10_000):  # a scan of cold keys, each read once
        _fill(near, b"scn%05d" % i, _entry(value))
    assert all(near.lookup(key, NOW) is not None for key in hot)


def test_a_value_over_a_quarter_of_the_cache_is_not_kept() -> None:
    near = _open(64 * 1024)
    _fill(near, b"big", _entry(b"x" * 20_000))
    assert near.lookup(b"big", NOW) is None


# -- through sidecars ------------------------------------------------------------

NEAR = {"near_cache": {"max_bytes": "1MiB"}}


@pytest.mark.parametrize("kind", ["redis", "cluster"])
async def test_reads_come_from_memory_and_writes_elsewhere_reach_them(
    kind: str, request: pytest.FixtureRequest, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    url: str = request.getfixturevalue(f"{kind}_url")
    a = await sidecar_for(url, loader=fake_app.target, **NEAR)
    b = await sidecar_for(url, loader=fake_app.target, **NEAR)
    for sc in (a, b):
        near = sc.sidecar.namespaces["items"].near
        assert near is not None
        await wait_until(lambda near=near: near.serving, within=15)  # type: ignore[misc]
    fake_app.rows["k"] = b"v1"
    req = cache_pb2.GetOrLoadRequest(namespace="items", key="k")
    assert (await b.cache.GetOrLoad(req)).source == cache_pb2.SOURCE_LOADER
    assert (await b.cache.GetOrLoad(req)).source == cache_pb2.SOURCE_CACHE  # filled on this read
    got = await b.cache.GetOrLoad(req)
    assert (got.source, got.value) == (cache_pb2.SOURCE_NEAR_CACHE, b"v1")
    # A Set on the other sidecar reaches this one's memory through Redis.
    await a.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v2"))
    deadline = time.monotonic() + 5
    while (got := await b.cache.GetOrLoad(req)).value != b"v2":
        assert time.monotonic() < deadline, "the invalidation never arrived"
    # Read-your-writes on the writing sidecar: at once, no waiting.
    await a.cache.GetOrLoad(req)
    await a.cache.GetOrLoad(req)
    await a.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v3"))
    assert (await a.cache.GetOrLoad(req)).value == b"v3"
    await a.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=["k"]))
    fake_app.rows["k"] = b"v4"
    assert (await a.cache.GetOrLoad(req)).value == b"v4"
    # Batches go through the near cache too.
    many = await b.cache.GetOrLoadMany(
        cache_pb2.GetOrLoadManyRequest(namespace="items", keys=["k", "k"])
    )
    assert [r.found for r in many.results] == [True, True]


async def test_hits_cost_redis_no_command(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, loader=fake_app.target, **NEAR)
    near = sc.sidecar.namespaces["items"].near
    assert near is not None
    await wait_until(lambda: near.serving, within=15)
    fake_app.rows["hot"] = b"v"
    req = cache_pb2.GetOrLoadRequest(namespace="items", key="hot")
    await sc.cache.GetOrLoad(req)
    await sc.cache.GetOrLoad(req)
    with redis.Redis.from_url(redis_url) as client:
        client.config_resetstat()
        for _ in range(200):
            assert (await sc.cache.GetOrLoad(req)).source == cache_pb2.SOURCE_NEAR_CACHE
        stats = client.info("commandstats")
    assert "cmdstat_get" not in stats


async def test_health_reports_the_invalidation_link(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, **NEAR)
    stub = health_pb2_grpc.HealthStub(sc.channel)
    service = "cachecar.backend.main.invalidation"

    async def status() -> int:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        return int(reply.status)

    deadline = time.monotonic() + 10
    while await status() != health_pb2.HealthCheckResponse.SERVING:
        assert time.monotonic() < deadline


def test_memcached_needs_a_staleness_bound(memcached_url: str) -> None:
    with pytest.raises(ConfigError, match="max_staleness"):
        make_settings(memcached_url, None, near_cache={"max_bytes": "1MiB"})
    make_settings(memcached_url, None, near_cache={"max_bytes": "1MiB", "max_staleness": "1s"})


async def test_memcached_serves_from_memory_within_its_bound(
    memcached_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(
        memcached_url,
        loader=fake_app.target,
        near_cache={"max_bytes": "1MiB", "max_staleness": "1h"},
    )
    fake_app.rows["k"] = b"v"
    req = cache_pb2.GetOrLoadRequest(namespace="items", key="k")
    await sc.cache.GetOrLoad(req)
    await sc.cache.GetOrLoad(req)
    assert (await sc.cache.GetOrLoad(req)).source == cache_pb2.SOURCE_NEAR_CACHE
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"w"))
    assert (await sc.cache.GetOrLoad(req)).value == b"w"  # its own writes: at once
