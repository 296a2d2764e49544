"""What the contract suites share: the components, their declarations, bounded polling.

Declarations are read from the components themselves (a throwaway instance
per component, on an address nothing listens on: constructing a component
does not connect), so a suite's parameter list follows the code, and a
component that stops declaring an interface leaves that suite instead of
being skipped in it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

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
from sidecar.backends.registry import open_backend
from sidecar.backends.versions import VersionedStore
from sidecar.config import BackendSettings

__all__ = [
    "COMPONENTS",
    "INTERFACES",
    "declared",
    "declaring",
    "eventually",
    "implementation",
    "needs",
    "undeclared",
]

C = TypeVar("C")

#: Every component, by the name of the test server fixture it runs against
#: (``<name>_url`` in tests/conftest.py).
COMPONENTS = ("redis", "cluster", "memcached")

# Port 1: nothing listens there, and nothing ever connects to it (see above).
_PROBE_URLS = {
    "redis": "redis://127.0.0.1:1",
    "cluster": "redis+cluster://127.0.0.1:1",
    "memcached": "memcached://127.0.0.1:1",
}

#: Every capability interface, in the order the docs' matrix lists them. Each
#: has a contract suite in this package; a component declaring anything else
#: fails :func:`declared`, so a new capability cannot arrive without one.
INTERFACES: tuple[type, ...] = (
    SessionStore,
    SubjectRevocation,
    LeaderboardStore,
    CounterStore,
    WriteQueue,
    PubSubTransport,
    ShardedPubSub,
    InvalidationFeed,
    VersionedStore,
)


@functools.cache
def declared(component: str) -> frozenset[type]:
    """The interfaces ``component`` declares in its Capabilities."""
    backend = open_backend("probe", BackendSettings(url=_PROBE_URLS[component]))
    try:
        capabilities = backend.capabilities
        found = frozenset(i for i in INTERFACES if capabilities.get(i) is not None)
        unknown = set(capabilities.names()) - {i.__name__ for i in found}
    finally:
        asyncio.run(backend.aclose())
    if unknown:
        raise AssertionError(
            f"{component} declares {sorted(unknown)}, which no contract suite covers: "
            "add the interface to tests/contracts/support.py INTERFACES and write its suite"
        )
    return found


def declaring(*interfaces: type) -> list[str]:
    """The components that declare every one of ``interfaces`` (all for none)."""
    return [c for c in COMPONENTS if set(interfaces) <= declared(c)]


def needs(*interfaces: type) -> pytest.MarkDecorator:
    """Mark a test (or, as ``pytestmark``, a module) to run against the components
    declaring every one of ``interfaces`` (see conftest.py)."""
    # with_args: called with one class, a mark would decorate that class instead.
    return pytest.mark.capability.with_args(*interfaces)


def undeclared() -> list[tuple[str, type]]:
    """Every (component, interface) pair the component does not declare."""
    return [(c, i) for c in COMPONENTS for i in INTERFACES if i not in declared(c)]


def implementation(component: Backend, interface: type[C]) -> C:
    """``component``'s implementation of ``interface``. Suites only run against
    components that declare it, so a missing one is a failure, never a skip."""
    found = component.capabilities.get(interface)
    if found is None:
        pytest.fail(
            f"{component.name} ({component.kind}) was collected for "
            f"{interface.__name__} but does not declare it"
        )
    return found


async def eventually(
    probe: Callable[[], Awaitable[bool]], what: str, *, within: float = 10.0
) -> None:
    """Poll ``probe`` until it is true. Only expiry is waited for this way, and
    Memcached's clock ticks in whole seconds: ``within`` bounds the wait, it is
    not a claim about how long expiry takes."""
    deadline = time.monotonic() + within
    for _ in range(int(within / 0.05) + 1):
        if await probe():
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {within}s")
