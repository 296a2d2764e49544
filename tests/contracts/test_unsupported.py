"""What a component does not declare, it does not offer: one shared answer.

For every (component, interface) pair not declared, ``Namespace.require``
raises FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND naming the capability
and the backend's kind, and a real sidecar sends that ErrorInfo to the
caller. A declaration whose object does not implement its interface is
refused when the component is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from cachecar.v1 import session_pb2

from sidecar.backends.base import Backend, Capabilities
from sidecar.backends.capabilities import (
    CounterStore,
    LeaderboardStore,
    SessionStore,
    SubjectRevocation,
)
from sidecar.backends.invalidation import InvalidationFeed
from sidecar.backends.pubsub import PubSubTransport, ShardedPubSub
from sidecar.backends.queue import WriteQueue
from sidecar.config import NamespaceSettings
from sidecar.config_types import ConfigError
from sidecar.errors import FailedPrecondition
from sidecar.patterns.keys import KeyLayout
from sidecar.patterns.namespace import Namespace
from tests import calls
from tests.appfixtures import RunningSidecar, SidecarFactory, error_info, make_settings
from tests.contracts.support import INTERFACES, undeclared
from tests.pubsubhelpers import publish


def namespace_on(component: Backend, keys: KeyLayout) -> Namespace:
    return Namespace(keys.namespace, NamespaceSettings(backend=component.name), component, keys)


async def test_an_undeclared_capability_is_not_supported(
    component: Backend, lacking: type, keys: KeyLayout
) -> None:
    ns = namespace_on(component, keys)
    with pytest.raises(FailedPrecondition) as refused:
        ns.require(lacking)
    error = refused.value
    assert error.reason == "NOT_SUPPORTED_BY_BACKEND"
    assert error.metadata == {
        "namespace": ns.name,
        "backend": component.name,
        "kind": component.kind,
        "capability": lacking.__name__,
    }
    assert ns.name in error.message
    assert component.kind in error.message


async def test_a_declared_capability_is_handed_out(component: Backend, keys: KeyLayout) -> None:
    ns = namespace_on(component, keys)
    for interface in INTERFACES:
        offered = component.capabilities.get(interface)
        if offered is None:
            with pytest.raises(FailedPrecondition):
                ns.require(interface)
        else:
            assert ns.require(interface) is offered
            assert isinstance(offered, interface)


class _HalfASessionStore:
    async def session_create(self, *args: object) -> bool:
        return False


@pytest.mark.parametrize("impostor", [object(), _HalfASessionStore()], ids=["nothing", "half"])
def test_a_declaration_must_implement_its_interface(impostor: object) -> None:
    with pytest.raises(TypeError, match=r"declares SessionStore but \w+ does not implement it"):
        Capabilities("test component", {SessionStore: impostor})


# -- end to end: the caller's ErrorInfo -------------------------------------------------

# One RPC per capability that needs it, against the test sidecar's namespace "items".
_RPCS: dict[type, Callable[[RunningSidecar], Awaitable[Any]]] = {
    PubSubTransport: lambda sc: publish(sc.channel, "news", b"x"),
    SubjectRevocation: lambda sc: calls.sessions(sc).DeleteSubjectSessions(
        session_pb2.DeleteSubjectSessionsRequest(namespace=calls.NS, subject="alice")
    ),
    LeaderboardStore: lambda sc: calls.add(calls.boards(sc), "m", 1),
    CounterStore: lambda sc: calls.incr(calls.boards(sc), "c", 1),
    SessionStore: lambda sc: calls.create(calls.sessions(sc)),
}


@pytest.mark.parametrize(
    ("name", "lacks"), undeclared(), ids=[f"{c}-{i.__name__}" for c, i in undeclared()]
)
async def test_the_caller_gets_not_supported_by_backend(
    name: str, lacks: type, request: pytest.FixtureRequest, sidecar_for: SidecarFactory
) -> None:
    url: str = request.getfixturevalue(f"{name}_url")
    if lacks is WriteQueue:
        # Write-behind cannot even be configured there: refused at start, not per call.
        with pytest.raises(ConfigError, match="write_behind: needs a Redis backend"):
            make_settings(url, None, writer="127.0.0.1:1", write_behind={})
        return
    if lacks is InvalidationFeed:
        # A near cache without the feed must be declared with a staleness bound;
        # without one it is refused at start (with one, it is bounded, not coherent).
        with pytest.raises(ConfigError, match="cannot invalidate a near cache"):
            make_settings(url, None, near_cache={"max_bytes": "1MiB"})
        return
    if lacks is ShardedPubSub:
        if name == "memcached":  # no pub/sub at all: refused at start
            with pytest.raises(ConfigError, match="sharded pub/sub needs a Redis"):
                make_settings(url, None, channels={"sharded": True})
            return
        # One node has no shards to spare: a sharded namespace uses plain PUBLISH.
        sc = await sidecar_for(url, channels={"sharded": True})
        assert (await publish(sc.channel, "news", b"x", namespace=calls.NS)).receiver_count == 0
        return
    assert lacks in _RPCS, f"add an RPC that needs {lacks.__name__} to _RPCS"
    sc = await sidecar_for(url)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _RPCS[lacks](sc)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(caught.value)
    assert info.reason == "NOT_SUPPORTED_BY_BACKEND"
    assert dict(info.metadata) == {
        "namespace": calls.NS,
        "backend": "main",
        "kind": "memcached" if name == "memcached" else "redis",
        "capability": lacks.__name__,
    }
