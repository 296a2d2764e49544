"""Telemetry: tracing (OpenTelemetry), metrics (Prometheus) and structured logs.

One :class:`Telemetry` per sidecar is handed to every layer that reports
something; nothing reaches for process-wide globals, so tests can run several
sidecars side by side and read each one's spans and counters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sidecar.telemetry.logs import (
    JsonFormatter,
    KeyValueFormatter,
    install_trace_ids,
    setup_logging,
)
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import Tracing

__all__ = [
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "Telemetry",
    "Tracing",
    "setup_logging",
]


@dataclass
class Telemetry:
    """The tracer (or none) and the metrics of one sidecar."""

    tracing: Tracing = field(default_factory=Tracing)
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        if self.tracing.tracer is not None:
            install_trace_ids()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Telemetry:
        return cls(Tracing.from_env(environ), Metrics())

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving metrics; flush traces for ``timeout`` seconds at most."""
        self.metrics.close()
        self.tracing.shutdown(timeout)
