"""Structured logs (one JSON object per line off a terminal, key=value on one).

Fields passed with ``extra={...}`` become fields of the line; a line logged
inside a traced request carries its ``trace_id`` and ``span_id``, so a log line
leads to its trace. Nothing here logs values, session ids or secrets; callers
pass names and sizes only.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

__all__ = ["JsonFormatter", "KeyValueFormatter", "install_trace_ids", "setup_logging"]

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _with_trace_ids(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    # Read the span when the record is made (in the request's context), not
    # when a handler formats it, which may be later or on another thread.
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return record

    make.cachecar_trace_ids = True  # type: ignore[attr-defined]
    return make


def install_trace_ids() -> None:
    """Make every log record carry the current trace and span id (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "cachecar_trace_ids", False):
        logging.setLogRecordFactory(_with_trace_ids(factory))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class KeyValueFormatter(logging.Formatter):
    """Readable single lines for a terminal: ``time level event key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{when} {record.levelname.lower():<7} {record.getMessage()} {extras}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(level: str = "info", *, json_lines: bool | None = None) -> None:
    """Configure the root logger once, for the CLI."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
