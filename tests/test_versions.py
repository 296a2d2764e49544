"""Versions, conditional writes, tombstones, Touch, tags and batches (issue #20),
through the real gRPC API on Redis, Redis Cluster and Memcached (``backend_url``)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, writer_pb2
from google.protobuf import duration_pb2

from sidecar.patterns.entry import Entry, decode, decode_record, encode
from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory, error_info, wait_until

NS = "items"


async def _set(sc: RunningSidecar, key: str, value: bytes, **fields: Any) -> int:
    request = cache_pb2.SetRequest(namespace=NS, key=key, value=value, **fields)
    reply: cache_pb2.SetResponse = await sc.cache.Set(request)
    return reply.version


async def _refused(call: object) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    info = error_info(caught.value)
    return caught.value.code(), info.reason, info.metadata.get("current_version", "")


async def _get(sc: RunningSidecar, key: str) -> cache_pb2.GetResponse:
    reply: cache_pb2.GetResponse = await sc.cache.Get(cache_pb2.GetRequest(namespace=NS, key=key))
    return reply


def test_format_1_entries_still_decode() -> None:
    old = struct.pack(">BBqI", 1, 1, 123, 7) + b"value"
    assert decode(old) == Entry(True, b"value", 123, 7)
    tagged = Entry(True, b"v", 5, 1, 42, (("t", 9), ("ü", 1)))
    assert decode(encode(tagged)) == tagged
    tomb = encode(Entry(False, b"", 0, 0, 3, tombstone=True))
    assert decode(tomb) is None
    assert decode_record(tomb) == Entry(False, b"", 0, 0, 3, tombstone=True)


async def test_sidecar_versions_count_up_and_are_returned(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    assert [await _set(sc, "k", b"a"), await _set(sc, "k", b"b")] == [1, 2]
    got = await _get(sc, "k")
    assert (got.found, got.value, got.version) == (True, b"b", 2)
    hit = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="k"))
    assert (hit.value, hit.version, hit.source) == (b"b", 2, cache_pb2.SOURCE_CACHE)


async def test_a_lower_application_version_never_replaces_a_higher_one(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    assert await _set(sc, "k", b"five", version=5) == 5
    code, reason, current = await _refused(_set(sc, "k", b"three", version=3))
    assert (code, reason, current) == (grpc.StatusCode.FAILED_PRECONDITION, "VERSION_STALE", "5")
    assert await _set(sc, "k", b"five again", version=5) == 5  # equal: replayed, idempotent
    assert (await _get(sc, "k")).value == b"five again"
    assert await _set(sc, "k", b"next") == 6  # no version: the cached one plus one
    top = 2**64 - 1
    assert await _set(sc, "top", b"max", version=top) == top
    code, reason, current = await _refused(_set(sc, "top", b"past it"))
    assert (code, reason, current) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_STALE",
        str(top),
    )


async def test_conditions(backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    absent, present, equals = (
        cache_pb2.CONDITION_IF_ABSENT,
        cache_pb2.CONDITION_IF_PRESENT,
        cache_pb2.CONDITION_IF_VERSION,
    )
    assert await _refused(_set(sc, "k", b"x", condition=present)) == (
        grpc.StatusCode.ABORTED,
        "VALUE_MISSING",
        "0",
    )
    assert await _set(sc, "k", b"first", condition=absent) == 1
    assert await _refused(_set(sc, "k", b"again", condition=absent)) == (
        grpc.StatusCode.ABORTED,
        "VALUE_EXISTS",
        "1",
    )
    assert await _set(sc, "k", b"second", condition=present) == 2
    assert await _refused(_set(sc, "k", b"lost", condition=equals, expected_version=1)) == (
        grpc.StatusCode.ABORTED,
        "VERSION_MISMATCH",
        "2",
    )
    assert await _set(sc, "k", b"third", condition=equals, expected_version=2) == 3
    assert (await _get(sc, "k")).value == b"third"
    # A cached "not found" and a tombstone are absent too.
    await sc.cache.Invalidate(cache_pb2.InvalidateRequest(namespace=NS, keys=["k"], version=9))
    assert await _set(sc, "k", b"new", condition=absent, version=10) == 10


async def test_write_through_checks_its_condition_before_the_writer(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target, writer=fake_app.target)
    await _set(sc, "k", b"cached", version=4)
    request = cache_pb2.WriteThroughRequest(
        namespace=NS,
        key="k",
        value=b"mine",
        condition=cache_pb2.CONDITION_IF_VERSION,
        expected_version=3,
        version=5,
    )
    assert (await _refused(sc.cache.WriteThrough(request)))[:2] == (
        grpc.StatusCode.ABORTED,
        "VERSION_MISMATCH",
    )
    assert fake_app.writes == []  # never reached the writer
    request.expected_version = 4
    reply = await sc.cache.WriteThrough(request)
    assert reply.version == 5
    assert [w.key for w in fake_app.writes] == ["k"]
    got = await _get(sc, "k")
    assert (got.value, got.version) == (b"mine", 5)


async def test_slow_load_of_version_1_loses_to_write_through_of_version_2(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"], fake_app.versions["k"] = b"v1", 1
    fake_app.load_delay = 0.5
    sc = await sidecar_for(backend_url, loader=fake_app.target, writer=fake_app.target)
    other = await sidecar_for(backend_url, loader=fake_app.target, writer=fake_app.target)
    load = asyncio.ensure_future(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="k"))
    )
    await wait_until(lambda: fake_app.open_loads == 1)
    written = await other.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace=NS, key="k", value=b"v2", version=2)
    )
    assert written.version == 2
    first = await load  # started before the write: may see version 1
    assert (first.value, first.version) == (b"v1", 1)
    fake_app.load_delay = 0
    for node in (sc, other):
        after = await node.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="k"))
        assert (after.value, after.version, after.source) == (b"v2", 2, cache_pb2.SOURCE_CACHE)


async def test_tombstone_refuses_a_late_fill_of_an_older_version(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    await _set(sc, "k", b"v3", version=3)
    stale = await sc.cache.Invalidate(
        cache_pb2.InvalidateRequest(namespace=NS, keys=["k"], version=2)
    )
    assert stale.invalidated_count == 0  # a replayed older delete: the newer value stays
    assert (await _get(sc, "k")).value == b"v3"
    gone = await sc.cache.Invalidate(
        cache_pb2.InvalidateRequest(namespace=NS, keys=["k"], version=5)
    )
    assert gone.invalidated_count == 1
    # A lagging replica (or a replayed change) still serves version 4.
    fake_app.rows["k"], fake_app.versions["k"] = b"v4", 4
    late = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="k"))
    assert (late.value, late.source) == (b"v4", cache_pb2.SOURCE_LOADER)
    assert not (await _get(sc, "k")).found  # the fill was refused: still a miss
    assert (await _refused(_set(sc, "k", b"v4", version=4)))[1] == "VERSION_STALE"
    fake_app.rows["k"], fake_app.versions["k"] = b"v6", 6
    # The refused fill gave its lease back: this load need not wait it out
    # (the lease lasts loader_timeout + 1 s = 6 s, the deadline is 3 s).
    fresh = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="k"), timeout=3)
    assert fresh.version == 6
    got = await _get(sc, "k")
    assert (got.value, got.version) == (b"v6", 6)


async def test_touch_extends_without_rewriting(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target, ttl_jitter=0.0)
    one_second = duration_pb2.Duration(seconds=1)
    await _set(sc, "k", b"v", ttl=one_second)
    await _set(sc, "short", b"v", ttl=one_second)
    hour = duration_pb2.Duration(seconds=3600)
    touched = await sc.cache.Touch(cache_pb2.TouchRequest(namespace=NS, key="k", ttl=hour))
    missing = await sc.cache.Touch(cache_pb2.TouchRequest(namespace=NS, key="nope", ttl=hour))
    assert (touched.found, missing.found) == (True, False)
    await asyncio.sleep(2.1)
    got = await _get(sc, "k")
    assert (got.found, got.value, got.version) == (True, b"v", 1)
    assert not (await _get(sc, "short")).found


async def test_invalidate_tags(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    await _set(sc, "a", b"a", tags=["t1"])
    await _set(sc, "b", b"b", tags=["t1", "t2"])
    await _set(sc, "c", b"c", tags=["t2"])
    await _set(sc, "d", b"d")
    fake_app.rows["e"], fake_app.tags["e"] = b"e", ["t1"]
    await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="e"))
    await sc.cache.InvalidateTags(cache_pb2.InvalidateTagsRequest(namespace=NS, tags=["t1"]))
    many = await sc.cache.GetMany(cache_pb2.GetManyRequest(namespace=NS, keys=list("abcde")))
    assert [r.found for r in many.results] == [False, False, True, True, False]
    again = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace=NS, key="e"))
    assert again.source == cache_pb2.SOURCE_LOADER
    assert fake_app.loads_of("e") == 2
    # A value written after the invalidation carries the new generation.
    await _set(sc, "a", b"a2", tags=["t1"])
    assert (await _get(sc, "a")).value == b"a2"
    code, reason, _ = await _refused(_set(sc, "x", b"x", tags=["t"] * 1 + ["y" * 65]))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TAGS_INVALID")


async def test_set_many_and_get_many_have_per_item_outcomes(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    await _set(sc, "taken", b"old", version=7)
    keys = [f"k{i}" for i in range(20)]
    reply = await sc.cache.SetMany(
        cache_pb2.SetManyRequest(
            namespace=NS,
            ttl=duration_pb2.Duration(seconds=60),
            items=[cache_pb2.SetItem(key=k, value=k.encode()) for k in keys]
            + [
                cache_pb2.SetItem(key="taken", value=b"x", version=3),
                cache_pb2.SetItem(key="taken", value=b"y", condition=cache_pb2.CONDITION_IF_ABSENT),
                cache_pb2.SetItem(key="v", value=b"v", version=11),
            ],
        )
    )
    outcomes = [(r.key, r.stored, r.version, r.error.reason) for r in reply.results]
    assert outcomes == [(k, True, 1, "") for k in keys] + [
        ("taken", False, 0, "VERSION_STALE"),
        ("taken", False, 0, "VALUE_EXISTS"),
        ("v", True, 11, ""),
    ]
    many = await sc.cache.GetMany(
        cache_pb2.GetManyRequest(namespace=NS, keys=[*keys, "missing", "k0", "taken"])
    )
    got = [(r.key, r.found, r.value, r.version) for r in many.results]
    assert got == [(k, True, k.encode(), 1) for k in keys] + [
        ("missing", False, b"", 0),
        ("k0", True, b"k0", 1),
        ("taken", True, b"old", 7),
    ]


async def test_write_through_delete_with_version_leaves_a_tombstone(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target, writer=fake_app.target)
    await _set(sc, "k", b"v1", version=1)
    await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(
            namespace=NS, key="k", kind=writer_pb2.WRITE_KIND_DELETE, version=2
        )
    )
    assert (await _refused(_set(sc, "k", b"v1", version=1)))[1] == "VERSION_STALE"
    assert not (await _get(sc, "k")).found
