"""Property tests: no request, however malformed, gets anything but a cachecar error.

Every RPC of every cachecar service is called with requests generated from
its descriptor (``tests/strategies.py``): adversarial names and keys, values
around the limits, extreme and invalid durations, NaN/inf scores, unknown
enum values, missing fields, unknown namespaces; and, hand-encoded, string
fields holding invalid UTF-8 and plain garbage. Each call must either succeed
or fail with a status a caller can act on, carrying exactly one cachecar
ErrorInfo with a reason; never INTERNAL/UNKNOWN, never a hang (every call has
a deadline, and running into it fails the property). Afterwards the sidecar
must still answer a plain Get.

One sidecar per test, with namespaces on Redis and Memcached side by side;
hypothesis runs in a worker thread (it cannot drive an event loop) and hands
each call to the test's loop. Examples are derandomized, so CI is
reproducible; the example counts below add up to the suite's per-run budget.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import pytest
from cachecar.v1 import cache_pb2, leaderboard_pb2, pubsub_pb2, session_pb2
from google.protobuf.descriptor import MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.config import Settings, settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests import strategies as gen
from tests.appfixtures import FakeApp, error_info

# Statuses a caller can act on. UNAVAILABLE and DEADLINE_EXCEEDED are out:
# every dependency is up, so either one means the sidecar broke or hung.
ACCEPTABLE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
CALL_TIMEOUT = 10.0
T = TypeVar("T")

CACHE = cache_pb2.DESCRIPTOR.services_by_name["CacheService"]
SESSIONS = session_pb2.DESCRIPTOR.services_by_name["SessionService"]
BOARDS = leaderboard_pb2.DESCRIPTOR.services_by_name["LeaderboardService"]
PUBSUB = pubsub_pb2.DESCRIPTOR.services_by_name["PubSubService"]
SERVICES = [CACHE, SESSIONS, BOARDS, PUBSUB]

# Examples per run, per test: 10,400 calls in all (the budget is >= 10,000),
# about 40 s on 2 cores.
EXAMPLES = {
    "cache": 1800,  # per backend (Redis, Memcached, Redis Cluster)
    "sessions": 1500,
    "boards": 1500,
    "publish": 800,
    "subscribe": 500,
    "malformed": 1500,
    "garbage": 1000,
}

REDIS_NS = ["items", "plain"]
MEMCACHED_NS = ["mc", "mc-plain"]
CLUSTER_NS = ["cl"]
NAMESPACES = REDIS_NS + MEMCACHED_NS


def _settings(redis_url: str, memcached_url: str, cluster_url: str, app: str) -> Settings:
    limits = {"max_key_length": 64, "max_value_size": "1KiB", "max_batch_keys": 8}
    callbacks = {"loader": app, "writer": app, "loader_timeout": "2s", "writer_timeout": "2s"}
    return settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {"redis": redis_url, "memcached": memcached_url, "cluster": cluster_url},
            "namespaces": {
                "items": {
                    "backend": "redis",
                    **limits,
                    **callbacks,
                    "write_behind": {"flush_interval": "50ms", "max_attempts": 1},
                    "boards": {
                        "daily": {"window": "daily", "retain": 2},
                        "fast": {"window": "1h", "retain": 3, "order": "asc"},
                    },
                    "channels": {
                        "durable": ["audit", "log.*"],
                        "max_channel_length": 64,
                        "max_channels_per_subscription": 4,
                    },
                },
                "plain": {"backend": "redis"},
                "mc": {"backend": "memcached", **limits, **callbacks},
                "mc-plain": {"backend": "memcached"},
                "cl": {
                    "backend": "cluster",
                    **limits,
                    **callbacks,
                    "write_behind": {"flush_interval": "50ms", "max_attempts": 1},
                },
            },
        }
    )


@dataclass
class Target:
    """The running sidecar and a raw-bytes callable per method."""

    sidecar: Sidecar
    channel: grpc.aio.Channel
    loop: asyncio.AbstractEventLoop

    def unary(self, method: MethodDescriptor) -> Any:
        return self.channel.unary_unary(_path(method), _identity, _identity)

    def stream(self, method: MethodDescriptor) -> Any:
        return self.channel.unary_stream(_path(method), _identity, _identity)

    def run(self, check: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """From hypothesis' thread: run one example on the test's loop."""
        return asyncio.run_coroutine_threadsafe(check(), self.loop).result(CALL_TIMEOUT * 3)


def _identity(data: bytes) -> bytes:
    return data


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


@pytest.fixture
async def target(
    redis_url: str, memcached_url: str, cluster_url: str, fake_app: FakeApp
) -> AsyncIterator[Target]:
    fake_app.rows.update({"k": b"v", "\x00": b"nul", "{a}": b"tag"})
    sidecar = Sidecar(
        _settings(redis_url, memcached_url, cluster_url, fake_app.target), telemetry=Telemetry()
    )
    await sidecar.start()
    channel = grpc.aio.insecure_channel(sidecar.address)
    yield Target(sidecar, channel, asyncio.get_running_loop())
    await channel.close()
    await sidecar.stop(grace=1.0)


def check_error(exc: grpc.aio.AioRpcError, what: str) -> str:
    """A cachecar error: an actionable code, one ErrorInfo with a reason, a message."""
    assert exc.code() in ACCEPTABLE, f"{what}: {exc.code()} {exc.details()}"
    info = error_info(exc)
    assert info.reason, f"{what}: ErrorInfo without a reason: {exc.details()}"
    assert exc.details(), f"{what}: {exc.code()} without a message"
    return str(info.reason)


_READ_ONE = st.just(1)


class Call:
    """One generated call: a method, its request bytes, responses to read (streams)."""

    # Not a dataclass: hypothesis pretty-prints those field by field, and a
    # payload can be megabytes; this __repr__ keeps failing cases readable.
    __slots__ = ("method", "payload", "read")

    def __init__(self, method: MethodDescriptor, payload: bytes, read: int = 1) -> None:
        self.method = method
        self.payload = payload
        self.read = read

    def __repr__(self) -> str:
        shown = self.payload[:300]
        more = f"...({len(self.payload)} bytes)" if len(self.payload) > 300 else ""
        return f"Call({self.method.full_name}, {shown!r}{more}, read={self.read})"


async def call(target: Target, case: Call) -> str:
    """Make the call; "OK" or the reason of its (checked) error.

    A server stream is read ``case.read`` responses deep, then cancelled
    mid-flight: 0 cancels before the stream is even set up.
    """
    what = case.method.full_name
    if not case.method.server_streaming:
        try:
            await target.unary(case.method)(case.payload, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            return check_error(exc, what)
        return "OK"
    stream = target.stream(case.method)(case.payload, timeout=CALL_TIMEOUT)
    try:
        for _ in range(case.read):
            if await stream.read() is grpc.aio.EOF:
                break
    except grpc.aio.AioRpcError as exc:
        return check_error(exc, what)
    finally:
        stream.cancel()
    return "OK"


def calls(
    methods: list[MethodDescriptor],
    payloads: Callable[[MethodDescriptor], st.SearchStrategy[bytes]],
    reads: st.SearchStrategy[int] = _READ_ONE,
) -> st.SearchStrategy[Call]:
    """Calls of any of ``methods``, with request bytes from ``payloads(method)``."""
    by_method = {m.full_name: payloads(m) for m in methods}
    return st.sampled_from(methods).flatmap(
        lambda m: st.builds(Call, st.just(m), by_method[m.full_name], reads)
    )


def typed(hints: gen.Hints) -> Callable[[MethodDescriptor], st.SearchStrategy[bytes]]:
    """Well-formed requests (as the generated stubs would send them)."""
    # The namespace is always set (an empty or unknown one is still generated):
    # a request without one never gets past the first check.
    always = frozenset({"namespace"})
    return lambda m: gen.requests(m.input_type, hints, always).map(lambda r: r.SerializeToString())


async def check_property(
    target: Target, cases: st.SearchStrategy[Call], examples: int, expect: str | None = None
) -> None:
    """Every case gets a cachecar status (``expect``, if given); then a plain Get works."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases on every run: CI is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def prop(case: Call) -> None:
        outcome = target.run(lambda: call(target, case))
        outcomes[case.method.name, outcome] += 1
        assert expect is None or outcome == expect, f"{case}: {outcome}, not {expect}"

    outcomes: Counter[tuple[str, str]] = Counter()
    await asyncio.to_thread(prop)
    # Not vacuous: some requests got past every check (a broken strategy that
    # only produced unknown namespaces would otherwise pass unnoticed).
    assert expect is not None or any(o == "OK" for _, o in outcomes), outcomes
    # The property's last word: the sidecar still serves a plain Get, on every backend.
    get = target.channel.unary_unary(
        "/cachecar.v1.CacheService/Get",
        cache_pb2.GetRequest.SerializeToString,
        cache_pb2.GetResponse.FromString,
    )
    for ns in ("items", "mc", "cl"):
        await get(cache_pb2.GetRequest(namespace=ns, key="k"), timeout=CALL_TIMEOUT)


# -- hints: values that get past the first check -------------------------------

_text = gen.adversarial_text()


def _often(*values: Any, odds: int = 2) -> st.SearchStrategy[Any]:
    """One of ``values`` ``odds`` times out of ``odds + 1``, else adversarial text."""
    # Not st.one_of(same, same, other): hypothesis may merge the repeats.
    known = st.sampled_from(values)
    return st.integers(0, odds).flatmap(lambda i: _text if i == 0 else known)


def namespaces(pool: list[str]) -> st.SearchStrategy[str]:
    # Mostly declared ones, so that the rest of the request is checked too.
    return _often(*pool, odds=5)


KEYS = ["k", "\x00", "{a}", "a b", "é", "x\r\nset y 0 0 1"]
MEMBERS = ["alice", "bob", "{t}", " "]
CHANNELS = ["audit", "log.a", "news", "{c}", "a b"]
_STREAM_IDS = ["0-0", "0-1", "1718000000000-42", "18446744073709551615-18446744073709551615"]
PUBSUB_HINTS = {
    "namespace": namespaces(NAMESPACES),
    "channel": _often(*CHANNELS),
    "channels": st.lists(_often(*CHANNELS), max_size=6),
    "patterns": st.lists(_often("log.*", "*", "[", "\\", "a\\"), max_size=4),
    "resume_ids": st.dictionaries(
        _often(*CHANNELS), _often(*_STREAM_IDS, "18446744073709551616-0", "-1", "1-"), max_size=3
    ),
}
ALL_METHODS = [m for service in SERVICES for m in service.methods]
_WIRE_HINTS = {"namespace": namespaces(NAMESPACES)}


# -- the properties -------------------------------------------------------------


@pytest.mark.parametrize("backend", ["redis", "memcached", "cluster"])
async def test_cache_service_answers_any_request_with_a_cachecar_status(
    target: Target, backend: str
) -> None:
    hints = {
        "namespace": namespaces(
            {"redis": REDIS_NS, "memcached": MEMCACHED_NS, "cluster": CLUSTER_NS}[backend]
        ),
        "key": _often(*KEYS),
        "keys": st.lists(_often(*KEYS), max_size=10),
    }
    await check_property(target, calls(list(CACHE.methods), typed(hints)), EXAMPLES["cache"])


async def test_session_service_answers_any_request_with_a_cachecar_status(
    target: Target,
) -> None:
    create = target.channel.unary_unary(
        "/cachecar.v1.SessionService/CreateSession",
        session_pb2.CreateSessionRequest.SerializeToString,
        session_pb2.CreateSessionResponse.FromString,
    )
    ids = []
    for ns in ("items", "mc"):
        reply = await create(
            session_pb2.CreateSessionRequest(namespace=ns, subject="alice", data={"a": b"1"}),
            timeout=CALL_TIMEOUT,
        )
        ids.append(reply.session_id)
    hints = {
        "namespace": namespaces(NAMESPACES),
        "session_id": _often(*ids, "A" * 35, "-" * 35, "a" * 34, "é" * 35),
        "subject": _often("alice", "bob"),
        "set_fields": st.dictionaries(_often("a", "b"), gen.adversarial_bytes(huge=False)),
        "delete_fields": st.lists(_often("a", "c"), max_size=3),
        "expected_version": st.one_of(st.sampled_from([0, 1, 2, 2**64 - 1]), st.integers(0, 9)),
    }
    cases = calls(list(SESSIONS.methods), typed(hints))
    await check_property(target, cases, EXAMPLES["sessions"])


async def test_leaderboard_service_answers_any_request_with_a_cachecar_status(
    target: Target,
) -> None:
    hints = {
        "namespace": namespaces(NAMESPACES),
        "board": _often("scores", "daily", "fast"),
        "member": _often(*MEMBERS),
        "counter": _often("hits", "{t}"),
        "windows_ago": st.sampled_from([0, 1, 2, 3, 4, 2**32 - 1]),
    }
    await check_property(target, calls(list(BOARDS.methods), typed(hints)), EXAMPLES["boards"])


async def test_publish_answers_any_request_with_a_cachecar_status(target: Target) -> None:
    cases = calls([PUBSUB.methods_by_name["Publish"]], typed(PUBSUB_HINTS))
    await check_property(target, cases, EXAMPLES["publish"])


async def test_subscribe_answers_any_request_and_survives_cancellation(target: Target) -> None:
    cases = calls([PUBSUB.methods_by_name["Subscribe"]], typed(PUBSUB_HINTS), st.integers(0, 1))
    await check_property(target, cases, EXAMPLES["subscribe"])


async def test_invalid_utf8_in_any_string_field_is_request_malformed(target: Target) -> None:
    cases = calls(ALL_METHODS, lambda m: gen.with_invalid_utf8(m.input_type, _WIRE_HINTS))
    await check_property(target, cases, EXAMPLES["malformed"], expect="REQUEST_MALFORMED")


async def test_garbage_bytes_get_a_cachecar_status(target: Target) -> None:
    cases = calls(ALL_METHODS, lambda m: gen.garbage(m.input_type, _WIRE_HINTS))
    await check_property(target, cases, EXAMPLES["garbage"])


async def test_an_invalid_utf8_key_is_invalid_argument(target: Target) -> None:
    # GetOrLoadRequest{namespace="items", key=b"\xff"}, encoded by hand: the
    # generated stubs refuse to send it, other languages' clients may not.
    payload = b"\x0a\x05items" + b"\x12\x01\xff"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await target.unary(CACHE.methods_by_name["GetOrLoad"])(payload, timeout=CALL_TIMEOUT)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == "REQUEST_MALFORMED"
    details = caught.value.details() or ""
    assert "cachecar.v1.CacheService/GetOrLoad" in details
    assert "UTF-8" in details
