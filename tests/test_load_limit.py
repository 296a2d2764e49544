"""limits.max_inflight_loads holds under every interleaving a caller can produce.

A load counts against the limit from the moment it starts until it ends at
the app, whoever still waits for it: a caller that cancels, an Invalidate or
Set that makes the next caller start a new load, a deadline that runs out.
The app (a real gRPC LoaderService) counts the loads open at once; that
count must never exceed the limit.

The property test drives random sequences of GetOrLoad (with and without a
deadline, cancelled early or not), Invalidate, Set and loader speed changes
against one sidecar on real Redis. hypothesis runs in a worker thread and
hands each example to the test's event loop (as in test_properties.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.config import settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp, error_info, wait_until

LIMIT = 2
#: Examples per run (about 20 s on 2 cores): each is up to 24 steps.
EXAMPLES = 40
KEYS = ["k0", "k1", "k2"]  # more keys than the limit


class Target:
    def __init__(self, sidecar: Sidecar, channel: grpc.aio.Channel, app: FakeApp) -> None:
        self.sidecar = sidecar
        self.cache = cache_pb2_grpc.CacheServiceStub(channel)
        self.app = app
        self.loop = asyncio.get_running_loop()
        self.calls: set[asyncio.Task[Any]] = set()


@pytest.fixture
async def target(redis_url: str, fake_app: FakeApp) -> AsyncIterator[Target]:
    config = {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            "items": {"backend": "main", "loader": fake_app.target, "loader_timeout": "500ms"}
        },
        "limits": {"max_inflight_loads": LIMIT},
    }
    sidecar = Sidecar(settings_from_mapping(config), telemetry=Telemetry())
    await sidecar.start()
    channel = grpc.aio.insecure_channel(sidecar.address)
    yield Target(sidecar, channel, fake_app)
    await channel.close()
    await sidecar.stop(grace=0.5)


async def _get(
    target: Target, key: str, deadline: float | None, cancel_after: float | None
) -> None:
    call = target.cache.GetOrLoad(
        cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=deadline
    )
    if cancel_after is not None:
        target.loop.call_later(cancel_after, call.cancel)
    code, reason = grpc.StatusCode.OK, ""
    try:
        await call
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
        reason = error_info(exc).reason if code == grpc.StatusCode.RESOURCE_EXHAUSTED else ""
    # Past the limit: a clean RESOURCE_EXHAUSTED. Otherwise the caller's own
    # deadline or cancel, or the loader's timeout.
    assert code in _ENDINGS, (code, reason)
    assert code != grpc.StatusCode.RESOURCE_EXHAUSTED or reason == "LOADS_EXHAUSTED"


_ENDINGS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


_step = st.one_of(
    st.tuples(
        st.just("get"),
        st.sampled_from(KEYS),
        st.sampled_from([None, 0.05, 0.3]),
        st.sampled_from([None, 0.005, 0.01, 0.05]),
    ),
    st.tuples(st.just("invalidate"), st.sampled_from(KEYS)),
    st.tuples(st.just("set"), st.sampled_from(KEYS)),
    st.tuples(st.just("sleep"), st.sampled_from([0.0, 0.01, 0.03])),
    st.tuples(st.just("loader"), st.sampled_from([0.0, 0.02, 0.2, 10.0])),
)


async def _run(target: Target, delay: float, steps: list[tuple[Any, ...]]) -> None:
    app = target.app
    app.max_open_loads = 0
    app.load_delay = delay
    for step in steps:
        if step[0] == "get":
            task = asyncio.ensure_future(_get(target, step[1], step[2], step[3]))
            target.calls.add(task)
            task.add_done_callback(target.calls.discard)
            await asyncio.sleep(0.002)  # let the call reach the sidecar
        elif step[0] == "invalidate":
            await target.cache.Invalidate(
                cache_pb2.InvalidateRequest(namespace="items", keys=[step[1]])
            )
        elif step[0] == "set":
            await target.cache.Set(cache_pb2.SetRequest(namespace="items", key=step[1], value=b"s"))
        elif step[0] == "sleep":
            await asyncio.sleep(step[1])
        else:
            app.load_delay = step[1]
        assert app.max_open_loads <= LIMIT, f"{app.max_open_loads} loads open at the app"
    # Let every call and load end (the loader timeout ends a hung one), then
    # check once more: a load that kept running after its last waiter left counts.
    await asyncio.gather(*target.calls, return_exceptions=True)
    await wait_until(lambda: app.open_loads == 0, within=5)
    assert app.max_open_loads <= LIMIT, f"{app.max_open_loads} loads open at the app"
    await target.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=KEYS))


@pytest.mark.timeout(300)
async def test_open_loads_never_exceed_the_limit(target: Target) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: CI is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from([0.05, 0.2, 10.0]), st.lists(_step, min_size=1, max_size=24))
    def prop(delay: float, steps: list[tuple[Any, ...]]) -> None:
        asyncio.run_coroutine_threadsafe(_run(target, delay, steps), target.loop).result(60)

    await asyncio.to_thread(prop)


async def test_cancel_then_invalidate_cannot_pile_up_loads(target: Target) -> None:
    # The probe's loop: a hanging loader, GetOrLoad without a deadline cancelled
    # after 10 ms, then Invalidate of the key. Before the fix the app saw one
    # more open load per iteration (1,500 after 1,500 iterations, limit 20).
    target.app.load_delay = 10.0
    for _ in range(60):
        call = target.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="hot"))
        code = grpc.StatusCode.OK
        try:
            await asyncio.wait_for(asyncio.shield(call), 0.01)
        except TimeoutError:
            call.cancel()
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
        assert code in (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED), code
        await target.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=["hot"]))
        assert target.app.open_loads <= LIMIT
    assert target.app.max_open_loads <= LIMIT
    assert target.sidecar.cache.loads_in_flight <= LIMIT
