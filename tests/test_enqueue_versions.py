"""EnqueueWrite with versions and conditions (issue #20) on Redis and Redis Cluster.

The version rule and the condition are checked in the same script that
stores the cache entry and queues the write: a refused write is neither
cached nor queued, so the writer never sees it. The refusals are Set's own.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, writer_pb2

from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory, error_info

NS = "items"
DELETE = writer_pb2.WRITE_KIND_DELETE
#: Nothing flushes on its own: a test sees exactly what is pending.
HELD = {"flush_interval": "1h", "retry_backoff": "10ms", "max_backoff": "200ms"}


async def _sidecar(url: str, app: FakeApp, factory: SidecarFactory) -> RunningSidecar:
    return await factory(url, loader=app.target, writer=app.target, write_behind=dict(HELD))


async def _enqueue(sc: RunningSidecar, key: str, value: bytes = b"v", **fields: Any) -> int:
    reply: cache_pb2.EnqueueWriteResponse = await sc.cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace=NS, key=key, value=value, **fields)
    )
    assert reply.write_id
    return reply.version


async def _refused(
    sc: RunningSidecar, key: str, value: bytes = b"v", **fields: Any
) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _enqueue(sc, key, value, **fields)
    info = error_info(caught.value)
    return caught.value.code(), info.reason, info.metadata.get("current_version", "")


async def _pending(sc: RunningSidecar) -> int:
    state: cache_pb2.GetWriteQueueResponse = await sc.cache.GetWriteQueue(
        cache_pb2.GetWriteQueueRequest(namespace=NS)
    )
    return state.pending_count


async def _flush(sc: RunningSidecar) -> None:
    await sc.cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace=NS), timeout=20)


async def _get(sc: RunningSidecar, key: str) -> cache_pb2.GetResponse:
    reply: cache_pb2.GetResponse = await sc.cache.Get(cache_pb2.GetRequest(namespace=NS, key=key))
    return reply


async def test_version_is_stored_returned_and_given_to_the_writer(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await _sidecar(queue_url, fake_app, sidecar_for)
    assert await _enqueue(sc, "k", b"seven", version=7) == 7
    got = await _get(sc, "k")
    assert (got.found, got.value, got.version) == (True, b"seven", 7)
    # No version: the cached one plus one, as Set; a delete keeps it.
    assert await _enqueue(sc, "n", b"a") == 1
    assert await _enqueue(sc, "n", b"b") == 2
    assert await _enqueue(sc, "n", kind=DELETE) == 2
    await _flush(sc)
    assert sorted((w.key, w.value, w.version) for w in fake_app.writes) == [
        ("k", b"seven", 7),
        ("n", b"", 2),  # coalesced: the last write of "n"
    ]


async def test_a_lower_version_is_refused_and_not_queued(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await _sidecar(queue_url, fake_app, sidecar_for)
    assert await _enqueue(sc, "k", b"five", version=5) == 5
    assert await _pending(sc) == 1
    refused = await _refused(sc, "k", b"three", version=3)
    assert refused == (grpc.StatusCode.FAILED_PRECONDITION, "VERSION_STALE", "5")
    assert await _pending(sc) == 1
    assert (await _get(sc, "k")).value == b"five"
    await _flush(sc)
    assert [(w.value, w.version) for w in fake_app.writes] == [(b"five", 5)]
    # A Set's version counts too: the two paths share one rule.
    await sc.cache.Set(cache_pb2.SetRequest(namespace=NS, key="s", value=b"x", version=9))
    assert (await _refused(sc, "s", version=8))[1] == "VERSION_STALE"
    assert await _enqueue(sc, "s", b"equal", version=9) == 9  # equal: a replay, accepted


async def test_each_condition(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await _sidecar(queue_url, fake_app, sidecar_for)
    aborted = grpc.StatusCode.ABORTED
    present, absent = cache_pb2.CONDITION_IF_PRESENT, cache_pb2.CONDITION_IF_ABSENT
    if_version = cache_pb2.CONDITION_IF_VERSION
    assert await _refused(sc, "k", condition=present) == (aborted, "VALUE_MISSING", "0")
    assert await _refused(sc, "k", condition=if_version, expected_version=0) == (
        aborted,
        "VERSION_MISMATCH",
        "0",
    )
    assert await _pending(sc) == 0
    assert await _enqueue(sc, "k", b"first", condition=absent, version=3) == 3
    assert await _refused(sc, "k", condition=absent) == (aborted, "VALUE_EXISTS", "3")
    assert await _refused(sc, "k", condition=if_version, expected_version=2) == (
        aborted,
        "VERSION_MISMATCH",
        "3",
    )
    assert await _enqueue(sc, "k", b"second", condition=if_version, expected_version=3) == 4
    assert await _enqueue(sc, "k", b"third", condition=present, version=10) == 10
    assert await _pending(sc) == 3
    await _flush(sc)
    assert [(w.value, w.version) for w in fake_app.writes] == [(b"third", 10)]


async def test_a_tombstone_refuses_a_lower_enqueue(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await _sidecar(queue_url, fake_app, sidecar_for)
    assert await _enqueue(sc, "k", b"v3", version=3) == 3
    await _flush(sc)
    gone = await sc.cache.Invalidate(
        cache_pb2.InvalidateRequest(namespace=NS, keys=["k"], version=5)
    )
    assert gone.invalidated_count == 1
    assert (await _refused(sc, "k", b"v4", version=4))[1:] == ("VERSION_STALE", "5")
    assert await _pending(sc) == 0
    assert not (await _get(sc, "k")).found
    # Absent: a tombstone is no live value, but its version still orders writes.
    absent = cache_pb2.CONDITION_IF_ABSENT
    assert await _enqueue(sc, "k", b"v6", version=6, condition=absent) == 6
    await _flush(sc)
    assert [(w.value, w.version) for w in fake_app.writes] == [(b"v3", 3), (b"v6", 6)]


async def test_an_invalid_condition_is_refused(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await _sidecar(queue_url, fake_app, sidecar_for)
    code, reason, _ = await _refused(sc, "k", condition=99)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CONDITION_INVALID")
    assert await _pending(sc) == 0


async def test_write_through_gives_the_writer_its_version(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(queue_url, loader=fake_app.target, writer=fake_app.target)
    await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace=NS, key="k", value=b"v", version=12)
    )
    await sc.cache.WriteThrough(cache_pb2.WriteThroughRequest(namespace=NS, key="u", value=b"v"))
    assert [(w.key, w.version) for w in fake_app.writes] == [("k", 12), ("u", 0)]
