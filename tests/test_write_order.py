"""Per-key write order of write-behind across outages, takeovers and replays.

The promise under test: per key, the writer applies the last acknowledged
write last. Each test here is a defect an attacker-style probe found (issue
"Lost updates in write-behind"), reproduced against real Redis and a fake app
whose ``writes`` list is the order the database saw.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from cachecar.v1 import cache_pb2, writer_pb2

from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory, wait_until

PUT = writer_pb2.WRITE_KIND_PUT


def _wb(**settings: Any) -> dict[str, Any]:
    return {"flush_interval": "100ms", "retry_backoff": "20ms", "max_backoff": "100ms", **settings}


async def _enqueue(sc: RunningSidecar, key: str, value: bytes) -> str:
    response = await sc.cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace="items", key=key, value=value, kind=PUT)
    )
    write_id: str = response.write_id
    return write_id


async def _flush(sc: RunningSidecar) -> cache_pb2.FlushWritesResponse:
    response: cache_pb2.FlushWritesResponse = await sc.cache.FlushWrites(
        cache_pb2.FlushWritesRequest(namespace="items"), timeout=30
    )
    return response


async def _dead_lettered(sc: RunningSidecar) -> None:
    """Wait (bounded) until the queue has a dead letter."""
    request = cache_pb2.GetWriteQueueRequest(namespace="items")
    for _ in range(200):
        if (await sc.cache.GetWriteQueue(request)).dead_letter_count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no write was dead-lettered within 10 s")


def _values_written(app: FakeApp, key: str) -> list[int]:
    return [int(w.value) for w in app.writes if w.key == key]


async def test_after_a_writer_outage_the_newest_write_is_written_last(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # Defect 1: the flusher read batch_size entries of its pending list, then
    # mixed in new ones while older pending writes of the same key were unread:
    # v31 was written before v10..v30, and the database ended on v30.
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=1, batch_size=5)
    )
    for i in range(1, 31):
        await _enqueue(sc, "K", str(i).encode())
    metrics = sc.sidecar.telemetry.metrics
    # Several failed rounds: every one of the 30 is now in the flusher's pending list.
    await wait_until(lambda: metrics.wb_retries.labels("items")._value.get() >= 4)
    await _enqueue(sc, "K", b"31")
    fake_app.write_fail_with = None
    assert (await _flush(sc)).pending_count == 0
    written = _values_written(fake_app, "K")
    assert written == sorted(written), f"K written out of order: {written}"
    assert fake_app.rows["K"] == b"31"


async def test_a_large_backlog_after_an_outage_keeps_order(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # The same with the default batch_size and more queued than one batch.
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE
    sc = await sidecar_for(redis_url, writer=fake_app.target, write_behind=_wb(partitions=1))
    for i in range(1, 1201):
        await _enqueue(sc, "K", str(i).encode())
    metrics = sc.sidecar.telemetry.metrics
    await wait_until(lambda: metrics.wb_retries.labels("items")._value.get() >= 3)
    await _enqueue(sc, "K", b"1201")
    fake_app.write_fail_with = None
    await _flush(sc)
    written = _values_written(fake_app, "K")
    assert written == sorted(written), f"K written out of order: {written}"
    assert fake_app.rows["K"] == b"1201"


async def test_a_replayed_dead_letter_never_overwrites_a_newer_write(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # Defect 2: D=old dead-lettered, D=new written, replay -> the database ended on old.
    fake_app.reject_keys.add("D")
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=1, max_attempts=2)
    )
    old_id = await _enqueue(sc, "D", b"1")
    await _dead_lettered(sc)
    fake_app.reject_keys.clear()  # the app is fixed...
    await _enqueue(sc, "D", b"2")  # ...a newer write lands...
    await _flush(sc)
    assert fake_app.rows["D"] == b"2"
    replay = await sc.cache.ReplayDeadLetters(cache_pb2.ReplayDeadLettersRequest(namespace="items"))
    assert replay.replayed_count == 1  # ...then the old one is replayed
    state = await _flush(sc)
    assert state.pending_count == 0
    assert fake_app.rows["D"] == b"2"
    assert old_id not in {w.write_id for w in fake_app.writes}
    superseded = sc.sidecar.telemetry.metrics.wb_superseded.labels("items")._value.get()
    assert superseded == 1


async def test_a_replayed_dead_letter_queued_behind_a_newer_write_is_not_written(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # The newer write is still queued (flushing paused) when the old one is
    # replayed behind it: in queue order the old one comes last, in write order
    # it is older, and write order decides.
    fake_app.reject_keys.add("D")
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=1, max_attempts=1)
    )
    await _enqueue(sc, "D", b"1")
    await _dead_lettered(sc)
    fake_app.reject_keys.clear()
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE  # nothing gets written for now
    await _enqueue(sc, "D", b"2")
    await sc.cache.ReplayDeadLetters(cache_pb2.ReplayDeadLettersRequest(namespace="items"))
    fake_app.write_fail_with = None
    assert (await _flush(sc)).pending_count == 0
    assert fake_app.rows["D"] == b"2"
    assert _values_written(fake_app, "D") == [2]


async def test_a_replayed_dead_letter_with_nothing_newer_is_written(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.reject_keys.add("D")
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=1, max_attempts=1)
    )
    await _enqueue(sc, "E", b"5")  # another key's writes do not count as newer
    await _enqueue(sc, "D", b"1")
    await _dead_lettered(sc)
    await _enqueue(sc, "E", b"6")
    await _flush(sc)
    fake_app.reject_keys.clear()
    await sc.cache.ReplayDeadLetters(cache_pb2.ReplayDeadLettersRequest(namespace="items"))
    await _flush(sc)
    assert fake_app.rows == {"D": b"1", "E": b"6"}
