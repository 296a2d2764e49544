"""Model-based test of write-behind: random interleavings against real Redis.

A hypothesis ``RuleBasedStateMachine`` drives two sidecars sharing one Redis
(and one fake app as the writer) through random sequences of: EnqueueWrite
puts and deletes over a few keys (single writes and bursts), writer outages,
a key the writer rejects for a while (its writes are dead-lettered),
ReplayDeadLetters, FlushWrites, pauses, and a sidecar crashing and coming
back (the other one takes its partitions over). Each example draws its own
configuration: partitions, batch_size (1 to 500), flush interval.

The model is the list of acknowledged writes per key. After every step, and
once more after the app is healed, every dead letter replayed and the queue
drained, the rules checked are the README's:

- per key, the writer never applies a write older than one it already applied
  for that key (duplicates of the same write are allowed: at-least-once);
- at the end each key's row equals its last acknowledged write, and every
  write the writer saw was acknowledged (nothing invented, nothing lost).

A crash here is in-process: the sidecar's flusher tasks are cancelled mid-call,
it is stopped with no grace and no drain, and its flush leases are left to
lapse, as a SIGKILLed process leaves them (``test_writes.py`` also SIGKILLs a
real ``cachecar serve`` process mid-flush). Examples are derandomized: CI
runs the same cases every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc
import pytest
import redis
from cachecar.v1 import cache_pb2, cache_pb2_grpc, writer_pb2
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from sidecar.server import Sidecar
from tests.appfixtures import FakeApp, make_settings, start_in_loop

#: Examples per run and steps per example: about 60 s on 2 cores (625 steps).
EXAMPLES = 25
STEPS = 25
KEYS = ["a", "b", "c"]
T = TypeVar("T")


class Harness:
    """What the machine drives, living on the test's event loop."""

    def __init__(self, redis_url: str, app: FakeApp) -> None:
        self.redis_url = redis_url
        self.app = app
        self.loop = asyncio.get_running_loop()

    def run(self, coro: Coroutine[Any, Any, T], within: float = 60) -> T:
        """From hypothesis' thread: run ``coro`` on the test's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(within)


class Node:
    """One sidecar and a stub to it."""

    def __init__(self, sidecar: Sidecar, channel: grpc.aio.Channel) -> None:
        self.sidecar = sidecar
        self.channel = channel
        self.cache = cache_pb2_grpc.CacheServiceStub(channel)


async def _start(harness: Harness, write_behind: dict[str, Any]) -> Node:
    settings_ = make_settings(
        harness.redis_url, None, writer=harness.app.target, write_behind=write_behind
    )
    return Node(*await start_in_loop(settings_))


async def _call(method: Any, request: Any, deadline: float) -> Any:
    """A unary call, made on the loop (gRPC calls cannot be created in hypothesis'
    thread); ``deadline`` is the gRPC deadline in seconds."""
    return await method(request, timeout=deadline)


async def _crash(node: Node) -> None:
    """As close to SIGKILL as an in-process sidecar gets: flush rounds cut
    mid-call, no drain, leases left to lapse, connections dropped."""
    await node.sidecar.flusher.abandon()
    await node.channel.close()
    await node.sidecar.stop(grace=0)


class WriteBehindMachine(RuleBasedStateMachine):
    harness: Harness  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[Node | None] = [None, None]
        #: The model: acknowledged writes per key, in acknowledgement order.
        self.acked: dict[str, list[tuple[str, bytes | None]]] = {k: [] for k in KEYS}
        self.order: dict[str, tuple[str, int]] = {}  # write_id -> (key, index)
        self.counter = 0
        self.config: dict[str, Any] = {}

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.harness.run(coro)

    @initialize(
        partitions=st.sampled_from([1, 2]),
        batch_size=st.sampled_from([1, 2, 5, 500]),
        flush_interval=st.sampled_from(["10ms", "50ms", "200ms"]),
    )
    def start(self, partitions: int, batch_size: int, flush_interval: str) -> None:
        app = self.harness.app
        app.rows.clear()
        app.writes.clear()
        app.write_fail_with = None
        app.reject_keys.clear()
        redis.Redis.from_url(self.harness.redis_url).flushall()
        self.config = {
            "partitions": partitions,
            "batch_size": batch_size,
            "flush_interval": flush_interval,
            "retry_backoff": "10ms",
            "max_backoff": "100ms",
            "max_attempts": 2,
            "owner_ttl": "400ms",
        }
        self.nodes = [self._run(_start(self.harness, self.config)) for _ in range(2)]

    # -- rules ---------------------------------------------------------------

    def _enqueue(self, node: int, key: str, delete: bool) -> None:
        running = self.nodes[node]
        if running is None:
            return
        self.counter += 1
        value = None if delete else str(self.counter).encode()
        request = cache_pb2.EnqueueWriteRequest(
            namespace="items",
            key=key,
            value=value or b"",
            kind=writer_pb2.WRITE_KIND_DELETE if delete else writer_pb2.WRITE_KIND_PUT,
        )
        response = self._run(_call(running.cache.EnqueueWrite, request, 10))
        self.order[response.write_id] = (key, len(self.acked[key]))
        self.acked[key].append((response.write_id, value))

    @rule(node=st.integers(0, 1), key=st.sampled_from(KEYS), delete=st.booleans())
    def enqueue(self, node: int, key: str, delete: bool) -> None:
        self._enqueue(node, key, delete)

    @rule(node=st.integers(0, 1), key=st.sampled_from(KEYS), count=st.integers(2, 8))
    def burst(self, node: int, key: str, count: int) -> None:
        for _ in range(count):
            self._enqueue(node, key, delete=False)

    @rule()
    def writer_down(self) -> None:
        self.harness.app.write_fail_with = grpc.StatusCode.UNAVAILABLE

    @rule()
    def writer_up(self) -> None:
        self.harness.app.write_fail_with = None

    @rule(key=st.sampled_from(KEYS))
    def writer_rejects_for_a_while(self, key: str) -> None:
        """The app rejects ``key`` until what is queued of it is dead-lettered
        (max_attempts 2, fast retries) or half a second has passed."""
        app = self.harness.app
        app.reject_keys.add(key)
        self._run(asyncio.sleep(0.5))
        app.reject_keys.discard(key)

    @rule(node=st.integers(0, 1))
    def replay(self, node: int) -> None:
        running = self.nodes[node]
        if running is not None:
            request = cache_pb2.ReplayDeadLettersRequest(namespace="items")
            self._run(_call(running.cache.ReplayDeadLetters, request, 10))

    @rule(node=st.integers(0, 1))
    def flush(self, node: int) -> None:
        running = self.nodes[node]
        if running is not None:
            request = cache_pb2.FlushWritesRequest(namespace="items")
            try:
                self._run(_call(running.cache.FlushWrites, request, 1))
            except grpc.aio.AioRpcError as exc:
                # FlushWrites answers before its deadline when it can; on a
                # loaded machine the answer may arrive after it. Either way the
                # flush only hurries the flusher: what this model checks (order,
                # nothing lost) is verified at teardown, whatever the timing.
                if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise

    @rule(seconds=st.sampled_from([0.0, 0.05, 0.3]))
    def pause(self, seconds: float) -> None:
        self._run(asyncio.sleep(seconds))

    @rule(node=st.integers(0, 1))
    def crash_and_restart(self, node: int) -> None:
        running = self.nodes[node]
        if running is not None:
            self._run(_crash(running))
        self.nodes[node] = self._run(_start(self.harness, self.config))

    # -- what must hold ------------------------------------------------------

    @invariant()
    def never_older_after_newer(self) -> None:
        applied: dict[str, int] = {}
        for w in self.harness.app.writes:
            assert w.write_id in self.order, f"the writer got a write nobody made: {w.write_id}"
            key, index = self.order[w.write_id]
            assert index >= applied.get(key, -1), (
                f"{key}: write #{index} applied after #{applied[key]} (config {self.config})"
            )
            applied[key] = index

    def teardown(self) -> None:
        if not self.config:
            return
        try:
            self._run(self._heal_and_drain())
            self.never_older_after_newer()
            rows = self.harness.app.rows
            for key, writes in self.acked.items():
                if writes:
                    assert rows.get(key) == writes[-1][1], (
                        f"{key}: database has {rows.get(key)!r}, last acknowledged "
                        f"{writes[-1][1]!r} (config {self.config})"
                    )
        finally:
            for running in self.nodes:
                if running is not None:
                    self._run(running.channel.close())
                    self._run(running.sidecar.stop(grace=0.5))

    async def _heal_and_drain(self) -> None:
        """The app is fixed; every dead letter replayed; the queue empty."""
        app = self.harness.app
        app.write_fail_with = None
        app.reject_keys.clear()
        node = next(n for n in self.nodes if n is not None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            await node.cache.ReplayDeadLetters(
                cache_pb2.ReplayDeadLettersRequest(namespace="items"), timeout=10
            )
            flushed = await node.cache.FlushWrites(
                cache_pb2.FlushWritesRequest(namespace="items"), timeout=5
            )
            state = await node.cache.GetWriteQueue(
                cache_pb2.GetWriteQueueRequest(namespace="items"), timeout=5
            )
            if flushed.pending_count == 0 and state.dead_letter_count == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"queue not drained within 30 s (config {self.config})")


@pytest.mark.timeout(600)
async def test_write_behind_keeps_per_key_order_and_loses_nothing(
    redis_url: str, fake_app: FakeApp
) -> None:
    WriteBehindMachine.harness = Harness(redis_url, fake_app)
    await asyncio.to_thread(
        run_state_machine_as_test,
        WriteBehindMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            # No shrinking: each step runs real sidecars, and a shrink of a
            # 25-step failure runs for many minutes; the failing run prints its
            # steps as they were.
            phases=[Phase.explicit, Phase.generate],
        ),
    )
