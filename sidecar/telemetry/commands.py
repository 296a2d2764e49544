"""Observing backend commands: a CLIENT span (tracing on) and latency/error metrics.

Backends decorate their methods with :func:`observed`; the span is a child of
whatever span is current (the RPC's server span, or the load it triggered),
and carries ``db.system``, ``db.operation.name``, ``server.address`` and
``server.port`` — never keys or values.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue
from prometheus_client import Counter, Histogram

from sidecar.errors import CacheCarError
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import CLIENT, current_span

__all__ = ["CommandObserver", "observed"]

P = ParamSpec("P")
R = TypeVar("R")


class CommandObserver:
    """Per-backend span attributes and cached metric children."""

    def __init__(self, telemetry: Telemetry, backend: str, system: str, address: str) -> None:
        self.tracer = telemetry.tracing.tracer
        self._metrics = telemetry.metrics
        self.backend = backend
        host, _, port = address.split(",", maxsplit=1)[0].rpartition(":")
        self._base: dict[str, AttributeValue] = {
            "db.system": system,
            "server.address": host,
            "cachecar.backend": backend,
        }
        if port.isdigit():
            self._base["server.port"] = int(port)
        self._attributes: dict[str, dict[str, AttributeValue]] = {}

    def attributes(self, operation: str) -> dict[str, AttributeValue]:
        found = self._attributes.get(operation)
        if found is None:
            found = self._attributes[operation] = {**self._base, "db.operation.name": operation}
        return found

    def breaker_changed(self, state: Enum) -> None:
        """Record a circuit-breaker transition (gauge + span event)."""
        self._metrics.breaker_open.labels(self.backend).set(1 if state.value == "open" else 0)
        if self.tracer is not None:
            current_span().add_event(
                f"cachecar.breaker.{state.value}", {"cachecar.backend": self.backend}
            )

    def duration(self, operation: str) -> Histogram:
        return self._metrics.child(self._metrics.backend_duration, self.backend, operation)

    def errors(self, operation: str) -> Counter:
        return self._metrics.child(self._metrics.backend_errors, self.backend, operation)


class Observed(Protocol):
    observer: CommandObserver


B = TypeVar("B", bound=Observed)


def observed(
    operation: str,
) -> Callable[
    [Callable[Concatenate[B, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[B, P], Coroutine[Any, Any, R]],
]:
    """Trace and time one backend command."""

    def decorate(
        func: Callable[Concatenate[B, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[B, P], Coroutine[Any, Any, R]]:
        @functools.wraps(func)
        async def wrapper(self: B, *args: P.args, **kwargs: P.kwargs) -> R:
            observer = self.observer
            tracer = observer.tracer
            started = time.perf_counter()
            try:
                if tracer is None:
                    return await func(self, *args, **kwargs)
                with tracer.start_as_current_span(
                    operation,
                    kind=CLIENT,
                    attributes=observer.attributes(operation),
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span:
                    try:
                        return await func(self, *args, **kwargs)
                    except CacheCarError as error:
                        span.set_attribute("cachecar.error.reason", error.reason)
                        span.set_status(Status(StatusCode.ERROR, error.reason))
                        raise
            except CacheCarError:
                observer.errors(operation).inc()
                raise
            finally:
                observer.duration(operation).observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]  # functools.wraps hides the signature

    return decorate
