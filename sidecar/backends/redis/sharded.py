"""Sharded Pub/Sub on Redis Cluster (Redis 7.0+): SPUBLISH, and SSUBSCRIBE per owner.

Classic ``PUBLISH`` on a cluster is broadcast: the receiving node forwards the
message over the cluster bus to every other node, whether or not anyone there
listens, so pub/sub traffic grows with the cluster's size. ``SPUBLISH``
delivers only within the shard that owns the channel's hash slot (its primary
and replicas), and a subscriber must ``SSUBSCRIBE`` on that shard.

redis-py's ``ClusterPubSub`` can ssubscribe per node, but it reconnects and
resubscribes silently (and polls nodes in turn): a gap in a fire-and-forget
channel would go unreported. So the pattern layer's hub keeps one of our own
subscribed-mode connections per owning primary (the same
:class:`SubscriberConnection` as the broadcast path), and this component only
says who owns a channel, re-reads the slot map when asked, and opens those
connections. ``SPUBLISH`` itself goes through the cluster client, which routes
it by the channel's slot and follows ``MOVED``.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from sidecar.backends.breaker import guarded
from sidecar.backends.redis.link import RedisLink
from sidecar.backends.redis.pubsub import SubscriberConnection, open_subscriber
from sidecar.errors import BackendUnavailable
from sidecar.telemetry.commands import observed

__all__ = ["RedisShardedPubSub"]


class RedisShardedPubSub:
    """The :class:`~sidecar.backends.pubsub.ShardedPubSub` of a Redis Cluster backend."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self.name = link.name
        self.observer = link.observer
        self.breaker = link.breaker
        self._client: Any = link.client

    @observed("SPUBLISH")
    @guarded
    async def spublish(self, channel: bytes, data: bytes) -> int:
        """SPUBLISH on the owning shard; how many subscriber connections of that
        shard's node received it."""
        with self._link.translate_errors():
            return int(await self._client.spublish(channel, data))

    def owner_of(self, channel: bytes) -> str:
        """host:port of the primary owning ``channel``'s slot, by the cached slot map."""
        try:
            node = self._client.get_node_from_key(channel)
        except (RedisError, RedisClusterException) as exc:
            # SlotNotCoveredError (mid-failover, nobody serves the slot) is a
            # RedisClusterException, not a RedisError: both mean "retry later".
            raise BackendUnavailable(
                f"redis backend {self.name!r}: no node serves the slot of a sharded "
                f"channel right now ({exc}); the subscription is retried",
                metadata={"backend": self.name},
            ) from exc
        if node is None:
            raise BackendUnavailable(
                f"redis backend {self.name!r}: the slot map is not loaded yet",
                metadata={"backend": self.name},
            )
        return f"{node.host}:{node.port}"

    async def refresh_owners(self) -> None:
        """Read the slot map again from a node that answers."""
        with self._link.translate_errors():
            await self._client.initialize()  # the first time: nodes, slots, command table
            await self._client.nodes_manager.initialize()

    async def connect_shard(self, owner: str) -> SubscriberConnection:
        """A dedicated subscribed-mode connection to node ``owner``."""
        host, _, port = owner.rpartition(":")
        with self._link.translate_errors():
            await self._client.initialize()  # a no-op once the slot map is loaded
            node = self._client.get_node(host=host, port=int(port))
            if node is None:  # gone from the slot map: its settings serve as any node's
                node = self._client.get_nodes()[0]
            return await open_subscriber(
                self._link,
                node.connection_class,
                node.connection_kwargs,
                owner,
                host=host,
                port=int(port),
            )
