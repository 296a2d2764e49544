"""When to try a failed call again, and how long to wait first.

Only ``UNAVAILABLE`` on idempotent calls is retried (the client decides which
calls are idempotent; this module only paces them), and never past the call's
deadline. The pacing is one injectable object, so tests and applications can
swap it: ``CacheCar(target, backoff=NoRetry())``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Backoff", "ExponentialBackoff", "NoRetry"]


@runtime_checkable
class Backoff(Protocol):
    """Paces retries: ``delay(failures)`` is how long to wait before the next
    attempt after ``failures`` failed ones (1, 2, ...), or None to give up."""

    def delay(self, failures: int) -> float | None:
        """Seconds to wait before retrying, or None to stop retrying."""
        ...


@dataclass(frozen=True)
class ExponentialBackoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's
    "Exponential Backoff And Jitter"): jitter spreads the retries of many
    clients that lost the sidecar at the same moment."""

    #: The first wait's upper bound, in seconds.
    base: float = 0.05
    #: No single wait is longer than this.
    cap: float = 1.0
    #: Attempts in total, the first one included.
    max_attempts: int = 4

    def delay(self, failures: int) -> float | None:
        """A random wait in [0, min(cap, base * 2**(failures-1))], or None past max_attempts."""
        if failures >= self.max_attempts:
            return None
        ceiling = min(self.cap, self.base * 2 ** (failures - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True)
class NoRetry:
    """Never retry: every failure reaches the caller at once."""

    def delay(self, failures: int) -> float | None:
        """Always None."""
        return None
