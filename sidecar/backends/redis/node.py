"""What cachecar adds to each Redis Cluster node: ASKING done right, a breaker per node.

Both sit in :class:`redis.asyncio.cluster.ClusterNode`'s ``execute_command``,
the one place where the node a command goes to is known (redis-py creates
nodes itself, on every topology change, so the method is wrapped once for
the class by :func:`patch_cluster_nodes`).

**ASKING on the command's own connection.** redis-py answers an ``ASK``
redirection by sending ``ASKING`` and then the command as two pool
checkouts, and a node's pool hands connections out first-in first-out: with
two or more idle connections the command leaves on another connection than
the ``ASKING`` (which only holds for its own connection), the importing node
answers ``MOVED`` back to the old owner, which answers ``ASK`` again, until
redis-py gives up ("TTL exhausted"). Measured: under 8 concurrent calls,
reads of keys in a slot held mid-migration failed. Here ``ASKING`` is held
back and written together with the command, on one connection.

**A breaker per node.** A command a node fails to answer (connection refused
or lost, timeout) counts toward that node's breaker, which, once open, fails
that node's commands at once as ``NodeUnavailable``; commands to the other
nodes go on, and the backend's own breaker does not count them. The breakers
of the backend issuing the command come through :data:`CURRENT`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from redis.asyncio.cluster import ClusterNode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sidecar.backends.breaker import BreakerState, CircuitBreaker

__all__ = ["CURRENT", "NodeBreakers", "patch_cluster_nodes"]

#: The node an ASKING was asked for, in this task: sent with its next command.
_ASKING: ContextVar[ClusterNode | None] = ContextVar("cachecar_asking", default=None)


class NodeBreakers:
    """One circuit breaker per cluster node of one backend, made on first use."""

    def __init__(
        self, backend: str, on_change: Callable[[str, BreakerState], None] | None = None
    ) -> None:
        self.backend = backend
        self._on_change = on_change
        self._by_node: dict[str, CircuitBreaker] = {}

    def of(self, node: str) -> CircuitBreaker:
        found = self._by_node.get(node)
        if found is None:
            notify = self._on_change
            found = self._by_node[node] = CircuitBreaker(
                self.backend,
                node=node,
                on_change=(lambda state: notify(node, state)) if notify else None,
            )
        return found

    def states(self) -> dict[str, BreakerState]:
        return {node: breaker.state for node, breaker in self._by_node.items()}

    @contextmanager
    def current(self) -> Iterator[None]:
        """Commands issued in this block count toward these breakers."""
        token = CURRENT.set(self)
        try:
            yield
        finally:
            CURRENT.reset(token)


#: The breakers of the backend whose command is running in this task.
CURRENT: ContextVar[NodeBreakers | None] = ContextVar("cachecar_node_breakers", default=None)


def patch_cluster_nodes() -> None:
    """Wrap ``ClusterNode.execute_command`` once (idempotent)."""
    original = ClusterNode.execute_command
    if getattr(original, "cachecar", False):
        return

    async def execute_command(self: ClusterNode, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and str(args[0]).upper() == "ASKING":
            _ASKING.set(self)  # deferred to this task's next command on this node
            return True
        breakers = CURRENT.get()
        breaker = None if breakers is None else breakers.of(self.name)
        # Topology queries (CLUSTER SLOTS/SHARDS) are never held back: redis-py
        # tries the next node when one fails, and must learn the new layout.
        if breaker is not None and not str(args[0]).upper().startswith("CLUSTER"):
            breaker.before_call()  # NodeUnavailable when open
        try:
            if _ASKING.get() is self and not kwargs.get("asking"):
                _ASKING.set(None)
                kwargs.pop("asking", None)
                result = await _asking(self, args, kwargs)
            else:
                result = await original(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if breaker is not None:
                breaker.failed(f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            if breaker is not None:
                breaker.abandoned()  # the node answered (an error reply, a redirection)
            raise
        if breaker is not None:
            breaker.succeeded()
        return result

    execute_command.cachecar = True  # type: ignore[attr-defined]
    ClusterNode.execute_command = execute_command  # type: ignore[method-assign]


async def _asking(node: ClusterNode, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``ASKING`` and the command, written together on one connection."""
    connection = node.acquire_connection()
    try:
        await node.disconnect_if_needed(connection)
        await connection.send_packed_command(connection.pack_commands([("ASKING",), args]))
        await node.parse_response(connection, "ASKING")
        return await node.parse_response(connection, args[0], **kwargs)
    finally:
        try:
            await node.disconnect_if_needed(connection)
        finally:
            node.release(connection)
