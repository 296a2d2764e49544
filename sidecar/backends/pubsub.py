"""The pub/sub capability: fire-and-forget channels, and durable channels on streams.

What the pub/sub pattern (``patterns/pubsub.py``, ``fanout.py``,
``streams.py``) needs from a store:

- ``publish``: deliver a message to the subscribers of a channel, now or never;
- ``append`` / ``last_id`` / ``read_after``: a durable channel is an ordered log
  whose ids are ``(ms, ordinal)``, the ordinal numbering messages 1, 2, 3...
  so a reader sees exactly how many retention trimmed away; every append is
  announced on a notification channel, so tailing sidecars learn of it on
  their one subscriber connection;
- ``connect_subscriber``: a dedicated connection in subscribed mode, on which
  SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE / PING are sent without
  waiting and every reply arrives, in order, through ``read``.

Implemented by ``sidecar.backends.redis.pubsub.RedisPubSub`` (Redis and Redis
Cluster); Memcached has no pub/sub.

:class:`ShardedPubSub` is the sharded variant (Redis Cluster, 7.0+: ``SPUBLISH``
/ ``SSUBSCRIBE``): a message goes to the shard that owns the channel's slot
only, instead of being broadcast over the cluster bus to every node, so a
subscriber must hold a connection to that owner. Declared by the Redis
component on a cluster only (``sidecar.backends.redis.sharded``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Delivery",
    "PubSubTransport",
    "ShardedPubSub",
    "StreamEntry",
    "StreamId",
    "Subscriber",
    "SubscriberCommand",
    "format_id",
    "parse_id",
]

#: A stream id as (milliseconds, sequence); cachecar's sequence is an ordinal.
StreamId = tuple[int, int]

SubscriberCommand = Literal[
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SSUBSCRIBE",
    "SUNSUBSCRIBE",
    "PING",
]


def parse_id(raw: bytes | str) -> StreamId:
    """``b"1718000000000-7"`` -> ``(1718000000000, 7)``; ValueError if malformed."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, sep, seq = text.partition("-")
    if not (sep and ms.isdigit() and seq.isdigit() and ms.isascii() and seq.isascii()):
        raise ValueError(f"not a stream id: {text!r}")
    parsed = (int(ms), int(seq))
    if max(parsed) >= 2**64:
        raise ValueError(f"not a stream id: {text!r}")
    return parsed


def format_id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One message of a durable channel, as stored."""

    id: StreamId
    fields: dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One reply read on a subscriber connection.

    ``kind`` is Redis's: ``message``, ``pmessage``, ``smessage``, ``subscribe``,
    ``psubscribe``, ``ssubscribe``, ``unsubscribe``, ``punsubscribe``,
    ``sunsubscribe`` (also unasked: a node that lost the channel's slot drops
    its subscribers) or ``pong``.
    """

    kind: bytes
    channel: bytes
    pattern: bytes | None = None
    data: bytes = b""


@runtime_checkable
class Subscriber(Protocol):
    """One connection in subscribed mode."""

    #: host:port of the server it is connected to.
    address: str

    async def send(self, command: SubscriberCommand, *names: bytes) -> None:
        """Send without waiting: the reply arrives through :meth:`read`."""
        ...

    async def read(self, within: float | None) -> Delivery | None:
        """The next reply; None if nothing arrived within ``within`` seconds."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class PubSubTransport(Protocol):
    """Channels and durable streams of one backend."""

    #: The backend's config name, for messages.
    name: str

    async def publish(self, channel: bytes, data: bytes) -> int:
        """Publish on a channel; how many subscriber connections received it."""
        ...

    async def append(
        self, stream: bytes, notify: bytes, fields: Sequence[tuple[bytes, bytes]], max_len: int
    ) -> StreamId:
        """Append to a durable channel (retaining about ``max_len`` messages) and
        announce the new id on ``notify``."""
        ...

    async def last_id(self, stream: bytes) -> StreamId:
        """The id of the newest message, or (0, 0) for an empty channel."""
        ...

    async def read_after(self, stream: bytes, after: StreamId, count: int) -> list[StreamEntry]:
        """Up to ``count`` messages after ``after``, oldest first."""
        ...

    async def connect_subscriber(self) -> Subscriber:
        """A new connection for SUBSCRIBE / PSUBSCRIBE."""
        ...


@runtime_checkable
class ShardedPubSub(Protocol):
    """Sharded channels of a cluster: each lives on the shard owning its slot."""

    #: The backend's config name, for messages.
    name: str

    async def spublish(self, channel: bytes, data: bytes) -> int:
        """Publish on the owning shard; how many of its subscriber connections received it."""
        ...

    def owner_of(self, channel: bytes) -> str:
        """host:port of the primary that owns ``channel``'s slot, by the slot map
        last read (:meth:`refresh_owners` reads it again); BackendUnavailable if
        no node covers the slot."""
        ...

    async def refresh_owners(self) -> None:
        """Read the cluster's slot map again (after a failover or a slot move)."""
        ...

    async def connect_shard(self, owner: str) -> Subscriber:
        """A new connection to node ``owner`` (host:port) for SSUBSCRIBE."""
        ...
