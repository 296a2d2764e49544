"""End-to-end tracing: a real Jaeger v2 holds the whole GetOrLoad trace, read back through its APIs.

Run by ``make jaeger-e2e`` (``CACHECAR_JAEGER_E2E=1``), not by the normal suite:
it needs the Jaeger (v2.13.0, the manifests' image) that ``scripts/jaeger.sh
install`` builds from the Go module proxy (minutes the first time). Jaeger runs
as a child on free loopback ports with in-memory storage and is killed at the end.

``test_jaeger_listens_on_loopback_only`` checks Jaeger listens on 127.0.0.1 at
the ports given and nowhere else; ``test_jaeger_receives_an_sdk_span`` the plumbing alone (OTLP in,
both query APIs out); ``test_getorload_miss_is_one_trace_in_jaeger`` is the real
check: a traced app calls GetOrLoad on a sidecar process, the miss goes to the
app's loader, and Jaeger holds one tree::

    e2e-app   cachecar.v1.CacheService/GetOrLoad   client
    cachecar    cachecar.v1.CacheService/GetOrLoad   server
    cachecar      GET, LEASE, GET, FILL              client (db.system=redis)
    cachecar      cachecar.v1.LoaderService/Load     client
    e2e-app         app.Load                         server
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from tests.appfixtures import FakeApp
from tests.e2e.jaeger import Jaeger, Span, running_jaeger
from tests.test_process import spawn_sidecar, write_config

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("CACHECAR_JAEGER_E2E") != "1",
        reason="needs a real Jaeger: run `make jaeger-e2e` (sets CACHECAR_JAEGER_E2E=1)",
    ),
    pytest.mark.slow,
    # Fixture setup may build Jaeger (bounded by the install step's own timeouts);
    # the test bodies keep the usual limit.
    pytest.mark.timeout(120, func_only=True),
]

GET_OR_LOAD = "cachecar.v1.CacheService/GetOrLoad"
LOAD = "cachecar.v1.LoaderService/Load"
APP = "e2e-app"
KEY, VALUE = "sku-1", b'{"secret-value": 1}'
APIS = ("v3", "v1")


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    with running_jaeger(tmp_path_factory.mktemp("jaeger") / "jaeger.log") as running:
        yield running


def _random_ids() -> tuple[int, int]:
    """A W3C trace id (16 bytes) and parent span id (8 bytes), both non-zero."""
    return random.getrandbits(128) | 1, random.getrandbits(64) | 1


def _app_tracing(jaeger: Jaeger) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": APP}), shutdown_on_exit=False
    )
    exporter = OTLPSpanExporter(endpoint=jaeger.otlp_endpoint, insecure=True)
    # Batched: the app's loader span ends inside the test's event loop, which
    # must not wait on an export.
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    return provider


def _one(spans: list[Span], service: str, name: str) -> Span:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, (service, name, spans)
    return found[0]


def _tree_complete(spans: list[Span]) -> bool:
    have = {(s.service, s.name) for s in spans}
    wanted = {(APP, GET_OR_LOAD), ("cachecar", GET_OR_LOAD), ("cachecar", LOAD), (APP, "app.Load")}
    backend = [s.name for s in spans if "db.system" in s.attributes]
    return wanted <= have and backend.count("GET") == 2 and {"LEASE", "FILL"} <= set(backend)


def _assert_getorload_tree(spans: list[Span], trace_id: int, loader: str) -> None:
    """The shape the README's trace section describes, whichever API it came from."""
    assert {s.trace_id for s in spans} == {trace_id}

    caller = _one(spans, APP, GET_OR_LOAD)
    assert caller.kind == "client"
    assert caller.parent_id is None

    server = _one(spans, "cachecar", GET_OR_LOAD)
    assert server.kind == "server"
    assert server.parent_id == caller.span_id  # the caller's traceparent, continued
    a = server.attributes
    assert a["rpc.system"] == "grpc"
    assert a["rpc.method"] == "GetOrLoad"
    assert a["cachecar.namespace"] == "items"
    assert a["cachecar.hit"] is False
    assert a["cachecar.source"] == "LOADER"
    assert a["cachecar.found"] is True
    assert a["rpc.grpc.status_code"] == 0
    assert "cachecar.key" not in a  # keys only where a namespace opts in

    backend = [s for s in spans if "db.system" in s.attributes]
    # The miss, the lease, the re-read under the lease, the store of the loaded value.
    assert sorted(s.name for s in backend) == ["FILL", "GET", "GET", "LEASE"]
    for span in backend:
        assert span.service == "cachecar"
        assert span.kind == "client"
        assert span.parent_id == server.span_id
        assert span.attributes["db.system"] == "redis"
        assert span.attributes["db.operation.name"] == span.name
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.attributes["server.port"] > 0
        assert span.attributes["cachecar.backend"] == "main"

    load = _one(spans, "cachecar", LOAD)
    assert load.kind == "client"
    assert load.parent_id == server.span_id
    assert load.attributes["rpc.method"] == "Load"
    assert load.attributes["server.address"] == loader
    assert load.attributes["cachecar.namespace"] == "items"
    assert load.attributes["rpc.grpc.status_code"] == 0

    app_load = _one(spans, APP, "app.Load")
    assert app_load.kind == "server"
    assert app_load.parent_id == load.span_id  # cachecar passed the context to the app

    assert len(spans) == 8, spans  # nothing else: no Jaeger self-traces, no stray spans


def test_jaeger_listens_on_loopback_only(jaeger: Jaeger) -> None:
    # scripts/jaeger.yaml's four listeners, on the ports given, and nothing else.
    assert jaeger.listeners() == {("127.0.0.1", port) for port in jaeger.ports.values()}


@pytest.mark.parametrize("api", APIS)
def test_jaeger_receives_an_sdk_span(jaeger: Jaeger, api: str) -> None:
    trace_id, parent_id = _random_ids()
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-probe"}))
    exporter = OTLPSpanExporter(endpoint=jaeger.otlp_endpoint, insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    remote_parent = NonRecordingSpan(
        SpanContext(trace_id, parent_id, is_remote=True, trace_flags=TraceFlags(1))
    )
    try:
        with provider.get_tracer("e2e").start_as_current_span(
            "probe",
            context=trace.set_span_in_context(remote_parent),
            kind=SpanKind.PRODUCER,
            attributes={"probe.count": 3},
        ):
            pass
    finally:
        provider.shutdown()

    (span,) = jaeger.wait_for_trace(api, trace_id, bool).spans
    assert (span.service, span.name, span.kind) == ("e2e-probe", "probe", "producer")
    assert span.trace_id == trace_id
    assert span.parent_id == parent_id
    assert span.attributes["probe.count"] == 3


async def test_getorload_miss_is_one_trace_in_jaeger(
    jaeger: Jaeger, redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    app_tracing = _app_tracing(jaeger)
    fake_app.tracer = app_tracing.get_tracer(APP)
    fake_app.rows[KEY] = VALUE
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main", "loader": fake_app.target}},
        },
    )
    proc, address = spawn_sidecar(
        ["serve", "--config", str(config)],
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_endpoint,
            "OTEL_SERVICE_NAME": "cachecar",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    failure: AssertionError | None = None
    try:
        tracer = app_tracing.get_tracer(APP)
        with tracer.start_as_current_span(GET_OR_LOAD, kind=SpanKind.CLIENT) as caller:
            metadata: dict[str, str] = {}
            propagate.inject(metadata)  # the W3C traceparent of the caller's span
            async with grpc.aio.insecure_channel(address) as channel:
                reply = await cache_pb2_grpc.CacheServiceStub(channel).GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=KEY),
                    metadata=tuple(metadata.items()),
                    timeout=10,
                )
        assert reply.value == VALUE
        assert reply.source == cache_pb2.SOURCE_LOADER
        assert fake_app.loads == [("items", KEY)]
        assert await asyncio.to_thread(app_tracing.force_flush)  # the app's two spans

        trace_id = caller.get_span_context().trace_id
        for api in APIS:
            reading = await asyncio.to_thread(jaeger.wait_for_trace, api, trace_id, _tree_complete)
            try:
                _assert_getorload_tree(reading.spans, trace_id, fake_app.target)
            except AssertionError as exc:
                exc.add_note(f"read through the {api} API")
                raise
            # Values never leave the sidecar; keys only where a namespace opts in.
            assert VALUE not in reading.raw
            assert KEY.encode() not in reading.raw
    except AssertionError as exc:
        failure = exc
        raise
    finally:
        await asyncio.to_thread(app_tracing.shutdown)
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if failure is not None:
            failure.add_note(f"sidecar stderr (tail):\n{err[-3000:]}")
