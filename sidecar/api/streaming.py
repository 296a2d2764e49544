"""The wrapper around server-streaming servicer methods: setup span, metrics, errors.

The unary :func:`sidecar.api.rpc.rpc` keeps one SERVER span open for the whole
call. A stream can live for hours, and one endless span per stream is useless
in a trace viewer (and is only exported when it ends), so here the SERVER
span covers the setup only: from the request to the first response (for
Subscribe, the SubscribedEvent), when the method calls
:meth:`StreamCall.started`. What the stream then delivers gets short spans of
its own, linked to that setup span (see ``api/pubsub.py``).

Metrics: ``cachecar_rpc_handled_total{code}`` when the stream ends (CANCELLED
when the client went away), and ``cachecar_rpc_duration_seconds`` observes the
setup only, so stream lifetimes do not swamp the latency histogram. Errors map
as in ``rpc.py``: a :class:`CacheCarError` ends the stream with its status and
ErrorInfo, anything unexpected with INTERNAL and a logged traceback, and an
undecodable request (``api/decode.py``) with INVALID_ARGUMENT.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, Tracer

from sidecar.api.context import Context
from sidecar.api.decode import Malformed
from sidecar.api.errors import abort_with, internal_error
from sidecar.api.rpc import Servicer
from sidecar.errors import CacheCarError, Code
from sidecar.telemetry.tracing import SERVER, extract_context, record_error, server_span_attributes

__all__ = ["StreamCall", "server_stream"]

log = logging.getLogger("cachecar.api")

S = TypeVar("S", bound=Servicer)
Req = TypeVar("Req")


class StreamCall:
    """One streaming call, as its method sees it."""

    def __init__(self, servicer: Servicer, method: str, request: Any, context: Context) -> None:
        self._started_at = time.perf_counter()
        self._duration = servicer.telemetry.metrics.child(
            servicer.telemetry.metrics.rpc_duration, servicer.SERVICE, method
        )
        #: The sidecar's tracer, or None when tracing is off.
        self.tracer: Tracer | None = servicer.telemetry.tracing.tracer
        #: The setup span's context, for the per-item spans to link to.
        self.setup: SpanContext | None = None
        self._span: Span | None = None
        self._token: object = None
        self._setup_done = False
        if self.tracer is None:
            return
        self._span = self.tracer.start_span(
            f"{servicer.SERVICE}/{method}",
            context=extract_context(context.invocation_metadata()),
            kind=SERVER,
            attributes=server_span_attributes(servicer.SERVICE, method, request),
            record_exception=False,
            set_status_on_exception=False,
        )
        self.setup = self._span.get_span_context()
        # Current during setup, so that backend commands become its children.
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    @property
    def span(self) -> Span | None:
        """The setup span while setup runs (None once started, or untraced)."""
        return self._span

    def started(self) -> None:
        """Setup is done (the first response is written): end the setup span."""
        if self._setup_done:
            return
        self._setup_done = True
        self._duration.observe(time.perf_counter() - self._started_at)
        if self._span is not None:
            self._span.set_attribute("rpc.grpc.status_code", 0)
        self._end_span()

    def failed(self, code: Code, reason: str, message: str) -> None:
        """Record the error on the setup span, if the stream ends during setup."""
        if self._span is not None:
            record_error(self._span, code.value, reason, message, server=True)

    def _end_span(self) -> None:
        if self._span is None:
            return
        span, self._span = self._span, None
        span.end()
        otel_context.detach(self._token)  # type: ignore[arg-type]  # attach()'s own token

    def close(self) -> None:
        if not self._setup_done:
            self._setup_done = True
            self._duration.observe(time.perf_counter() - self._started_at)
        self._end_span()


StreamMethod = Callable[[S, Req, Context, StreamCall], Awaitable[None]]
Handler = Callable[[S, Req, Context], Awaitable[None]]


def server_stream(method: StreamMethod[S, Req]) -> Handler[S, Req]:
    """Wrap a server-streaming method that writes with ``context.write``."""
    name = method.__name__

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Context) -> None:
        metrics = self.telemetry.metrics
        if isinstance(request, Malformed):
            await request.reject(context, self.SERVICE, name, metrics)
        if self.telemetry.tracing.tracer is not None:
            # The caller first: its trace headers are parsed only once it is let in.
            try:
                self.namespaces.check_caller(getattr(request, "namespace", ""), context)
            except CacheCarError as error:
                metrics.child(metrics.rpc_handled, self.SERVICE, name, error.code.name).inc()
                await abort_with(context, error)
        call = StreamCall(self, name, request, context)
        code = Code.OK
        try:
            await method(self, request, context, call)
        except CacheCarError as error:
            code = error.code
            call.failed(error.code, error.reason, error.message)
            call.close()
            await abort_with(context, error)
        except asyncio.CancelledError:
            code = Code.CANCELLED  # the client went away (or the server is stopping)
            raise
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception as exc:  # the one place a bug becomes INTERNAL instead of a crash
            # Logged before the span ends, so the line carries the trace id.
            log.exception("unexpected error", extra={"rpc": f"{self.SERVICE}/{name}"})
            code = Code.INTERNAL
            call.failed(Code.INTERNAL, "INTERNAL", type(exc).__name__)
            call.close()
            await abort_with(context, internal_error())
        finally:
            call.close()
            metrics.child(metrics.rpc_handled, self.SERVICE, name, code.name).inc()

    return wrapper
