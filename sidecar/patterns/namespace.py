"""Namespaces: the unit of policy (TTLs, limits, callbacks) and of isolation.

A caller names a namespace on every request; the api layer checks the caller
and resolves the name here. This module checks keys and values against the
namespace's limits, computes TTLs with jitter, and is the one place a pattern
asks the namespace's backend for a capability (``Namespace.require``): a
backend without it answers FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND,
worded the same way for every capability.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sidecar.backends.base import Backend
from sidecar.backends.capabilities import (
    CounterStore,
    LeaderboardStore,
    SessionStore,
    SubjectRevocation,
)
from sidecar.backends.invalidation import InvalidationFeed
from sidecar.backends.pubsub import PubSubTransport, ShardedPubSub
from sidecar.backends.queue import WriteQueue
from sidecar.config import NamespaceSettings, Settings
from sidecar.errors import FailedPrecondition, InvalidArgument, NotFound
from sidecar.patterns.keys import KeyLayout
from sidecar.patterns.near_cache import NearCache
from sidecar.telemetry import Telemetry

__all__ = ["Namespace", "Namespaces"]

_MAX_TTL = timedelta(days=365)

C = TypeVar("C")

#: Per capability: what a backend without it cannot do, and what to do instead.
_WITHOUT: dict[type, str] = {
    WriteQueue: "has no durable queue; write-behind needs Redis (WriteThrough works here)",
    PubSubTransport: (
        "cannot do pub/sub: channels need Redis (Pub/Sub for fire-and-forget channels, "
        "Streams for durable ones); use a namespace on a Redis backend"
    ),
    ShardedPubSub: (
        "has no shards: sharded pub/sub (SPUBLISH / SSUBSCRIBE) needs a Redis Cluster; "
        "on a standalone Redis plain PUBLISH reaches the one node anyway"
    ),
    SessionStore: "cannot store sessions; use a Redis or Memcached namespace",
    SubjectRevocation: (
        "cannot enumerate a subject's sessions, so DeleteSubjectSessions needs a Redis "
        "namespace; on Memcached, delete sessions one by one with DeleteSession"
    ),
    LeaderboardStore: (
        "has no sorted sets; use a namespace on a Redis backend for leaderboards and counters"
    ),
    CounterStore: (
        "has no signed atomic counters; use a namespace on a Redis backend for leaderboards "
        "and counters"
    ),
    InvalidationFeed: (
        "pushes no invalidations, so a coherent near cache needs Redis; on Memcached set "
        "near_cache.max_staleness (bounded staleness)"
    ),
}


@dataclass(frozen=True, slots=True)
class Namespace:
    """One declared namespace with its backend and stored-key layout."""

    name: str
    settings: NamespaceSettings
    backend: Backend
    keys: KeyLayout = field(repr=False)
    #: The namespace's near cache (``near_cache:``), or None.
    near: NearCache | None = field(default=None, repr=False, compare=False)

    def require(self, interface: type[C]) -> C:
        """The backend's implementation of ``interface``, or the error that says
        this namespace's backend does not offer it."""
        found = self.backend.capabilities.get(interface)
        if found is None:
            backend = self.backend
            lacks = _WITHOUT.get(interface, f"does not offer {interface.__name__}")
            raise FailedPrecondition(
                f"namespace {self.name!r} is on {backend.kind} backend {backend.name!r}, "
                f"which {lacks}",
                reason="NOT_SUPPORTED_BY_BACKEND",
                metadata={
                    "namespace": self.name,
                    "backend": backend.name,
                    "kind": backend.kind,
                    "capability": interface.__name__,
                },
            )
        return found

    def check_key(self, key: str) -> None:
        """Reject keys the namespace cannot store; any content is allowed."""
        if not key:
            raise InvalidArgument(
                f"namespace {self.name!r}: the key is empty; send a non-empty key",
                reason="KEY_INVALID",
                metadata={"namespace": self.name},
            )
        size = len(key.encode())
        if size > self.settings.max_key_length:
            raise InvalidArgument(
                f"namespace {self.name!r}: the key is {size} bytes long, over the namespace's "
                f"max_key_length of {self.settings.max_key_length}; use a shorter key (or hash it)",
                reason="KEY_INVALID",
                metadata={
                    "namespace": self.name,
                    "max_key_length": str(self.settings.max_key_length),
                },
            )

    def check_keys(self, keys: list[str]) -> None:
        if len(keys) > self.settings.max_batch_keys:
            raise InvalidArgument(
                f"namespace {self.name!r}: {len(keys)} keys in one call, over the namespace's "
                f"max_batch_keys of {self.settings.max_batch_keys}; split the batch",
                reason="BATCH_TOO_LARGE",
                metadata={"namespace": self.name},
            )
        for key in keys:
            self.check_key(key)

    def check_value(self, value: bytes) -> None:
        if len(value) > self.settings.max_value_size:
            raise InvalidArgument(
                f"namespace {self.name!r}: the value is {len(value)} bytes, over the namespace's "
                f"max_value_size of {self.settings.max_value_size}; store less or raise the limit",
                reason="VALUE_TOO_LARGE",
                metadata={
                    "namespace": self.name,
                    "max_value_size": str(self.settings.max_value_size),
                },
            )

    def check_ttl(self, ttl: timedelta | None) -> None:
        if ttl is not None and not timedelta(0) <= ttl <= _MAX_TTL:
            raise InvalidArgument(
                f"namespace {self.name!r}: ttl {ttl.total_seconds()}s is out of range; send a "
                "ttl between 1ms and 365 days, or leave it unset (or zero) for the namespace TTL",
                reason="TTL_INVALID",
                metadata={"namespace": self.name},
            )

    def ttl_ms(self, ttl: timedelta | None = None, *, negative: bool = False) -> int:
        """The logical TTL in ms.

        An explicit ``ttl`` is used as given; the namespace default (or negative
        TTL) is shortened by random jitter, so entries loaded together do not
        all expire together. Jitter only shortens: the configured TTL stays an
        upper bound on staleness.
        """
        if ttl is not None and ttl > timedelta(0):
            return max(1, int(ttl.total_seconds() * 1000))
        base = (self.settings.negative_ttl if negative else self.settings.ttl).total_seconds()
        jittered = base * 1000 * (1 - self.settings.ttl_jitter * random.random())  # noqa: S311
        return max(1, int(jittered))

    @property
    def grace_ms(self) -> int:
        return int(self.settings.grace.total_seconds() * 1000)

    @property
    def lease_ttl_ms(self) -> int:
        lease = self.settings.lease_ttl or self.settings.loader_timeout + timedelta(seconds=1)
        return max(1, int(lease.total_seconds() * 1000))


class Namespaces(Mapping[str, Namespace]):
    """Every declared namespace, resolved once at start."""

    def __init__(
        self,
        settings: Settings,
        backends: Mapping[str, Backend],
        telemetry: Telemetry | None = None,
    ) -> None:
        prefix = settings.key_prefix.encode()
        self._by_name = {}
        for name, ns in settings.namespaces.items():
            backend = backends[ns.backend]
            keys = KeyLayout(prefix, name, ns.write_behind.partitions if ns.write_behind else None)
            self._by_name[name] = Namespace(
                name, ns, backend, keys, _near_cache(name, ns, backend, keys, telemetry)
            )

    def resolve(self, name: str) -> Namespace:
        """The namespace called ``name``, or NOT_FOUND / NAMESPACE_UNKNOWN."""
        namespace = self._by_name.get(name)
        if namespace is None:
            declared = ", ".join(sorted(self._by_name)) or "none"
            # Cut short: the rest of the message (what to do) must fit the trailers.
            shown = (name if len(name) <= 64 else name[:64] + "…") if name else "(empty)"
            raise NotFound(
                f"namespace {shown!r} is not declared (declared: {declared}); "
                "declare it under `namespaces:` in the cachecar config",
                reason="NAMESPACE_UNKNOWN",
                metadata={"namespace": name[:128]},
            )
        return namespace

    def __getitem__(self, name: str) -> Namespace:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def _near_cache(
    name: str, ns: NamespaceSettings, backend: Backend, keys: KeyLayout, telemetry: Telemetry | None
) -> NearCache | None:
    """The namespace's near cache, subscribed to its backend's invalidation feed."""
    if ns.near_cache is None:
        return None
    staleness = ns.near_cache.max_staleness
    feed = backend.capabilities.get(InvalidationFeed)
    if feed is None and staleness is None:
        # Config validation refuses this for Memcached; any other feedless
        # component gets the same answer here, at start.
        Namespace(name, ns, backend, keys).require(InvalidationFeed)
    near = NearCache(
        name,
        ns.near_cache.max_bytes,
        slot=feed.slot if feed is not None else None,
        max_staleness_ms=None if staleness is None else int(staleness.total_seconds() * 1000),
        telemetry=telemetry,
    )
    if feed is not None:
        feed.subscribe(keys.value_prefix(), near)
    return near
