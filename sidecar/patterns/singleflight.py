"""In-process single-flight: concurrent callers for one key share one call.

The shared call runs in its own task, so a caller that gives up (cancelled,
deadline passed) does not cancel the work the others are waiting for.
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

    def __len__(self) -> int:
        return len(self._inflight)

    def __contains__(self, key: object) -> bool:
        return key in self._inflight

    async def cancel_all(self) -> None:
        """Cancel every call in flight and wait for them (shutdown: their callers
        are gone, and the connections they would use are about to close)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def forget(self, key: K) -> None:
        """Let the next caller start a new call; the running one finishes for its waiters."""
        self._inflight.pop(key, None)

    async def do(self, key: K, call: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """Run ``call`` unless one is in flight for ``key``; (result, shared?)."""
        task = self._inflight.get(key)
        shared = task is not None
        if task is None:
            task = asyncio.ensure_future(call())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task), shared

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        # Mark the exception as retrieved: if every waiter gave up, nobody else will.
        if not task.cancelled():
            task.exception()
