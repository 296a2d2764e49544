"""The value types of the config: durations, sizes, strict models, ConfigError."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = [
    "NAME_PATTERN",
    "ConfigError",
    "Duration",
    "Size",
    "Strict",
    "parse_duration",
    "parse_size",
]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|s|m|h|d)")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 10**6,
    "mib": 2**20,
    "gb": 10**9,
    "gib": 2**30,
}
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every bad field."""


def parse_duration(value: object) -> timedelta:
    """Accept ``1h``, ``30m``, ``1h30m``, ``500ms``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h, not a boolean")  # noqa: TRY004  (pydantic reports ValueError)
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _DURATION_PART.sub("", text) == "":
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
            return timedelta(seconds=seconds)
    raise ValueError(f"expected a duration such as 500ms, 30s, 5m, 1h or 1h30m, got {value!r}")


def parse_size(value: object) -> int:
    """Accept ``1MiB``, ``512KB``, ``1000`` (bytes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    raise ValueError(f"expected a size such as 512KiB, 1MiB or a number of bytes, got {value!r}")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


class Strict(BaseModel):
    # Unknown keys are typos until proven otherwise: refuse them by name.
    # defer_build: validators are built on first validation, so a worker that
    # only unpickles its settings never builds them (~1.8 MB of RSS).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
