"""Namespaces: the unit of policy (TTLs, limits, callbacks) and of isolation.

A caller names a namespace on every request; this module resolves it, checks
keys and values against its limits, and computes TTLs with jitter.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sidecar.backends.base import Backend
from sidecar.config import NamespaceSettings, Settings
from sidecar.errors import InvalidArgument, NotFound
from sidecar.patterns.keys import KeyLayout
from sidecar.security import CallerAuth

__all__ = ["Namespace", "Namespaces"]

_MAX_TTL = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Namespace:
    """One declared namespace with its backend and stored-key layout."""

    name: str
    settings: NamespaceSettings
    backend: Backend
    keys: KeyLayout = field(repr=False)

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
        auth: CallerAuth | None = None,
    ) -> None:
        #: Set when the config names callers: every resolve checks the caller.
        self._auth = auth
        prefix = settings.key_prefix.encode()
        self._by_name = {
            name: Namespace(
                name,
                ns,
                backends[ns.backend],
                KeyLayout(prefix, name, ns.write_behind.partitions if ns.write_behind else None),
            )
            for name, ns in settings.namespaces.items()
        }

    def check_caller(self, name: str, context: Any) -> None:
        """With callers configured: UNAUTHENTICATED / PERMISSION_DENIED unless the
        call's ``context`` proves a caller allowed to use namespace ``name``.

        The api layer calls this before it does any work for a call (such as
        reading the caller's trace headers); :meth:`resolve` checks again."""
        if self._auth is not None:
            self._auth.authorize(context, name)

    def resolve(self, name: str, context: Any = None) -> Namespace:
        """The namespace called ``name``, or NOT_FOUND / NAMESPACE_UNKNOWN.

        With callers configured, the call's ``context`` must prove a caller
        allowed to use it (UNAUTHENTICATED / PERMISSION_DENIED otherwise),
        checked first so an unknown caller learns no namespace names.
        """
        if self._auth is not None:
            self._auth.authorize(context, name)
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
