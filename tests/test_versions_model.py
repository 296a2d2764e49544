"""Model-based test of versions: random interleavings across two sidecars.

A hypothesis ``RuleBasedStateMachine`` drives two sidecars sharing one backend
(and one fake app as loader and writer) through random sequences of
versioned WriteThrough puts and deletes (tombstones), versioned EnqueueWrite
puts and deletes (write-behind, Redis only: flushed before the step ends, and
an older version refused and never queued), GetOrLoad and Get on
either sidecar, InvalidateTags of the tag every value carries, replayed
change-feed Invalidates with old versions, loads served by a lagging replica
(an older row), and races: a slow load on one sidecar while the other writes.

The model is the highest acknowledged version per key (a row's value is its
version as digits, so a read shows which version it saw). The rule checked,
the issue's: no read returns a version lower than one acknowledged before the
read started, and a cached value's reported version is the one it was
written with. Examples are derandomized: CI runs the same cases every time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc
import pytest
from cachecar.v1 import cache_pb2, writer_pb2
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.appfixtures import FakeApp, RunningSidecar, SidecarFactory

#: Examples per run and steps per example, per backend.
EXAMPLES = 12
STEPS = 20
NS = "items"
T = TypeVar("T")
_examples = itertools.count()


async def _call(method: Any, request: Any) -> Any:
    """A unary call, made on the loop (gRPC calls cannot be created in hypothesis'
    thread)."""
    return await method(request, timeout=10)


class Harness:
    def __init__(self, backend_url: str, app: FakeApp, sidecar_for: SidecarFactory) -> None:
        self.backend_url = backend_url
        #: Write-behind needs a durable queue: Redis, not Memcached.
        self.queue = not backend_url.startswith("memcache")
        self.app = app
        self.sidecar_for = sidecar_for
        self.loop = asyncio.get_running_loop()
        self.nodes: list[RunningSidecar] = []

    def run(self, coro: Coroutine[Any, Any, T], within: float = 60) -> T:
        """From hypothesis' thread: run ``coro`` on the test's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(within)


class VersionsMachine(RuleBasedStateMachine):
    harness: Harness  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.acked: dict[str, int] = {}
        self.version = 0
        self.keys: list[str] = []

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.harness.run(coro)

    @initialize()
    def start(self) -> None:
        # Fresh keys per example instead of flushing the backend.
        example = next(_examples)
        self.keys = [f"e{example}-{k}" for k in "abc"]
        self.acked = dict.fromkeys(self.keys, 0)
        app = self.harness.app
        app.version_in_value = True
        app.load_delay = 0.0

    def _node(self, i: int) -> RunningSidecar:
        return self.harness.nodes[i]

    def _next(self) -> int:
        self.version += 1
        return self.version

    def _check(self, key: str, found: bool, value: bytes, version: int, floor: int) -> None:
        if not found:
            return
        seen = int(value)
        assert seen >= floor, f"{key}: read version {seen} after version {floor} was acknowledged"
        assert version == seen, f"{key}: value of version {seen} reported as version {version}"

    async def _write(self, node: int, key: str, delete: bool) -> int:
        v = self._next()
        request = cache_pb2.WriteThroughRequest(
            namespace=NS,
            key=key,
            value=b"%d" % v,
            version=v,
            tags=["all"],
            kind=writer_pb2.WRITE_KIND_DELETE if delete else writer_pb2.WRITE_KIND_PUT,
        )
        await self._node(node).cache.WriteThrough(request, timeout=10)
        return v

    async def _read(self, node: int, key: str, loader: bool, floor: int) -> None:
        cache = self._node(node).cache
        if loader:
            got = await cache.GetOrLoad(
                cache_pb2.GetOrLoadRequest(namespace=NS, key=key), timeout=10
            )
        else:
            got = await cache.Get(cache_pb2.GetRequest(namespace=NS, key=key), timeout=10)
        self._check(key, got.found, got.value, got.version, floor)

    @rule(node=st.integers(0, 1), k=st.integers(0, 2), delete=st.booleans())
    def write(self, node: int, k: int, delete: bool) -> None:
        key = self.keys[k]
        self.acked[key] = self._run(self._write(node, key, delete))

    async def _enqueue(self, node: int, key: str, delete: bool, stale: bool) -> int | None:
        """A write-behind write of the next version, flushed before returning; or
        (``stale``) one of an older version, which must be refused unqueued."""
        cache = self._node(node).cache
        floor = self.acked[key]
        v = floor - 1 if stale else self._next()
        request = cache_pb2.EnqueueWriteRequest(
            namespace=NS,
            key=key,
            value=b"%d" % v,
            version=v,
            kind=writer_pb2.WRITE_KIND_DELETE if delete else writer_pb2.WRITE_KIND_PUT,
        )
        if stale:
            writes = len(self.harness.app.writes)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await cache.EnqueueWrite(request, timeout=10)
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, (
                f"{key}: version {v} after version {floor}: {refused.value}"
            )
            queue = await cache.GetWriteQueue(cache_pb2.GetWriteQueueRequest(namespace=NS))
            assert queue.pending_count == 0, f"{key}: a refused write was queued"
            assert len(self.harness.app.writes) == writes
            return None
        reply = await cache.EnqueueWrite(request, timeout=10)
        assert reply.version == v
        flushed = await cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace=NS), timeout=10)
        assert flushed.pending_count == 0
        for other in (0, 1):
            await self._read(other, key, False, v)
        return v

    @precondition(lambda self: self.harness.queue)
    @rule(node=st.integers(0, 1), k=st.integers(0, 2), delete=st.booleans(), stale=st.booleans())
    def enqueue(self, node: int, k: int, delete: bool, stale: bool) -> None:
        key = self.keys[k]
        if stale and self.acked[key] < 2:
            return  # no older application version to replay yet
        written = self._run(self._enqueue(node, key, delete, stale))
        if written is not None:
            self.acked[key] = written

    @rule(node=st.integers(0, 1), k=st.integers(0, 2), loader=st.booleans())
    def read(self, node: int, k: int, loader: bool) -> None:
        key = self.keys[k]
        self._run(self._read(node, key, loader, self.acked[key]))

    @rule(node=st.integers(0, 1))
    def invalidate_tags(self, node: int) -> None:
        request = cache_pb2.InvalidateTagsRequest(namespace=NS, tags=["all"])
        self._run(_call(self._node(node).cache.InvalidateTags, request))

    @rule(node=st.integers(0, 1), k=st.integers(0, 2), back=st.integers(0, 3))
    def replayed_delete(self, node: int, k: int, back: int) -> None:
        """A change feed redelivering an old delete (or the latest one)."""
        key = self.keys[k]
        if self.acked[key] == 0:
            return  # nothing acknowledged yet: a feed has nothing to replay
        version = max(1, self.acked[key] - back)
        request = cache_pb2.InvalidateRequest(namespace=NS, keys=[key], version=version)
        self._run(_call(self._node(node).cache.Invalidate, request))

    @rule(node=st.integers(0, 1), k=st.integers(0, 2), back=st.integers(1, 3))
    def lagging_load(self, node: int, k: int, back: int) -> None:
        """A load served by a lagging replica (an older row version): what it
        returns is the app's business, but the cache must not keep it."""
        key = self.keys[k]
        floor = self.acked[key]
        if floor <= back:
            return
        app = self.harness.app

        async def lagging() -> None:
            current = app.rows.get(key)
            app.rows[key] = b"%d" % (floor - back)
            try:
                request = cache_pb2.GetOrLoadRequest(namespace=NS, key=key)
                await self._node(node).cache.GetOrLoad(request, timeout=10)
            finally:
                if current is None:
                    app.rows.pop(key, None)
                else:
                    app.rows[key] = current
            for other in (0, 1):
                await self._read(other, key, False, floor)

        self._run(lagging())

    @rule(
        reader=st.integers(0, 1),
        writer=st.integers(0, 1),
        k=st.integers(0, 2),
        delete=st.booleans(),
        delay=st.sampled_from([0.0, 0.05, 0.2]),
    )
    def race(self, reader: int, writer: int, k: int, delete: bool, delay: float) -> None:
        """A (slow) load on one sidecar while a write lands through either."""
        key = self.keys[k]
        floor = self.acked[key]

        async def both() -> int:
            self.harness.app.load_delay = delay
            try:
                read = asyncio.ensure_future(self._read(reader, key, True, floor))
                await asyncio.sleep(delay / 2)
                written = await self._write(writer, key, delete)
                await read
                return written
            finally:
                self.harness.app.load_delay = 0.0

        self.acked[key] = self._run(both())


@pytest.fixture(params=["redis", "memcached"])
def model_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.mark.timeout(600)
async def test_no_read_returns_a_version_older_than_an_acknowledged_one(
    model_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    harness = Harness(model_url, fake_app, sidecar_for)
    # Write-behind flushes on its own too, so FlushWrites returns promptly.
    queue = {"write_behind": {"flush_interval": "50ms"}} if harness.queue else {}
    for _ in range(2):
        harness.nodes.append(
            await sidecar_for(model_url, loader=fake_app.target, writer=fake_app.target, **queue)
        )
    VersionsMachine.harness = harness
    await asyncio.to_thread(
        run_state_machine_as_test,
        VersionsMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        ),
    )
