"""Telemetry: tracing (OpenTelemetry), metrics (Prometheus) and structured logs.

One :class:`Telemetry` per sidecar is handed to every layer that reports
something; nothing reaches for process-wide globals, so tests can run several
sidecars side by side and read each one's spans and counters.

The names below load on first use (PEP 562): the ``workers:`` supervisor
imports :mod:`sidecar.telemetry.logs` and :mod:`sidecar.telemetry.multiprocess`
only, and must not pay for the OpenTelemetry SDK to do so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.telemetry.hub import Telemetry
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
    "install_trace_ids",
    "setup_logging",
]

_HOMES = {
    "JsonFormatter": "logs",
    "KeyValueFormatter": "logs",
    "install_trace_ids": "logs",
    "setup_logging": "logs",
    "Metrics": "metrics",
    "Telemetry": "hub",
    "Tracing": "tracing",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
