"""OpenTelemetry tracing, configured only by the standard ``OTEL_*`` variables.

Tracing is on when something asks for it — ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER`` is set —
and ``OTEL_SDK_DISABLED`` is not ``true``. Off, there is no tracer at all and
the hot paths skip every tracing call behind one ``is None`` check, so a
sidecar that nobody traces pays (next to) nothing. On, spans go through a
``BatchSpanProcessor`` (``OTEL_BSP_*``), whose queue drops spans when full: a
slow or dead collector never blocks or fails a request.

The provider belongs to the :class:`Tracing` object, not to the process-wide
global, so two sidecars in one process (tests) keep their spans apart.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

__all__ = [
    "Tracing",
    "extract_context",
    "inject_metadata",
    "record_error",
    "server_span_attributes",
]

log = logging.getLogger("cachecar.telemetry")
_PROPAGATED = ("traceparent", "tracestate", "baggage")
#: gRPC codes that are the server's fault (OpenTelemetry's gRPC conventions);
#: the others (bad input, not found, ...) leave a server span's status unset.
SERVER_ERROR_CODES = frozenset({2, 4, 12, 13, 14, 15})


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as GrpcExporter,
    )

    return GrpcExporter()


def provider_from_env(environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """A tracer provider as the ``OTEL_*`` variables describe, or None for "off"."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = environ.get("OTEL_TRACES_EXPORTER")
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if names is None and endpoint is None:
        return None
    wanted = [n.strip() for n in (names or "otlp").split(",") if n.strip() not in ("", "none")]
    if not wanted:
        return None
    service = environ.get("OTEL_SERVICE_NAME") or "cachecar"
    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES (pod name, ...).
    # Shut down by Telemetry.close() on SIGTERM, not by an atexit hook that could
    # log export failures into streams already closed at interpreter exit.
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}), shutdown_on_exit=False
    )
    for name in wanted:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, environ)))
    log.info("tracing on", extra={"exporters": ",".join(wanted), "endpoint": endpoint or "-"})
    return provider


class Tracing:
    """The sidecar's tracer, or none at all when tracing is off."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.tracer: Tracer | None = (
            provider.get_tracer("cachecar", "0.1.0") if provider is not None else None
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Tracing:
        return cls(provider_from_env(environ))

    @classmethod
    def with_processor(cls, processor: SpanProcessor, service: str = "cachecar") -> Tracing:
        """Tracing into one processor (tests, benchmarks)."""
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}), shutdown_on_exit=False
        )
        provider.add_span_processor(processor)
        return cls(provider)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush what is queued and stop, waiting ``timeout`` seconds at most;
        whether it finished in time.

        An unreachable collector makes the exporter retry for its own timeout
        (10 s by default); the sidecar's shutdown grace must not wait for that,
        so the flush runs in a daemon thread that is abandoned when time is up
        (the spans it still holds are lost, as with any exporter outage)."""
        if self.provider is None:
            return True
        provider, self.provider = self.provider, None
        done = threading.Thread(target=provider.shutdown, name="otel-shutdown", daemon=True)
        done.start()
        done.join(max(0.0, timeout))
        if done.is_alive():
            log.warning(
                "trace export did not finish within the shutdown grace; spans still queued "
                "are dropped",
                extra={"waited_s": round(timeout, 2)},
            )
            return False
        return True


# What a caller may send, checked before OpenTelemetry sees it: its propagators
# log a warning quoting any malformed header, so a client could otherwise fill
# the sidecar's log with its own bytes. Anything not well-formed is dropped
# whole, as W3C Trace Context allows for tracestate.
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[ -~]*)?")
_TRACESTATE_MEMBER = re.compile(
    r"(?:[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13}|[a-z][_0-9a-z\-*/]{0,255})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)
_BAGGAGE_MEMBER = re.compile(
    r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
    r"(;[ -+\--~]*)?"
)
_MAX_HEADER = {"traceparent": 128, "tracestate": 512, "baggage": 8192}
_MAX_MEMBERS = {"tracestate": 32, "baggage": 64}
_MAX_MEMBER = 4096  # OpenTelemetry drops (and logs) a longer baggage member


def _well_formed(name: str, value: str) -> bool:
    if len(value) > _MAX_HEADER[name]:
        return False
    if name == "traceparent":
        return _TRACEPARENT.fullmatch(value) is not None
    members = [m.strip(" \t") for m in value.split(",")]
    pattern = _TRACESTATE_MEMBER if name == "tracestate" else _BAGGAGE_MEMBER
    return len(members) <= _MAX_MEMBERS[name] and all(
        len(m) <= _MAX_MEMBER and pattern.fullmatch(m) is not None for m in members
    )


def extract_context(metadata: Iterable[tuple[str, Any]]) -> Context | None:
    """The caller's W3C trace context from gRPC invocation metadata, if it sent a
    well-formed one (malformed headers are dropped silently, never logged)."""
    carrier = {
        k: v for k, v in metadata if k in _PROPAGATED and isinstance(v, str) and _well_formed(k, v)
    }
    return propagate.extract(carrier) if carrier else None


def server_span_attributes(service: str, method: str, request: object) -> dict[str, str]:
    """The attributes of an RPC's SERVER span (unary and streaming alike)."""
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
    namespace = getattr(request, "namespace", None)
    if namespace is not None:
        attributes["cachecar.namespace"] = namespace
    return attributes


def inject_metadata() -> list[tuple[str, str]]:
    """The current trace context as gRPC metadata for an outgoing call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())


def record_error(span: Span, code: int, reason: str, message: str, *, server: bool) -> None:
    """Mark a span with a gRPC outcome (never a value: messages name keys' namespaces only)."""
    span.set_attribute("rpc.grpc.status_code", code)
    span.set_attribute("cachecar.error.reason", reason)
    if not server or code in SERVER_ERROR_CODES:
        span.set_status(Status(StatusCode.ERROR, message[:256]))


# Re-exported for callers that build spans.
CLIENT = SpanKind.CLIENT
SERVER = SpanKind.SERVER
current_span = trace.get_current_span
