"""Redis primitives for Pub/Sub: PUBLISH, durable channels on Streams, and the
dedicated connection a sidecar subscribes on.

- Fire-and-forget channels are classic Redis Pub/Sub: ``PUBLISH`` through the
  backend's pool, ``SUBSCRIBE`` / ``PSUBSCRIBE`` on a :class:`SubscriberConnection`
  of its own (a connection in subscribed mode can do nothing else).
- Durable channels are streams: :meth:`RedisPubSub.append` runs one Lua
  script that appends the message (``XADD ... MAXLEN ~``) and publishes its id
  on the stream's notification channel, so tailing sidecars learn of it on
  their one subscriber connection instead of holding a blocking ``XREAD`` per
  stream (which in a cluster would take a connection per hash slot).
- Stream ids are ``<ms>-<ordinal>``: the script numbers messages 1, 2, 3...
  per stream (the id's sequence part) and keeps the ms part at the server's
  clock but never below the previous id. A subscriber then sees exactly how
  many messages retention trimmed away from under it (a gap in ordinals);
  Redis's own ``max-deleted-entry-id`` does not count trimming.

Redis Cluster: classic Pub/Sub messages are broadcast to every node, so the
subscriber connection goes to any one node (the next one on each reconnect,
so a dead node is not retried forever); streams live in their key's slot and
the script runs there. Every driver exception becomes ``BackendUnavailable``
through the backend's ``translate_errors``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from sidecar.backends.breaker import guarded
from sidecar.backends.pubsub import (
    Delivery,
    StreamEntry,
    StreamId,
    SubscriberCommand,
    format_id,
    parse_id,
)
from sidecar.backends.redis.connections import never_retire
from sidecar.backends.redis.link import RedisLink
from sidecar.errors import BackendUnavailable
from sidecar.telemetry.commands import observed

__all__ = ["RedisPubSub", "SubscriberConnection", "open_subscriber"]

# KEYS[1] stream; ARGV[1] notification channel, ARGV[2] max length,
# ARGV[3..] field, value, ... Returns the new id "<ms>-<ordinal>".
_APPEND = """
local top = nil
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  top = last[1][1]
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then top = info[i + 1] end
  end
end
local ms, ordinal = 0, 0
if top then
  local dash = string.find(top, '-', 1, true)
  ms = tonumber(string.sub(top, 1, dash - 1))
  ordinal = tonumber(string.sub(top, dash + 1))
end
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if t < ms then t = ms end
local id = string.format('%d-%d', t, ordinal + 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id, unpack(ARGV, 3))
redis.call('PUBLISH', ARGV[1], id)
return id
"""


class SubscriberConnection:
    """A dedicated connection in subscribed mode, outside the backend's pool.

    Commands are sent without waiting for their replies: every reply, the
    subscribe confirmations included, arrives through :meth:`read`, in order.
    """

    def __init__(self, connection: Any, link: RedisLink, address: str) -> None:
        self._conn = connection
        self._link = link
        self.address = address

    async def send(self, command: SubscriberCommand, *names: bytes) -> None:
        # redis-py would silently reconnect a dropped connection on send; a
        # fresh connection holds no subscriptions, so refuse instead and let
        # the owner reconnect and resubscribe.
        if not self._conn.is_connected:
            raise BackendUnavailable(
                f"redis backend {self._link.name!r}: the subscriber connection is closed",
                metadata={"backend": self._link.name},
            )
        with self._link.translate_errors():
            await self._conn.send_command(command, *names)

    async def read(self, within: float | None) -> Delivery | None:
        """The next reply; None if nothing arrived within ``within`` seconds."""
        with self._link.translate_errors():
            reply = await self._conn.read_response(
                timeout=math.inf if within is None else within, disconnect_on_error=False
            )
        if reply is None:
            return None
        if not isinstance(reply, list):  # PONG once no subscription is left, say
            return Delivery(reply.lower() if isinstance(reply, bytes) else b"reply", b"")
        kind = bytes(reply[0]).lower()
        if kind == b"pmessage":
            return Delivery(kind, bytes(reply[2]), bytes(reply[1]), bytes(reply[3]))
        if kind in (b"message", b"smessage"):
            return Delivery(kind, bytes(reply[1]), None, bytes(reply[2]))
        channel = reply[1] if len(reply) > 1 and isinstance(reply[1], bytes) else b""
        return Delivery(kind, channel)

    async def aclose(self) -> None:
        # Already gone is fine: nothing is left to release. Waiting for the
        # close (bounded by the connect timeout inside redis-py) lets a TLS
        # connection finish its shutdown instead of leaking its socket.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await self._conn.disconnect()


async def open_subscriber(
    link: RedisLink,
    connection_class: Any,
    pooled: dict[str, Any],
    address: str,
    **override: Any,
) -> SubscriberConnection:
    """A connected subscribed-mode connection with a pool's settings (``override``
    replaces some, e.g. another node's host and port)."""
    conn = connection_class(**{**subscriber_options(pooled), **override})
    never_retire(conn)  # age retirement would redial it under its reader
    subscriber = SubscriberConnection(conn, link, address)
    try:
        await conn.connect()
    except BaseException:
        await subscriber.aclose()  # a half-open connection is still a socket
        raise
    return subscriber


def subscriber_options(pooled: dict[str, Any]) -> dict[str, Any]:
    # The pool's settings (address, credentials, TLS, timeouts) with RESP2:
    # in RESP2 every subscribed-mode reply is a plain array, read in order,
    # while redis-py's RESP3 default routes them to push handlers. The pool's
    # maintenance-notification hooks belong to pooled connections only.
    options = {k: v for k, v in pooled.items() if not k.startswith("maint_notifications")}
    options["protocol"] = 2
    return options


class RedisPubSub:
    """The :class:`~sidecar.backends.pubsub.PubSubTransport` of a Redis backend."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self.name = link.name
        self.observer = link.observer
        self.breaker = link.breaker
        self._client = link.client
        self._append = link.script(_APPEND)
        self._next_node = 0

    @observed("PUBLISH")
    @guarded
    async def publish(self, channel: bytes, data: bytes) -> int:
        """Publish on a Redis channel; how many Redis clients received it (in a
        cluster: clients of the node that ran the command)."""
        with self._link.translate_errors():
            return int(await self._client.publish(channel, data))

    @observed("XADD")
    @guarded
    async def append(
        self, stream: bytes, notify: bytes, fields: Sequence[tuple[bytes, bytes]], max_len: int
    ) -> StreamId:
        """Append to a durable channel (retaining about ``max_len`` messages) and
        announce the new id on ``notify``."""
        args: list[bytes | int] = [notify, max_len]
        for name, value in fields:
            args += [name, value]
        with self._link.translate_errors():
            return parse_id(await self._append(keys=[stream], args=args))

    @observed("XREVRANGE")
    @guarded
    async def last_id(self, stream: bytes) -> StreamId:
        """The id of the newest message, or (0, 0) for an empty channel."""
        with self._link.translate_errors():
            newest = await self._client.xrevrange(stream, max=b"+", min=b"-", count=1)
        return parse_id(newest[0][0]) if newest else (0, 0)

    @guarded
    async def read_after(self, stream: bytes, after: StreamId, count: int) -> list[StreamEntry]:
        """Up to ``count`` messages after ``after``, oldest first.

        Not traced: sidecars tail streams in the background, outside any call,
        and a root span per read would bury the traces that matter.
        """
        started = time.perf_counter()
        try:
            with self._link.translate_errors():
                rows = await self._client.xrange(
                    stream, min=b"(" + format_id(after).encode(), max=b"+", count=count
                )
        except BackendUnavailable:
            self.observer.errors("XRANGE").inc()
            raise
        finally:
            self.observer.duration("XRANGE").observe(time.perf_counter() - started)
        return [StreamEntry(parse_id(sid), dict(fields)) for sid, fields in rows]

    async def connect_subscriber(self) -> SubscriberConnection:
        """A new connection for SUBSCRIBE / PSUBSCRIBE (to one node in a cluster)."""
        with self._link.translate_errors():
            if self._link.cluster:
                await self._client.initialize()
                nodes = self._client.get_nodes()
                node = nodes[self._next_node % len(nodes)]
                self._next_node += 1
                return await open_subscriber(
                    self._link,
                    node.connection_class,
                    node.connection_kwargs,
                    f"{node.host}:{node.port}",
                )
            pool = self._client.connection_pool
            return await open_subscriber(
                self._link, pool.connection_class, pool.connection_kwargs, self._link.address
            )
