"""In-process single-flight: concurrent callers for one key share one call.

The shared call runs in its own task, so a caller that gives up (cancelled,
deadline passed) does not cancel the work the others are waiting for.

Every call counts in :attr:`SingleFlight.running` until it has ended, also
after :meth:`forget` let a newer call of the same key start: a limit on calls
in flight must hold for the calls the app really sees, not for the keys this
map still lists. A forgotten call that nobody waits for any more is
cancelled: its result can no longer be stored or returned to anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """At most one in-flight call per key; latecomers await the same result."""

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Task[V]] = {}
        #: Every call not yet ended, forgotten ones included, with its waiters.
        self._waiters: dict[asyncio.Task[V], int] = {}
        self._running: set[asyncio.Task[V]] = set()

    @property
    def running(self) -> int:
        """Calls not yet ended, whether or not a key still maps to them."""
        return len(self._running)

    def __contains__(self, key: object) -> bool:
        return key in self._inflight

    async def cancel_all(self) -> None:
        """Cancel every call not yet ended and wait for them (shutdown: their
        callers are gone, and the connections they would use are about to close)."""
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def forget(self, key: K) -> None:
        """Let the next caller start a new call; the running one finishes for its
        waiters, or is cancelled when it has none."""
        task = self._inflight.pop(key, None)
        if task is not None and not self._waiters.get(task):
            task.cancel()

    async def do(self, key: K, call: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """Run ``call`` unless one is in flight for ``key``; (result, shared?)."""
        task = self._inflight.get(key)
        shared = task is not None
        if task is None:
            task = asyncio.ensure_future(call())
            self._inflight[key] = task
            self._running.add(task)
            task.add_done_callback(lambda done: self._finished(key, done))
        self._waiters[task] = self._waiters.get(task, 0) + 1
        try:
            return await asyncio.shield(task), shared
        finally:
            self._left(key, task)

    def _left(self, key: K, task: asyncio.Task[V]) -> None:
        left = self._waiters.get(task, 0) - 1
        if left > 0:
            self._waiters[task] = left
            return
        self._waiters.pop(task, None)
        if not task.done() and self._inflight.get(key) is not task:
            task.cancel()  # forgotten, and its last waiter gave up

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        self._running.discard(task)
        if self._inflight.get(key) is task:
            del self._inflight[key]
        # Mark the exception as retrieved: if every waiter gave up, nobody else will.
        if not task.cancelled():
            task.exception()
