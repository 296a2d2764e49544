"""Telemetry end to end: a real OTLP collector in the test, Prometheus scrapes, logs.

The collector is a real gRPC ``TraceService/Export`` server; the sidecar's
tracing is configured only through ``OTEL_*`` environment variables, exactly
as in production. The fake app continues cachecar's trace context in its own
SERVER span, as a traced app would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client.parser import text_string_to_metric_families

from sidecar.devmode import RedisServer, free_port
from sidecar.telemetry import JsonFormatter, Metrics, Telemetry, Tracing
from tests.appfixtures import FakeApp, SidecarFactory, wait_until

VALUE = b"VALUE-MARKER-" + secrets.token_hex(8).encode()
KEY = "KEY-MARKER-" + secrets.token_hex(8)


@dataclass
class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """A real OTLP trace endpoint that keeps every export."""

    requests: list[trace_service_pb2.ExportTraceServiceRequest] = field(default_factory=list)
    endpoint: str = ""

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[tuple[str, trace_pb2.Span]]:
        """(service.name, span) for every span received."""
        out: list[tuple[str, trace_pb2.Span]] = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope in resource_spans.scope_spans:
                    out.extend((service, span) for span in scope.spans)
        return out


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    collector = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    collector.endpoint = f"http://127.0.0.1:{port}"
    await server.start()
    yield collector
    await server.stop(None)


def _attrs(span: trace_pb2.Span) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in span.attributes:
        kind = a.value.WhichOneof("value")
        out[a.key] = getattr(a.value, kind) if kind else None
    return out


def _traceparent() -> tuple[str, bytes, bytes]:
    trace_id, span_id = secrets.token_bytes(16), secrets.token_bytes(8)
    return f"00-{trace_id.hex()}-{span_id.hex()}-01", trace_id, span_id


async def _flush(telemetry: Telemetry) -> None:
    provider = telemetry.tracing.provider
    assert provider is not None
    # The exporter calls back into this event loop's collector: flush off-loop.
    await asyncio.to_thread(provider.force_flush)


def _env_tracing(monkeypatch: pytest.MonkeyPatch, endpoint: str, **extra: str) -> Telemetry:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "cachecar-under-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return Telemetry.from_env()


@pytest.mark.parametrize("kind", ["redis", "memcached"])
async def test_one_trace_from_client_to_the_apps_loader(
    kind: str,
    request: pytest.FixtureRequest,
    collector: Collector,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend_url: str = request.getfixturevalue(f"{kind}_url")
    telemetry = _env_tracing(monkeypatch, collector.endpoint)
    app_provider = TracerProvider(
        resource=Resource.create({"service.name": "fake-app"}), shutdown_on_exit=False
    )
    app_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.endpoint, insecure=True))
    )
    fake_app.tracer = app_provider.get_tracer("fake-app")
    fake_app.rows[KEY] = VALUE
    sc = await sidecar_for(backend_url, loader=fake_app.target, telemetry=telemetry)

    traceparent, trace_id, client_span_id = _traceparent()
    response = await sc.cache.GetOrLoad(
        cache_pb2.GetOrLoadRequest(namespace="items", key=KEY),
        metadata=(("traceparent", traceparent),),
    )
    assert response.value == VALUE
    await _flush(telemetry)
    await asyncio.to_thread(app_provider.shutdown)

    spans = collector.spans()
    assert {s.trace_id for _, s in spans} == {trace_id}
    by_name = {s.name: (service, s) for service, s in spans}
    service, server = by_name["cachecar.v1.CacheService/GetOrLoad"]
    assert service == "cachecar-under-test"
    assert server.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert server.parent_span_id == client_span_id
    attrs = _attrs(server)
    assert attrs["rpc.system"] == "grpc"
    assert attrs["rpc.method"] == "GetOrLoad"
    assert attrs["cachecar.namespace"] == "items"
    assert attrs["cachecar.hit"] is False
    assert attrs["cachecar.source"] == "LOADER"
    assert attrs["rpc.grpc.status_code"] == 0
    assert "cachecar.key" not in attrs  # keys only where a namespace opts in

    _, loader_call = by_name["cachecar.v1.LoaderService/Load"]
    assert loader_call.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert loader_call.parent_span_id == server.span_id
    app_service, app_span = by_name["app.Load"]
    assert app_service == "fake-app"
    assert app_span.parent_span_id == loader_call.span_id

    backend_spans = [s for _, s in spans if "db.system" in _attrs(s)]
    assert len(backend_spans) >= 2  # the read that missed and the store
    for span in backend_spans:
        assert span.kind == trace_pb2.Span.SPAN_KIND_CLIENT
        a = _attrs(span)
        assert a["db.system"] == kind
        assert a["server.address"] == "127.0.0.1"
        assert a["server.port"] > 0
        assert span.parent_span_id in {server.span_id, loader_call.span_id}
    assert any(s.parent_span_id == server.span_id for s in backend_spans)

    exported = b"".join(r.SerializeToString() for r in collector.requests)
    assert VALUE not in exported
    assert KEY.encode() not in exported


async def test_keys_are_traced_only_when_the_namespace_opts_in(
    redis_url: str,
    collector: Collector,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = _env_tracing(monkeypatch, collector.endpoint)
    sc = await sidecar_for(redis_url, telemetry=telemetry, trace_keys=True)
    await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key=KEY))
    await _flush(telemetry)
    (server,) = [s for _, s in collector.spans() if s.name.endswith("/Get")]
    assert _attrs(server)["cachecar.key"] == KEY
    assert _attrs(server)["cachecar.hit"] is False


async def test_errors_are_marked_on_the_server_span(
    redis_url: str,
    collector: Collector,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = _env_tracing(monkeypatch, collector.endpoint)
    sc = await sidecar_for(redis_url, loader=f"127.0.0.1:{free_port()}", telemetry=telemetry)
    with pytest.raises(grpc.aio.AioRpcError):
        await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    await _flush(telemetry)
    by_name = {s.name: s for _, s in collector.spans()}
    server = by_name["cachecar.v1.CacheService/GetOrLoad"]
    assert _attrs(server)["rpc.grpc.status_code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert _attrs(server)["cachecar.error.reason"] == "LOADER_UNAVAILABLE"
    assert server.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    loader_call = by_name["cachecar.v1.LoaderService/Load"]
    assert loader_call.status.code == trace_pb2.Status.STATUS_CODE_ERROR


async def test_collector_down_leaves_requests_unaffected(
    redis_url: str,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = _env_tracing(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert telemetry.tracing.tracer is not None
    fake_app.rows.update({str(i): b"v" for i in range(20)})
    sc = await sidecar_for(redis_url, loader=fake_app.target, telemetry=telemetry)
    for _ in range(3):
        results = await asyncio.gather(
            *(
                sc.cache.GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=str(i)), timeout=5
                )
                for i in range(20)
            )
        )
        assert {r.value for r in results} == {b"v"}


@pytest.mark.parametrize(
    ("sampler", "flags"), [("always_off", "01"), ("parentbased_always_on", "00")]
)
async def test_sampling_off_exports_nothing(
    sampler: str,
    flags: str,
    redis_url: str,
    collector: Collector,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = _env_tracing(monkeypatch, collector.endpoint, OTEL_TRACES_SAMPLER=sampler)
    sc = await sidecar_for(redis_url, telemetry=telemetry)
    traceparent = _traceparent()[0][:-2] + flags
    await sc.cache.Get(
        cache_pb2.GetRequest(namespace="items", key="k"), metadata=(("traceparent", traceparent),)
    )
    await _flush(telemetry)
    assert collector.spans() == []


def test_tracing_is_off_unless_asked_for() -> None:
    assert Tracing.from_env({}).tracer is None
    assert Tracing.from_env({"OTEL_TRACES_EXPORTER": "none"}).tracer is None
    assert (
        Tracing.from_env(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317", "OTEL_SDK_DISABLED": "true"}
        ).tracer
        is None
    )
    on = Tracing.from_env({"OTEL_TRACES_EXPORTER": "console"})
    assert on.tracer is not None
    on.shutdown()


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


async def test_metrics_count_a_miss_a_hit_and_a_stale_serve(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["k"] = b"v"
    sc = await sidecar_for(
        redis_url, loader=fake_app.target, listen_metrics=True, ttl="1s", grace="1h"
    )
    get = cache_pb2.GetOrLoadRequest(namespace="items", key="k")
    assert (await sc.cache.GetOrLoad(get)).source == cache_pb2.SOURCE_LOADER
    assert (await sc.cache.GetOrLoad(get)).source == cache_pb2.SOURCE_CACHE
    await asyncio.sleep(1.1)
    assert (await sc.cache.GetOrLoad(get)).source == cache_pb2.SOURCE_STALE
    await wait_until(lambda: len(fake_app.loads) == 2)  # the background refresh
    m = await asyncio.to_thread(_scrape, sc.sidecar.metrics_port)
    assert m["cachecar_cache_misses_total{namespace=items}"] == 1
    assert m["cachecar_cache_hits_total{namespace=items}"] == 1
    assert m["cachecar_cache_stale_served_total{namespace=items}"] == 1
    await wait_until(lambda: _loads_found(sc.sidecar.telemetry.metrics) == 2)
    assert m["cachecar_load_duration_seconds_count{namespace=items}"] >= 1
    handled = (
        "cachecar_rpc_handled_total{code=OK,method=GetOrLoad,service=cachecar.v1.CacheService}"
    )
    assert m[handled] == 3
    assert m["cachecar_backend_up{backend=main}"] == 1
    memory = [v for k, v in m.items() if k.startswith("cachecar_backend_memory_bytes{backend=main")]
    assert memory
    assert memory[0] > 0
    assert any(
        k.startswith("cachecar_backend_duration_seconds_count{backend=main,operation=GET")
        for k in m
    )


def _loads_found(metrics: Metrics) -> float:
    return metrics.loads.labels("items", "found")._value.get()  # type: ignore[no-any-return]


async def test_log_lines_inside_a_request_carry_the_trace_id(
    fresh_redis: RedisServer,
    collector: Collector,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry = _env_tracing(monkeypatch, collector.endpoint)
    fake_app.rows["k"] = b"v"
    sc = await sidecar_for(fresh_redis.url, loader=fake_app.target, telemetry=telemetry)
    fresh_redis.stop()  # the read fails, the sidecar logs and falls back to the loader
    traceparent, trace_id, _ = _traceparent()
    with caplog.at_level(logging.DEBUG, logger="cachecar"):
        response = await sc.cache.GetOrLoad(
            cache_pb2.GetOrLoadRequest(namespace="items", key="k"),
            metadata=(("traceparent", traceparent),),
        )
    assert response.value == b"v"
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    fallback = [line for line in lines if "treating as a miss" in line["event"]]
    assert fallback
    assert fallback[0]["trace_id"] == trace_id.hex()


async def test_write_behind_flush_span_links_to_the_enqueuing_call(
    redis_url: str,
    collector: Collector,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = _env_tracing(monkeypatch, collector.endpoint)
    sc = await sidecar_for(
        redis_url,
        writer=fake_app.target,
        telemetry=telemetry,
        write_behind={"flush_interval": "1h", "partitions": 1},
    )
    traceparent, trace_id, client_span_id = _traceparent()
    await sc.cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace="items", key=KEY, value=VALUE),
        metadata=(("traceparent", traceparent),),
    )
    await sc.cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace="items"), timeout=10)
    assert fake_app.rows[KEY] == VALUE
    await _flush(telemetry)
    spans = [s for _, s in collector.spans()]
    # Exactly one flush span: idle rounds (every flush_interval) make none.
    (flush,) = [s for s in spans if s.name == "cachecar.write_behind.flush"]
    assert _attrs(flush)["cachecar.writes_acknowledged"] == 1
    assert [link.trace_id for link in flush.links] == [trace_id]
    batch_call = [s for s in spans if s.name == "cachecar.v1.WriterService/WriteBatch"]
    assert [s.parent_span_id for s in batch_call] == [flush.span_id]
    enqueue = next(s for s in spans if s.name.endswith("/EnqueueWrite"))
    assert enqueue.parent_span_id == client_span_id
    exported = b"".join(r.SerializeToString() for r in collector.requests)
    assert VALUE not in exported
    assert KEY.encode() not in exported
