"""Write-through and write-behind against real Redis / Redis Cluster and a fake app.

The fake app's ``rows`` is its database: the writer applies puts and deletes
to it, so "every write landed" is checked on the final rows, and "nothing
lost" on the set of write ids the writer saw.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc, writer_pb2

from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory, error_info, wait_until
from tests.test_process import spawn_sidecar, write_config

PUT, DELETE = writer_pb2.WRITE_KIND_PUT, writer_pb2.WRITE_KIND_DELETE
FAST = {"flush_interval": "50ms", "retry_backoff": "10ms", "max_backoff": "200ms"}


async def _enqueue(
    sc: RunningSidecar, key: str, value: bytes = b"", kind: writer_pb2.WriteKind.ValueType = PUT
) -> str:
    response = await sc.cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace="items", key=key, value=value, kind=kind)
    )
    write_id: str = response.write_id
    return write_id


async def _flush(sc: RunningSidecar, within: float = 20) -> cache_pb2.FlushWritesResponse:
    response: cache_pb2.FlushWritesResponse = await sc.cache.FlushWrites(
        cache_pb2.FlushWritesRequest(namespace="items"), timeout=within
    )
    return response


async def _queue(sc: RunningSidecar) -> cache_pb2.GetWriteQueueResponse:
    response: cache_pb2.GetWriteQueueResponse = await sc.cache.GetWriteQueue(
        cache_pb2.GetWriteQueueRequest(namespace="items")
    )
    return response


def _wb(**settings: Any) -> dict[str, Any]:
    return {**FAST, **settings}


async def test_write_through_writes_then_updates_the_cache(
    backend_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, loader=fake_app.target, writer=fake_app.target)
    response = await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace="items", key="k", value=b"v1")
    )
    assert response.write_id
    assert fake_app.rows["k"] == b"v1"
    assert [w.write_id for w in fake_app.writes] == [response.write_id]
    got = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    assert (got.value, got.source) == (b"v1", cache_pb2.SOURCE_CACHE)
    await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace="items", key="k", kind=DELETE)
    )
    assert "k" not in fake_app.rows
    gone = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    assert not gone.found
    assert fake_app.loads == [("items", "k")]  # only after the delete


async def test_write_through_failure_leaves_the_cache_untouched(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, writer=fake_app.target)
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"old"))
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sc.cache.WriteThrough(
            cache_pb2.WriteThroughRequest(namespace="items", key="k", value=b"new")
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(caught.value).reason == "WRITER_UNAVAILABLE"
    fake_app.write_fail_with = None
    fake_app.reject_keys.add("k")
    with pytest.raises(grpc.aio.AioRpcError) as rejected:
        await sc.cache.WriteThrough(
            cache_pb2.WriteThroughRequest(namespace="items", key="k", value=b"new")
        )
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # the writer's own code
    assert error_info(rejected.value).reason == "WRITER_FAILED"
    got = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
    assert got.value == b"old"


async def test_write_through_racing_a_load_never_caches_the_old_value(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"old"
    fake_app.load_delay = 0.5
    sc = await sidecar_for(
        redis_url, loader=fake_app.target, writer=fake_app.target, write_through="invalidate"
    )
    loading = asyncio.ensure_future(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    )
    await wait_until(lambda: fake_app.loads_of("k") == 1)
    await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace="items", key="k", value=b"new")
    )
    await loading
    fake_app.load_delay = 0
    got = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    assert got.value == b"new"


async def test_every_enqueued_write_lands_as_last_written(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(
        queue_url, loader=fake_app.target, writer=fake_app.target, write_behind=_wb(partitions=3)
    )
    expected: dict[str, bytes | None] = {}
    ids = set()
    for i in range(300):
        key = f"k{i % 30}"
        if i % 7 == 0:
            ids.add(await _enqueue(sc, key, kind=DELETE))
            expected[key] = None
        else:
            value = f"{key}={i}".encode()
            ids.add(await _enqueue(sc, key, value))
            expected[key] = value
    flushed = await _flush(sc)
    assert flushed.pending_count == 0
    assert {k: fake_app.rows.get(k) for k in expected} == expected
    assert {w.write_id for w in fake_app.writes} <= ids
    state = await _queue(sc)
    assert (state.pending_count, state.dead_letter_count) == (0, 0)


async def test_the_cache_answers_before_the_database_is_written(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows.update({"a": b"db", "b": b"db"})
    sc = await sidecar_for(
        redis_url,
        loader=fake_app.target,
        writer=fake_app.target,
        write_behind=_wb(flush_interval="1h"),
    )
    await _enqueue(sc, "a", b"queued")
    await _enqueue(sc, "b", kind=DELETE)
    a = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="a"))
    b = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="b"))
    assert (a.value, a.source) == (b"queued", cache_pb2.SOURCE_CACHE)
    assert (b.found, b.source) == (False, cache_pb2.SOURCE_CACHE)  # not the old row
    assert fake_app.loads == []
    assert fake_app.rows == {"a": b"db", "b": b"db"}
    state = await _queue(sc)
    assert state.pending_count == 2
    await _flush(sc)
    assert fake_app.rows == {"a": b"queued"}


@pytest.mark.parametrize("order", ["put-delete", "delete-put"])
async def test_put_and_delete_of_one_key_end_in_the_right_state(
    order: str, redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"before"
    sc = await sidecar_for(redis_url, writer=fake_app.target, write_behind=_wb(flush_interval="1h"))
    if order == "put-delete":
        await _enqueue(sc, "k", b"v")
        await _enqueue(sc, "k", kind=DELETE)
    else:
        await _enqueue(sc, "k", kind=DELETE)
        await _enqueue(sc, "k", b"v")
    await _flush(sc)
    assert fake_app.rows.get("k") == (None if order == "put-delete" else b"v")


async def test_coalescing_one_write_per_key_per_flush(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(
        redis_url, writer=fake_app.target, write_behind=_wb(flush_interval="1h", partitions=1)
    )
    for i in range(1000):
        await _enqueue(sc, f"k{i % 10}", str(i).encode())
    await _flush(sc)
    assert len(fake_app.writes) == 10
    assert {k: fake_app.rows[k] for k in fake_app.rows} == {
        f"k{j}": str(990 + j).encode() for j in range(10)
    }


async def test_writer_down_for_a_while_loses_nothing(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=2, max_attempts=2)
    )
    for i in range(50):
        await _enqueue(sc, f"k{i}", b"v")
    metrics = sc.sidecar.telemetry.metrics
    await wait_until(lambda: metrics.wb_retries.labels("items")._value.get() >= 6)
    assert (await _queue(sc)).dead_letter_count == 0  # a down writer is not a poison write
    fake_app.write_fail_with = None
    await _flush(sc)
    assert len(fake_app.rows) == 50


async def test_a_write_batch_ends_before_the_flush_lease_can_lapse(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # A batch still running after the lease lapsed could land after the next
    # owner's newer writes: every WriteBatch deadline stops short of the lease.
    sc = await sidecar_for(
        queue_url,
        writer=fake_app.target,
        writer_timeout="10s",
        write_behind=_wb(partitions=1, owner_ttl="1s", flush_interval="50ms"),
    )
    for i in range(5):
        await _enqueue(sc, f"k{i}", b"v")
    await _flush(sc)
    assert fake_app.write_deadlines_seen
    assert all(d is not None and d <= 1.0 for d in fake_app.write_deadlines_seen)


async def test_poison_write_is_dead_lettered_and_can_be_replayed(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.reject_keys.add("poison")
    sc = await sidecar_for(
        queue_url, writer=fake_app.target, write_behind=_wb(partitions=1, max_attempts=3)
    )
    await _enqueue(sc, "good1", b"1")
    poison_id = await _enqueue(sc, "poison", b"x")
    await _enqueue(sc, "good2", b"2")
    for _ in range(200):
        state = await _queue(sc)
        if state.dead_letter_count == 1 and state.pending_count == 0:
            break
        await asyncio.sleep(0.05)
    assert (state.dead_letter_count, state.pending_count) == (1, 0)
    assert fake_app.rows == {"good1": b"1", "good2": b"2"}
    fake_app.reject_keys.clear()  # the app is fixed
    replay = await sc.cache.ReplayDeadLetters(cache_pb2.ReplayDeadLettersRequest(namespace="items"))
    assert replay.replayed_count == 1
    await _flush(sc)
    assert fake_app.rows["poison"] == b"x"
    assert fake_app.writes[-1].write_id == poison_id  # replayed with its original id
    assert (await _queue(sc)).dead_letter_count == 0


async def test_a_full_queue_pushes_back_and_keeps_what_it_accepted(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.write_fail_with = grpc.StatusCode.UNAVAILABLE
    sc = await sidecar_for(
        redis_url, writer=fake_app.target, write_behind=_wb(partitions=1, max_pending=10)
    )
    for i in range(10):
        await _enqueue(sc, f"k{i}", b"v")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _enqueue(sc, "k10", b"v")
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(caught.value).reason == "QUEUE_FULL"
    # The refused write did not reach the cache either (one atomic step).
    assert not (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k10"))).found
    fake_app.write_fail_with = None
    await _flush(sc)
    assert sorted(fake_app.rows) == sorted(f"k{i}" for i in range(10))


async def test_per_key_order_holds_with_two_sidecars_flushing(
    queue_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.write_delay = 0.01
    sidecars = [
        await sidecar_for(
            queue_url, writer=fake_app.target, write_behind=_wb(partitions=4, batch_size=7)
        )
        for _ in range(2)
    ]
    for i in range(200):
        await _enqueue(sidecars[i % 2], f"k{i % 5}", str(i).encode())
    await asyncio.gather(*(_flush(sc) for sc in sidecars))
    seen: dict[str, list[int]] = {}
    for w in fake_app.writes:
        seen.setdefault(w.key, []).append(int(w.value))
    for key, values in seen.items():
        assert values == sorted(values), f"{key} written out of order: {values}"
    assert {k: int(v) for k, v in fake_app.rows.items()} == {f"k{j}": 195 + j for j in range(5)}


def _config(tmp_path: Path, redis_url: str, writer: str, **wb: Any) -> Path:
    return write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {
                "items": {"backend": "main", "writer": writer, "write_behind": _wb(**wb)}
            },
        },
    )


async def test_sigkill_mid_flush_loses_no_write(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory, tmp_path: Path
) -> None:
    fake_app.write_delay = 0.05
    config = _config(
        tmp_path, redis_url, fake_app.target, partitions=2, batch_size=20, owner_ttl="1s"
    )
    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    accepted: dict[str, str] = {}
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            for i in range(600):
                response = await cache.EnqueueWrite(
                    cache_pb2.EnqueueWriteRequest(
                        namespace="items", key=f"k{i % 100}", value=str(i).encode()
                    )
                )
                accepted[response.write_id] = f"k{i % 100}"
            await wait_until(lambda: len(fake_app.writes) > 20)  # mid-flush...
        os.kill(proc.pid, signal.SIGKILL)  # ...the sidecar dies
    finally:
        proc.kill()
        proc.communicate()
    survivor = await sidecar_for(
        redis_url,
        writer=fake_app.target,
        write_behind=_wb(partitions=2, batch_size=20, owner_ttl="1s"),
    )
    flushed = await _flush(survivor, within=30)
    assert flushed.pending_count == 0
    # Coalescing may skip superseded writes, but every key's last accepted write landed.
    assert {k: int(v) for k, v in fake_app.rows.items()} == {f"k{j}": 500 + j for j in range(100)}
    assert {w.write_id for w in fake_app.writes} <= set(accepted)
    # And in order: the new owner never applied an older write of a key after a
    # newer one (the dead owner's writes may come again: at-least-once).
    seen: dict[str, list[int]] = {}
    for w in fake_app.writes:
        seen.setdefault(w.key, []).append(int(w.value))
    for key, values in seen.items():
        assert values == sorted(values), f"{key} written out of order: {values}"


async def test_sigterm_drains_before_exit(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    config = _config(tmp_path, redis_url, fake_app.target, flush_interval="1h")
    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            for i in range(100):
                await cache.EnqueueWrite(
                    cache_pb2.EnqueueWriteRequest(namespace="items", key=f"k{i}", value=b"v")
                )
        assert fake_app.writes == []  # nothing flushed on its own within the hour
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        proc.kill()
        proc.communicate()
    assert len(fake_app.rows) == 100
