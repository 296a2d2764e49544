"""The backend interface: a core of async, byte-level operations every store
offers, and the capabilities a component declares beyond it.

Everything above this line (namespacing, serialization, TTL policy, leases,
tracing) lives in the pattern layer; a backend only moves bytes and translates
its driver's exceptions into :class:`sidecar.errors.BackendUnavailable`.

A *component* (``backends/redis/``, ``backends/memcached/``) implements the
core :class:`Backend` and declares, in its :class:`Capabilities`, which of the
capability interfaces (``capabilities.py``, ``queue.py``, ``pubsub.py``) it
offers and by which object. Patterns ask ``capabilities.get(Interface)``; a
component that lacks one answers None, and the pattern layer turns that into
FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND in one place
(``patterns/namespace.py``). Interfaces are ``runtime_checkable`` Protocols:
a component cannot declare one its object does not implement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeVar, runtime_checkable

from sidecar.backends.breaker import CircuitBreaker

__all__ = ["MISSING", "Backend", "BackendKind", "Capabilities", "Fence", "Missing"]

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


C = TypeVar("C")


class Capabilities:
    """The capability interfaces a component offers, each with its implementation."""

    def __init__(self, component: str, offered: dict[type, object]) -> None:
        for interface, implementation in offered.items():
            # Fail at start, not on the first call: a declaration is a promise.
            if not isinstance(implementation, interface):
                raise TypeError(
                    f"{component} declares {interface.__name__} but "
                    f"{type(implementation).__name__} does not implement it"
                )
        self._offered = dict(offered)

    def get(self, interface: type[C]) -> C | None:
        """The implementation of ``interface``, or None if the component lacks it."""
        found = self._offered.get(interface)
        # Checked again so the type checker knows what it is (a dict lookup plus
        # one isinstance on an already-verified object: this is on no hot path).
        return found if isinstance(found, interface) else None

    def names(self) -> list[str]:
        """The offered interfaces' names, for logs and the status page."""
        return sorted(interface.__name__ for interface in self._offered)


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
    #: What the component offers beyond this core.
    capabilities: Capabilities

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
