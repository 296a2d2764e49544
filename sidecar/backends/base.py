"""The backend interface: a handful of async, byte-level operations.

Everything above this line (namespacing, serialization, TTL policy, leases,
tracing) lives in the pattern layer; a backend only moves bytes and translates
its driver's exceptions into :class:`sidecar.errors.BackendUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol, runtime_checkable

__all__ = ["MISSING", "Backend", "BackendKind", "Missing"]

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


@runtime_checkable
class Backend(Protocol):
    """What every cache backend offers. Keys and values are bytes."""

    #: The config name of this backend ("main").
    name: str
    #: What it is, for spans (``db.system``) and capability checks.
    kind: BackendKind
    #: host:port of the (first) server, for spans and messages.
    address: str

    async def get(self, key: bytes) -> bytes | Missing:
        """The value stored under ``key``, or MISSING."""
        ...

    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        """One value (or MISSING) per key, in order."""
        ...

    async def set(self, key: bytes, value: bytes, ttl_ms: int) -> None:
        """Store ``value`` under ``key`` for ``ttl_ms`` milliseconds."""
        ...

    async def add(self, key: bytes, value: bytes, ttl_ms: int) -> bool:
        """Store only if ``key`` is absent; True if stored (leases build on this)."""
        ...

    async def delete(self, keys: Sequence[bytes]) -> int:
        """Remove keys; the number that existed."""
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
