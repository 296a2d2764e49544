"""A circuit breaker per backend: stop waiting on a backend that keeps failing.

Closed: calls pass; ``failure_threshold`` consecutive failures open it. Open:
calls fail at once with BACKEND_UNAVAILABLE (the patterns fall back to the
loader) for ``open_for`` seconds. Then half-open: one trial call passes; its
success closes the breaker, its failure opens it again. A successful health
ping closes it too, so a backend that returns is used again within about a
second.
"""

from __future__ import annotations

import enum
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sidecar.errors import BackendUnavailable, NodeUnavailable, SlotMigrating

__all__ = ["BreakerState", "CircuitBreaker", "guarded"]

log = logging.getLogger("cachecar.breaker")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with a timed half-open trial."""

    def __init__(
        self,
        backend: str,
        *,
        failure_threshold: int = 3,
        open_for: float = 1.0,
        on_change: Callable[[BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        node: str | None = None,
    ) -> None:
        self.backend = backend
        #: Set for one node of a Redis Cluster: the breaker guards that node only.
        self.node = node
        self.state = BreakerState.CLOSED
        self._threshold = failure_threshold
        self._open_for = open_for
        self._on_change = on_change
        self._clock = clock
        self._failures = 0
        self._reopen_at = 0.0
        self._trial_running = False
        #: Why the last call failed: an open breaker repeats it, so a refused
        #: login or a TLS mismatch is not hidden behind "failed repeatedly".
        self._last_error = ""

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            where = {"backend": self.backend} | ({"node": self.node} if self.node else {})
            log.warning("circuit breaker %s", state.value, extra=where)
            self.state = state
            if self._on_change is not None:
                self._on_change(state)

    def before_call(self) -> None:
        """Raise BACKEND_UNAVAILABLE instead of calling a backend known to be down."""
        if self.state is BreakerState.CLOSED:
            return
        if self.state is BreakerState.OPEN and self._clock() >= self._reopen_at:
            self._set(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return
        cause = f"; last error: {self._last_error}" if self._last_error else ""
        if self.node is not None:
            raise NodeUnavailable(
                f"node {self.node} of backend {self.backend!r} failed repeatedly, so cachecar "
                f"stopped calling it for {self._open_for:g}s (circuit breaker open; other "
                f"nodes are called as usual); reads fall back to the loader{cause}",
                metadata={"backend": self.backend, "node": self.node, "breaker": "open"},
            )
        raise BackendUnavailable(
            f"backend {self.backend!r} failed repeatedly, so cachecar stopped calling it for "
            f"{self._open_for:g}s (circuit breaker open); reads fall back to the loader{cause}",
            metadata={"backend": self.backend, "breaker": "open"},
        )

    def succeeded(self) -> None:
        self._failures = 0
        self._last_error = ""
        self._trial_running = False
        self._set(BreakerState.CLOSED)

    def abandoned(self) -> None:
        """The call ended without telling whether the backend is up."""
        self._trial_running = False

    def failed(self, error: str = "") -> None:
        self._failures += 1
        self._last_error = error
        self._trial_running = False
        if self.state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._reopen_at = self._clock() + self._open_for
            self._set(BreakerState.OPEN)


class Guarded(Protocol):
    breaker: CircuitBreaker


G = TypeVar("G", bound=Guarded)
P = ParamSpec("P")
R = TypeVar("R")


def guarded(
    func: Callable[Concatenate[G, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[G, P], Coroutine[Any, Any, R]]:
    """Run a backend command through the backend's breaker."""

    @functools.wraps(func)
    async def wrapper(self: G, *args: P.args, **kwargs: P.kwargs) -> R:
        breaker = self.breaker
        breaker.before_call()
        try:
            result = await func(self, *args, **kwargs)
        except (SlotMigrating, NodeUnavailable):
            # A cluster slot on the move, or one node down (its own breaker
            # counted it): the other slots and nodes are fine. Neither a
            # failure nor a success of the backend.
            breaker.abandoned()
            raise
        except BackendUnavailable as exc:
            breaker.failed(str(exc))
            raise
        except BaseException:
            # Cancelled or another error: the backend answered or was not asked;
            # either way a half-open trial must not stay "running" forever.
            breaker.abandoned()
            raise
        breaker.succeeded()
        return result

    return wrapper  # type: ignore[return-value]  # functools.wraps hides the signature
