"""One load per key across every sidecar: the distributed lease and the wait.

Inside a sidecar, single-flight already collapses concurrent misses of a key
into one flight. Each flight then asks the backend for the key's lease
(Redis ``SET NX PX`` with a random token; Memcached ``add``). The winner
loads; the others wait for its value by re-reading the key with capped
exponential backoff and jitter (a few reads per wait, never a tight loop). A
lease whose holder crashed simply expires, and the next waiter takes it.

The winner stores its value through :meth:`Backend.fill`, which succeeds only
while its lease stands — an Invalidate or Set that landed during the load
broke the lease, and the stale value is dropped (fencing).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sidecar.backends.base import Fence
from sidecar.errors import BackendUnavailable, DeadlineExceeded
from sidecar.patterns.namespace import Namespace

__all__ = ["LeaseOutcome", "acquire_or_wait"]

T = TypeVar("T")

#: First wait between reads, and the cap: a 50 ms load costs a waiter ~4 reads.
FIRST_POLL_S = 0.005
MAX_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class LeaseOutcome:
    """Either we hold the lease (``fence``), or the key was filled by someone else
    (``filled``), or the backend is down (neither: load without coordination)."""

    fence: Fence | None = None
    filled: object = None
    waited_s: float = 0.0


async def acquire_or_wait(
    ns: Namespace,
    key: str,
    *,
    deadline: float,
    read_fresh: Callable[[], Awaitable[T | None]],
    wait: bool = True,
) -> LeaseOutcome:
    """Take ``key``'s lease, or wait (until ``deadline``, monotonic) for its value.

    With ``wait=False`` (background refresh) a held lease means someone else
    is already refreshing: return at once with neither fence nor value.
    """
    value_key, lease_key = ns.keys.value(key), ns.keys.lease(key)
    started = time.monotonic()
    delay = FIRST_POLL_S
    while True:
        try:
            fence = await ns.backend.lease(value_key, lease_key, ns.lease_ttl_ms)
        except BackendUnavailable:
            return LeaseOutcome()
        if fence is not None or not wait:
            return LeaseOutcome(fence=fence, waited_s=time.monotonic() - started)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(
                f"namespace {ns.name!r}: another sidecar was still loading this key when the "
                "deadline passed; raise the deadline or make the loader faster",
                reason="LEASE_WAIT_TIMEOUT",
                metadata={"namespace": ns.name},
            )
        # Jittered so waiters of many sidecars do not read in lockstep.
        await asyncio.sleep(min(delay * (0.5 + random.random()), remaining))  # noqa: S311
        delay = min(delay * 2, MAX_POLL_S)
        filled = await read_fresh()
        if filled is not None:
            return LeaseOutcome(filled=filled, waited_s=time.monotonic() - started)
