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
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "JsonFormatter",
    "KeyValueFormatter",
    "RateLimit",
    "install_trace_ids",
    "setup_logging",
]

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RateLimit:
    """At most one log line per ``key`` per ``interval`` seconds.

    For conditions that can repeat on every call (a misbehaving app, an
    unreachable collector): the first occurrence is logged at once, the rest
    are counted and the count rides on the next line let through.
    """

    def __init__(self, interval: float = 60.0, max_keys: int = 1024) -> None:
        self.interval = interval
        self._max_keys = max_keys
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """None to stay quiet, else how many lines were suppressed since the last one."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        if last is None and len(self._last) >= self._max_keys:
            self._last.clear()  # bounded memory, whatever keys callers make up
            self._suppressed.clear()
        self._last[key] = now
        return self._suppressed.pop(key, 0)


class _QuietLibraries(logging.Filter):
    """Library warnings (OpenTelemetry's exporters and propagators, gRPC) are
    rate-limited per logger and cut short: they can repeat on every call and
    may quote what a caller sent."""

    PREFIXES = ("opentelemetry", "grpc")
    MAX_CHARS = 300

    def __init__(self) -> None:
        super().__init__()
        self._limit = RateLimit(interval=60.0)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.PREFIXES):
            return True
        suppressed = self._limit.allow(f"{record.name}:{record.levelno}")
        if suppressed is None:
            return False
        message = record.getMessage()
        if len(message) > self.MAX_CHARS:
            message = message[: self.MAX_CHARS] + "…"
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{message} ({type(record.exc_info[1]).__name__})"
            record.exc_info = None
        if suppressed:
            record.suppressed = suppressed
        return True


def _with_trace_ids(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    # Imported here: the workers' supervisor logs without OpenTelemetry loaded.
    from opentelemetry import trace  # noqa: PLC0415

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
    handler.addFilter(_QuietLibraries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
