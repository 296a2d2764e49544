"""End-to-end tracing: a real Jaeger finds the sidecar's span through its query API.

Run by ``make jaeger-e2e`` (``CACHECAR_JAEGER_E2E=1``), not by the normal suite:
it needs the Jaeger that ``scripts/jaeger.sh install`` builds from the Go
module proxy (about 2 minutes on 2 cores the first time). Jaeger runs as a
child on free loopback ports with in-memory storage and is killed at the end.

``test_jaeger_receives_an_sdk_span`` checks the plumbing alone (OTLP in,
``/api/traces/<id>`` out); ``test_sidecar_span_reaches_jaeger`` is the real
check: the caller's ``traceparent`` is continued by the sidecar's server span.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from sidecar.devmode import free_port
from tests.appfixtures import FakeApp
from tests.test_process import spawn_sidecar, write_config

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("CACHECAR_JAEGER_E2E") != "1",
        reason="needs a real Jaeger: run `make jaeger-e2e` (sets CACHECAR_JAEGER_E2E=1)",
    ),
    pytest.mark.slow,
    # Fixture setup may build Jaeger (bounded by the install step's own timeout);
    # the test bodies keep the usual limit.
    pytest.mark.timeout(120, func_only=True),
]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "jaeger.sh"
# Listeners nothing dials from outside get port 0; the rest get free ports,
# since Jaeger's own agent and API gateway dial its collector and query gRPC ports.
_TCP_PORTS = (
    "JAEGER_OTLP_GRPC_PORT",
    "JAEGER_OTLP_HTTP_PORT",
    "JAEGER_QUERY_PORT",
    "JAEGER_QUERY_GRPC_PORT",
    "JAEGER_ADMIN_PORT",
    "JAEGER_COLLECTOR_GRPC_PORT",
    "JAEGER_COLLECTOR_HTTP_PORT",
    "JAEGER_SAMPLING_PORT",
)
_UDP_PORTS = ("JAEGER_AGENT_COMPACT_PORT", "JAEGER_AGENT_BINARY_PORT", "JAEGER_AGENT_ZIPKIN_PORT")
SERVER_SPAN = "cachecar.v1.CacheService/GetOrLoad"


@dataclass(frozen=True)
class Jaeger:
    otlp_grpc_port: int
    query_port: int
    log: Path

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.otlp_grpc_port}"

    def get(self, path: str) -> Any:
        """GET the query API; None on 404 (Jaeger's answer for an unknown trace)."""
        url = f"http://127.0.0.1:{self.query_port}/api/{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_span(
        self, trace_id: int, operation: str, service: str, within: float = 20.0
    ) -> dict[str, Any]:
        """Poll ``/api/traces/<id>`` until it holds ``operation`` from ``service``."""
        deadline = time.monotonic() + within
        found: Any = None
        while time.monotonic() < deadline:
            found = self.get(f"traces/{trace_id:032x}")
            for data in (found or {}).get("data") or ():
                services = {pid: proc["serviceName"] for pid, proc in data["processes"].items()}
                for span in data["spans"]:
                    if (
                        span["operationName"] == operation
                        and services.get(span["processID"]) == service
                    ):
                        return dict(span)
            time.sleep(0.25)
        raise AssertionError(
            f"no span {operation!r} of service {service!r} in trace {trace_id:032x} "
            f"within {within}s; Jaeger answered {json.dumps(found)[:2000]}\n"
            f"jaeger log tail:\n{self.log_tail()}"
        )


def _wait_ready(jaeger: Jaeger, proc: subprocess.Popen[bytes], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Jaeger exited with {proc.returncode}:\n{jaeger.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", jaeger.otlp_grpc_port), timeout=1):
                pass
            if jaeger.get("services") is not None:
                return
        except OSError:  # URLError is one too: not listening yet
            pass
        time.sleep(0.1)
    pytest.fail(f"Jaeger not ready within {within}s:\n{jaeger.log_tail()}")


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    # A no-op once built; `make jaeger-e2e` has done it before pytest starts.
    subprocess.run([str(SCRIPT), "install"], check=True, timeout=960)
    ports = {name: free_port() for name in _TCP_PORTS} | dict.fromkeys(_UDP_PORTS, 0)
    log = tmp_path_factory.mktemp("jaeger") / "jaeger.log"
    with log.open("wb") as out:
        # `exec` replaces the script's shell, so proc is Jaeger itself.
        proc = subprocess.Popen(
            [str(SCRIPT), "exec"],
            env={**os.environ, **{name: str(port) for name, port in ports.items()}},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        running = Jaeger(ports["JAEGER_OTLP_GRPC_PORT"], ports["JAEGER_QUERY_PORT"], log)
        _wait_ready(running, proc)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _random_ids() -> tuple[int, int]:
    """A W3C trace id (16 bytes) and parent span id (8 bytes), both non-zero."""
    return random.getrandbits(128) | 1, random.getrandbits(64) | 1


def test_jaeger_receives_an_sdk_span(jaeger: Jaeger) -> None:
    trace_id, parent_id = _random_ids()
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-probe"}))
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{jaeger.otlp_grpc_port}", insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    remote_parent = NonRecordingSpan(
        SpanContext(trace_id, parent_id, is_remote=True, trace_flags=TraceFlags(1))
    )
    try:
        with provider.get_tracer("e2e").start_as_current_span(
            "probe", context=trace.set_span_in_context(remote_parent)
        ):
            pass
    finally:
        provider.shutdown()

    span = jaeger.wait_for_span(trace_id, "probe", "e2e-probe")
    assert int(span["traceID"], 16) == trace_id
    assert [int(ref["spanID"], 16) for ref in span["references"]] == [parent_id]


async def test_sidecar_span_reaches_jaeger(
    jaeger: Jaeger, redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.rows["k"] = b"v"
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
        trace_id, parent_id = _random_ids()
        traceparent = f"00-{trace_id:032x}-{parent_id:016x}-01"
        async with grpc.aio.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            reply = await cache.GetOrLoad(
                cache_pb2.GetOrLoadRequest(namespace="items", key="k"),
                metadata=(("traceparent", traceparent),),
                timeout=10,
            )
        assert reply.value == b"v"
        assert fake_app.loads == [("items", "k")]

        span = await asyncio.to_thread(jaeger.wait_for_span, trace_id, SERVER_SPAN, "cachecar")
        parents = [
            int(ref["spanID"], 16) for ref in span["references"] if ref["refType"] == "CHILD_OF"
        ]
        assert parents == [parent_id], span
    except AssertionError as exc:
        failure = exc
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if failure is not None:
            failure.add_note(f"sidecar stderr (tail):\n{err[-3000:]}")
