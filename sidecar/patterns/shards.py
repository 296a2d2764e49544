"""Sharded channels (``channels.sharded``): one hub per owning primary, and re-placement.

On a Redis Cluster a sharded channel lives on the shard that owns its hash
slot: ``SPUBLISH`` reaches that shard only, so a sidecar must ``SSUBSCRIBE``
on the owner. :class:`ShardedHub` offers the same watch / unwatch interface
as the broadcast :class:`~sidecar.patterns.fanout.Hub` and keeps one such hub
(built with a :class:`~sidecar.patterns.fanout.Shard`) per node that owns a
watched channel; each node hub does what the broadcast one does (confirm,
keepalive PING, reconnect with backoff).

A channel changes owner on a failover (its primary dies, a replica is
promoted) or a slot migration. Either way its node hub reports trouble: the
connection died, or the node sent an unasked ``sunsubscribe`` (a node that
loses a slot drops its shard subscribers). The placer task then re-reads the
slot map and moves every channel whose owner changed to the new owner's hub,
retrying with backoff while a node stays unreachable. Messages published in
between are lost (fire-and-forget is at-most-once) and never silently: each
listener was told ``on_lost`` and hears ``on_subscribed`` once the new owner
confirms, which puts a MissedEvent (RESUBSCRIBED) in its stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextvars import Context
from dataclasses import dataclass, field
from functools import partial

from sidecar.backends.pubsub import ShardedPubSub
from sidecar.errors import BackendUnavailable
from sidecar.patterns.fanout import (
    Hub,
    Kind,
    Listener,
    Shard,
    backoff_delay,
    stop_tasks,
    wait_active,
)
from sidecar.telemetry import Metrics

__all__ = ["ShardedHub"]

log = logging.getLogger("cachecar.pubsub")


@dataclass(eq=False)
class _Channel:
    listeners: set[Listener] = field(default_factory=set)
    #: The node hub it is watched on; None while it waits for the placer.
    owner: str | None = None
    #: Given to watchers while unplaced; resolved once a node confirms it.
    pending: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def _settle(pending: asyncio.Future[None], _: asyncio.Future[None]) -> None:
    if not pending.done():
        pending.set_result(None)


class ShardedHub:
    """The sharded channels of one Redis Cluster backend, one hub per owner."""

    def __init__(
        self,
        shards: ShardedPubSub,
        metrics: Metrics,
        *,
        ping_interval: float = 15.0,
        max_backoff: float = 2.0,
    ) -> None:
        self._shards = shards
        self._metrics = metrics
        self._ping_interval = ping_interval
        self._max_backoff = max_backoff
        self._channels: dict[bytes, _Channel] = {}
        self._hubs: dict[str, Hub] = {}
        self._dirty = asyncio.Event()
        #: Whether the slot map must be read again before placing.
        self._stale = True
        self._failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                self._place_forever(), name=f"pubsub-shards-{self._shards.name}", context=Context()
            )
        ]

    # -- the Hub interface the pub/sub pattern uses ---------------------------------

    def watch(self, kind: Kind, name: bytes, listener: Listener) -> asyncio.Future[None]:
        if kind != "channel":  # the pattern refuses patterns first (no SPSUBSCRIBE)
            raise ValueError("sharded channels cannot be watched by pattern")
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
            self._dirty.set()
        channel.listeners.add(listener)
        if channel.owner is None:
            return channel.pending
        return self._hubs[channel.owner].watch("channel", name, listener)

    def unwatch(self, kind: Kind, name: bytes, listener: Listener) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.listeners.discard(listener)
        if channel.owner is not None:
            self._hubs[channel.owner].unwatch(kind, name, listener)
        if not channel.listeners:
            del self._channels[name]
            self._dirty.set()  # its hub may now be idle: closed by the placer

    async def wait_active(
        self,
        futures: Iterable[asyncio.Future[None]],
        within: float,
        *,
        abort: asyncio.Future[None] | None = None,
    ) -> None:
        await wait_active(self._shards.name, futures, within, abort=abort)

    def listeners_of(self, channel: bytes) -> set[Listener]:
        found = self._channels.get(channel)
        return set() if found is None else set(found.listeners)

    def redis_receipts(self, channel: bytes) -> int:
        found = self._channels.get(channel)
        if found is None or found.owner is None:
            return 0
        return self._hubs[found.owner].redis_receipts(channel)

    def refcounts(self) -> dict[str, int]:
        return {
            f"channel:{name.decode(errors='replace')}": len(channel.listeners)
            for name, channel in self._channels.items()
        }

    def owners(self) -> dict[bytes, str | None]:
        """Channel -> the node it is subscribed on (None: being placed)."""
        return {name: channel.owner for name, channel in self._channels.items()}

    @property
    def connected(self) -> bool:
        return all(hub.connected for hub in self._hubs.values()) and all(
            c.owner is not None for c in self._channels.values()
        )

    # -- trouble reported by the node hubs ----------------------------------------------

    def _on_lost(self) -> None:
        self._stale = True
        self._dirty.set()

    def _on_dropped(self, address: str, name: bytes) -> None:
        hub = self._hubs.get(address)
        channel = self._channels.get(name)
        if hub is None or channel is None or channel.owner != address:
            return
        self._carry_over(hub, name, channel)
        for listener in hub.evict(name):
            listener.on_lost(("channel", name))  # the connection lives on: the hub told nobody
        channel.owner = None
        self._stale = True
        self._dirty.set()

    # -- placing channels on their owners ------------------------------------------------

    async def _place_forever(self) -> None:
        while not self._closed:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._place()
                self._failures = 0
                continue
            except BackendUnavailable as exc:
                log.log(
                    logging.WARNING if self._failures == 0 else logging.DEBUG,
                    "sharded pub/sub: cannot read the cluster's slot map; retrying with backoff",
                    extra={"backend": self._shards.name, "error": exc.message},
                )
            except Exception:  # never let a surprise stop the placing for good
                log.exception(
                    "sharded pub/sub placing failed", extra={"backend": self._shards.name}
                )
            # No node answers, or a slot has no owner yet (a failover in
            # progress): look again after a backoff, until the cluster settles.
            self._failures += 1
            self._stale = True
            await asyncio.sleep(backoff_delay(self._failures, self._max_backoff))
            self._dirty.set()

    async def _place(self) -> None:
        """Move every channel to its owner's hub; close hubs left idle.

        A node hub that cannot reconnect reports it after every attempt (its
        own backoff paces this), so a dead owner is looked up again until the
        slot map names its successor."""
        if self._stale:
            self._stale = False
            await self._shards.refresh_owners()
        for name, channel in list(self._channels.items()):
            owner = self._shards.owner_of(name)
            if owner != channel.owner and self._channels.get(name) is channel:
                self._move(name, channel, owner)
        for address, hub in list(self._hubs.items()):
            if hub.idle():
                del self._hubs[address]
                await hub.aclose()

    def _move(self, name: bytes, channel: _Channel, owner: str) -> None:
        old = None if channel.owner is None else self._hubs.get(channel.owner)
        if old is not None:
            self._carry_over(old, name, channel)
            log.info(
                "sharded channel moved to another node; resubscribing there",
                extra={"backend": self._shards.name, "server": owner},
            )
            for listener in channel.listeners:
                old.unwatch("channel", name, listener)
                listener.on_lost(("channel", name))  # a gap until the new owner confirms
        hub = self._hubs.get(owner)
        if hub is None:
            hub = self._hubs[owner] = Hub(
                self._shards,
                self._metrics,
                ping_interval=self._ping_interval,
                max_backoff=self._max_backoff,
                shard=Shard(
                    owner,
                    partial(self._shards.connect_shard, owner),
                    self._on_lost,
                    partial(self._on_dropped, owner),
                ),
            )
            hub.start()
        channel.owner = owner
        active = None
        for listener in channel.listeners:
            active = hub.watch("channel", name, listener)
        pending = channel.pending
        if active is not None and not pending.done():
            active.add_done_callback(partial(_settle, pending))
        channel.pending = asyncio.get_running_loop().create_future()

    @staticmethod
    def _carry_over(hub: Hub, name: bytes, channel: _Channel) -> None:
        # A Subscribe still waiting for this node's confirmation waits for the
        # new owner's instead (it would otherwise time out for nothing).
        waiting = hub.active_of(name)
        if waiting is not None and not waiting.done():
            channel.pending.add_done_callback(partial(_settle, waiting))

    async def aclose(self) -> None:
        self._closed = True
        self._dirty.set()
        await stop_tasks(self._tasks)
        self._tasks = []
        hubs, self._hubs = list(self._hubs.values()), {}
        for hub in hubs:
            await hub.aclose()
