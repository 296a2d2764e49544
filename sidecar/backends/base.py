"""The backend interface: a handful of async, byte-level operations.

Everything above this line (namespacing, serialization, TTL policy, leases,
tracing) lives in the pattern layer; a backend only moves bytes and translates
its driver's exceptions into :class:`sidecar.errors.BackendUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol, runtime_checkable

from sidecar.backends.breaker import CircuitBreaker

__all__ = ["MISSING", "Backend", "BackendKind", "Fence", "Missing"]

BackendKind = Literal["redis", "memcached"]


class Missing:
    """The type of :data:`MISSING`: a cache miss, distinct from an empty value."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned for a key the backend does not hold. ``b""`` is a real value.
MISSING: Final = Missing()


@dataclass(frozen=True, slots=True)
class Fence:
    """Proof of holding a load lease: a random token, plus (Memcached) the CAS
    version of the value key when the lease was taken."""

    token: bytes
    version: int | None = None


@runtime_checkable
class Backend(Protocol):
    """What every cache backend offers. Keys and values are bytes."""

    #: The config name of this backend ("main").
    name: str
    #: What it is, for spans (``db.system``) and capability checks.
    kind: BackendKind
    #: host:port of the (first) server, for spans and messages.
    address: str
    #: Stops calls to a backend that keeps failing (see breaker.py).
    breaker: CircuitBreaker

    async def get(self, key: bytes) -> bytes | Missing:
        """The value stored under ``key``, or MISSING."""
        ...

    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        """One value (or MISSING) per key, in order."""
        ...

    # Lease primitives: exactly one loader per key across sidecars, and a load
    # can only store its value while its lease stands, so an Invalidate or a
    # Set that lands during a slow load is never overwritten by a stale value.

    async def lease(self, key: bytes, lease_key: bytes, ttl_ms: int) -> Fence | None:
        """Take the load lease of ``key`` for ``ttl_ms``; None if someone holds it."""
        ...

    async def fill(
        self, fence: Fence, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int
    ) -> bool:
        """Store ``value`` only if ``fence`` still holds (nobody set, invalidated or
        re-leased the key since); release the lease. True if stored."""
        ...

    async def parked(self, key: bytes, lease_key: bytes) -> bytes | Missing:
        """A value a fill had to leave in the lease key because the value key could
        not be written with it (a Redis Cluster slot held mid-migration), or
        MISSING. Read by lease waiters only; a backend moves it to the value key
        as soon as it can."""
        ...

    async def release(self, fence: Fence, key: bytes, lease_key: bytes) -> None:
        """Give the lease back without storing (the load failed)."""
        ...

    async def overwrite(self, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int) -> None:
        """Store ``value`` and break any outstanding lease, so an in-flight load cannot
        overwrite it."""
        ...

    async def clear(self, keys: Sequence[bytes], lease_keys: Sequence[bytes]) -> int:
        """Remove values and break their leases; the number of values that existed."""
        ...

    async def ping(self) -> None:
        """Return if the backend answers; raise BackendUnavailable otherwise."""
        ...

    async def stats(self) -> dict[str, dict[str, float]]:
        """Per server: ``memory_bytes``, ``memory_limit_bytes``, ``evictions``."""
        ...

    async def aclose(self) -> None:
        """Close every connection."""
        ...
