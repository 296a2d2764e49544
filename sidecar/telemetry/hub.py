"""One sidecar's telemetry: its tracer (or none) and its metrics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sidecar.telemetry.logs import install_trace_ids
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import Tracing

__all__ = ["Telemetry"]


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
