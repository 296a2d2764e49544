"""The hub: one Redis subscriber connection per backend feeds every local subscriber.

Subscriptions are declared, not commanded. A listener (a Subscribe stream, or
the tail of a durable channel) *watches* a topic — a Redis channel or pattern —
and gets a future that resolves once Redis has confirmed the subscription.
The hub reference-counts topics: the first watcher makes it ``SUBSCRIBE``, the
last one to leave makes it ``UNSUBSCRIBE``; a reconciler task turns the
difference between what is wanted and what was sent into commands, batched.

The reader task owns the connection. Replies arrive in order on it: messages
are handed to the topic's listeners synchronously (a listener only appends to
its own bounded buffer, so a slow subscriber can never hold up the others),
and subscribe confirmations resolve the watchers' futures. If the connection
dies — Redis restarts, fails over, or stops answering the keepalive ``PING``
— the reader reconnects with capped, jittered exponential backoff and the
reconciler subscribes everything still wanted again. Messages published while
the connection was down are lost: fire-and-forget channels are at-most-once.
Durable channels lose nothing: their tails re-read the stream when their
notification channel's subscription is confirmed again.

A hub built with a :class:`Shard` is one node's connection of a sharded
namespace (``shards.py``): it sends ``SSUBSCRIBE`` / ``SUNSUBSCRIBE`` (one
channel per command: channels of different slots cannot share one), reads
``smessage``, and tells its owner when the connection dies or the node drops a
channel on its own (an unasked ``sunsubscribe``: the node lost the slot).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from contextvars import Context
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sidecar.backends.pubsub import (
    Delivery,
    PubSubTransport,
    ShardedPubSub,
    Subscriber,
    SubscriberCommand,
)
from sidecar.errors import BackendUnavailable
from sidecar.patterns.glob import glob_match
from sidecar.telemetry import Metrics

__all__ = [
    "Hub",
    "Incoming",
    "Kind",
    "Listener",
    "Shard",
    "Topic",
    "backoff_delay",
    "stop_tasks",
    "wait_active",
]

log = logging.getLogger("cachecar.pubsub")

Kind = Literal["channel", "pattern"]
#: A subscribed name and how (``SUBSCRIBE`` / ``PSUBSCRIBE`` / ``SSUBSCRIBE`` name).
Topic = tuple[Kind, bytes]
_COMMANDS: dict[Kind, tuple[SubscriberCommand, SubscriberCommand]] = {
    "channel": ("SUBSCRIBE", "UNSUBSCRIBE"),
    "pattern": ("PSUBSCRIBE", "PUNSUBSCRIBE"),
}
_CONFIRMS: dict[bytes, Kind] = {b"subscribe": "channel", b"psubscribe": "pattern"}
_SHARD_COMMANDS: dict[Kind, tuple[SubscriberCommand, SubscriberCommand]] = {
    "channel": ("SSUBSCRIBE", "SUNSUBSCRIBE"),
}
_SHARD_CONFIRMS: dict[bytes, Kind] = {b"ssubscribe": "channel"}
_MESSAGES = frozenset({b"message", b"pmessage", b"smessage"})
# Names per SUBSCRIBE command: keeps one command's size sane when thousands
# of subscribers arrive at once.
_BATCH = 256


def backoff_delay(failures: int, cap: float) -> float:
    """Capped exponential backoff with full jitter: 50 ms, 100 ms, ... up to ``cap``."""
    ceiling = min(cap, 0.05 * 2.0 ** min(failures, 16))
    return random.uniform(0.5, 1.0) * ceiling  # noqa: S311  (jitter, not cryptography)


@dataclass(slots=True, eq=False)
class Incoming:
    """One message read from Redis, handed to every listener of its topic."""

    channel: bytes
    #: The Redis pattern it matched; None if delivered to the channel by name.
    pattern: bytes | None
    data: bytes
    #: Whatever the first listener decoded it into, for the next ones to reuse.
    decoded: Any = None


@dataclass(frozen=True, slots=True)
class Shard:
    """What makes a hub one node's connection of a sharded namespace."""

    #: host:port of the node.
    address: str
    connect: Callable[[], Awaitable[Subscriber]]
    #: The connection died (its listeners were told): re-check who owns what.
    on_lost: Callable[[], None]
    #: The node dropped this channel unasked (it no longer owns the slot).
    on_dropped: Callable[[bytes], None]


class Listener(Protocol):
    """Something fed by the hub; both methods run on the reader task and must not block."""

    def on_message(self, incoming: Incoming) -> None: ...

    def on_subscribed(self, topic: Topic) -> None:
        """Redis confirmed ``topic`` (again, after a reconnect); also told to a
        listener that joins a topic already confirmed."""
        ...

    def on_lost(self, topic: Topic) -> None:
        """The connection that carried ``topic`` died (or its node dropped it):
        until it is confirmed again, its messages are not received. Per topic:
        one listener's topics may ride several connections (sharded channels)."""
        ...


@dataclass(eq=False)
class _Interest:
    listeners: set[Listener] = field(default_factory=set)
    active: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Hub:
    """The shared subscriber connection of one Redis backend."""

    def __init__(
        self,
        redis: PubSubTransport | ShardedPubSub,
        metrics: Metrics,
        *,
        ping_interval: float = 15.0,
        max_backoff: float = 2.0,
        shard: Shard | None = None,
    ) -> None:
        self._redis = redis
        self._shard = shard
        if shard is not None:
            self._connect = shard.connect
            self._commands, self._confirms, self._batch = _SHARD_COMMANDS, _SHARD_CONFIRMS, 1
        elif isinstance(redis, PubSubTransport):
            self._connect = redis.connect_subscriber
            self._commands, self._confirms, self._batch = _COMMANDS, _CONFIRMS, _BATCH
        else:
            raise TypeError("a hub on a ShardedPubSub needs a Shard")
        #: Shards: SUNSUBSCRIBEs sent whose reply has not arrived, per channel
        #: (any other sunsubscribe is the node dropping the channel).
        self._unsubscribing: dict[bytes, int] = {}
        self._metrics = metrics
        self._ping_interval = ping_interval
        self._max_backoff = max_backoff
        self._wanted: dict[Kind, dict[bytes, _Interest]] = {"channel": {}, "pattern": {}}
        # What the current connection was told, and what Redis confirmed.
        self._sent: dict[Kind, set[bytes]] = {"channel": set(), "pattern": set()}
        self._confirmed: dict[Kind, set[bytes]] = {"channel": set(), "pattern": set()}
        self._unconfirmed: dict[tuple[Kind, bytes], int] = {}
        self._conn: Subscriber | None = None
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        #: Consecutive failed connections (0 while Redis answers).
        self._failures = 0
        self._closed = False

    def start(self) -> None:
        name = self._redis.name if self._shard is None else self._shard.address
        # Empty contexts: started during some call, they must not carry its
        # trace (log lines would name it, breaker events would land on it).
        self._tasks = [
            asyncio.create_task(self._run(), name=f"pubsub-reader-{name}", context=Context()),
            asyncio.create_task(
                self._reconcile_forever(), name=f"pubsub-sync-{name}", context=Context()
            ),
        ]

    # -- watching ---------------------------------------------------------------

    def watch(self, kind: Kind, name: bytes, listener: Listener) -> asyncio.Future[None]:
        """Feed ``listener`` from topic ``name``; the future resolves once it is active."""
        interest = self._wanted[kind].get(name)
        if interest is None:
            interest = self._wanted[kind][name] = _Interest()
            if name in self._confirmed[kind]:
                # Released but not yet unsubscribed: Redis still has it.
                interest.active.set_result(None)
            else:
                self._dirty.set()
        interest.listeners.add(listener)
        if interest.active.done():
            # Joining a topic Redis already confirmed: the listener counts it as
            # confirmed, so a later loss of the connection is a gap it reports.
            listener.on_subscribed((kind, name))
        return interest.active

    def unwatch(self, kind: Kind, name: bytes, listener: Listener) -> None:
        interest = self._wanted[kind].get(name)
        if interest is None:
            return
        interest.listeners.discard(listener)
        if not interest.listeners:
            del self._wanted[kind][name]
            self._dirty.set()

    async def wait_active(
        self,
        futures: Iterable[asyncio.Future[None]],
        within: float,
        *,
        abort: asyncio.Future[None] | None = None,
    ) -> None:
        """Return once every future resolved (or ``abort`` did); BACKEND_UNAVAILABLE
        after ``within`` seconds."""
        await wait_active(self._redis.name, futures, within, abort=abort)

    def active_of(self, name: bytes) -> asyncio.Future[None] | None:
        """The future watchers of channel ``name`` were given, if it is wanted."""
        interest = self._wanted["channel"].get(name)
        return None if interest is None else interest.active

    def evict(self, name: bytes) -> set[Listener]:
        """Forget channel ``name`` without unsubscribing (the node already
        dropped it); its listeners, for the caller to place elsewhere."""
        interest = self._wanted["channel"].pop(name, None)
        self._sent["channel"].discard(name)
        self._confirmed["channel"].discard(name)
        self._unconfirmed.pop(("channel", name), None)
        return set() if interest is None else interest.listeners

    def idle(self) -> bool:
        """Nothing is wanted from this hub's connection."""
        return not any(self._wanted.values())

    # -- what publishers want to know ---------------------------------------------

    def listeners_of(self, channel: bytes) -> set[Listener]:
        """Local listeners a message on ``channel`` reaches (by name or pattern)."""
        found: set[Listener] = set()
        by_name = self._wanted["channel"].get(channel)
        if by_name is not None:
            found |= by_name.listeners
        for pattern, interest in self._wanted["pattern"].items():
            if glob_match(pattern, channel):
                found |= interest.listeners
        return found

    def redis_receipts(self, channel: bytes) -> int:
        """How many of PUBLISH's receiver count this connection accounts for."""
        count = 1 if channel in self._confirmed["channel"] else 0
        return count + sum(1 for p in self._confirmed["pattern"] if glob_match(p, channel))

    def refcounts(self) -> dict[str, int]:
        """Listeners per wanted topic, as ``"channel:<name>"`` / ``"pattern:<name>"``."""
        return {
            f"{kind}:{name.decode(errors='replace')}": len(interest.listeners)
            for kind, topics in self._wanted.items()
            for name, interest in topics.items()
        }

    @property
    def connected(self) -> bool:
        return self._conn is not None

    # -- the connection -------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._connect_and_read()
            except BackendUnavailable as exc:
                self._failures += 1
                # Once per outage at warning level; the retries in between are noise.
                log.log(
                    logging.WARNING if self._failures == 1 else logging.DEBUG,
                    "pub/sub connection to Redis failed; retrying with backoff",
                    extra={"backend": self._redis.name, "error": exc.message},
                )
            except Exception:  # a driver surprise (RedisClusterException, say) must not end it
                self._failures += 1
                log.exception("pub/sub connection failed", extra={"backend": self._redis.name})
            if self._shard is not None and not self._closed:
                self._shard.on_lost()  # the node may be gone for good: look for its successor
            if not self._closed:
                await asyncio.sleep(backoff_delay(self._failures, self._max_backoff))

    async def _connect_and_read(self) -> None:
        conn = await self._connect()
        if self._failures:
            self._metrics.pubsub_reconnects.labels(self._redis.name).inc()
            log.info(
                "pub/sub connection re-established; resubscribing",
                extra={"backend": self._redis.name, "server": conn.address},
            )
        self._conn = conn
        self._dirty.set()
        try:
            await self._read(conn)
        finally:
            self._lost(conn)
            await conn.aclose()

    async def _read(self, conn: Subscriber) -> None:
        ping_sent = False
        while not self._closed:
            delivery = await conn.read(self._ping_interval)
            if delivery is None:
                if ping_sent:
                    raise BackendUnavailable(
                        f"redis backend {self._redis.name!r} ({conn.address}) did not answer "
                        f"PING within {self._ping_interval:g}s"
                    )
                await conn.send("PING")  # idle: prove the connection is still alive
                ping_sent = True
                continue
            ping_sent = False
            self._failures = 0  # Redis answers: the next outage starts counting afresh
            try:
                self._dispatch(delivery)
            except Exception:  # a listener's bug must not take every subscriber down
                log.exception("pub/sub dispatch failed", extra={"backend": self._redis.name})

    def _dispatch(self, delivery: Delivery) -> None:
        kind = delivery.kind
        if kind in _MESSAGES:
            topic = delivery.pattern
            interest = (
                self._wanted["channel"].get(delivery.channel)
                if topic is None
                else self._wanted["pattern"].get(topic)
            )
            if interest is not None:
                incoming = Incoming(delivery.channel, topic, delivery.data)
                # A copy: a listener may leave (fail) while being fed.
                for listener in tuple(interest.listeners):
                    listener.on_message(incoming)
        elif kind in self._confirms:
            self._confirm(self._confirms[kind], delivery.channel)
        elif kind == b"sunsubscribe" and self._shard is not None:
            self._sunsubscribed(delivery.channel, self._shard)

    def _sunsubscribed(self, name: bytes, shard: Shard) -> None:
        left = self._unsubscribing.get(name, 0)
        if left:  # the reply to our own SUNSUBSCRIBE
            if left == 1:
                del self._unsubscribing[name]
            else:
                self._unsubscribing[name] = left - 1
            return
        if name in self._sent["channel"]:
            # Unasked: the node lost the channel's slot (a migration, or it
            # became a replica). Its messages now go to the new owner.
            log.info(
                "a node dropped a sharded channel; resubscribing on its new owner",
                extra={"backend": self._redis.name, "server": shard.address},
            )
            shard.on_dropped(name)

    def _confirm(self, kind: Kind, name: bytes) -> None:
        key = (kind, name)
        left = self._unconfirmed.get(key, 0) - 1
        if left > 0:
            self._unconfirmed[key] = left
            return
        self._unconfirmed.pop(key, None)
        # Only the reply to the latest SUBSCRIBE counts, and only if no
        # UNSUBSCRIBE went out after it.
        if name not in self._sent[kind]:
            return
        self._confirmed[kind].add(name)
        interest = self._wanted[kind].get(name)
        if interest is not None:
            if not interest.active.done():
                interest.active.set_result(None)
            for listener in tuple(interest.listeners):
                listener.on_subscribed((kind, name))

    def _lost(self, conn: Subscriber) -> None:
        if self._conn is not conn:
            return
        self._conn = None
        self._unsubscribing.clear()
        for kind in _COMMANDS:
            self._sent[kind].clear()
            self._confirmed[kind].clear()
            for interest in self._wanted[kind].values():
                if interest.active.done():
                    interest.active = asyncio.get_running_loop().create_future()
        self._unconfirmed.clear()
        for kind, topics in self._wanted.items():
            for name, interest in topics.items():
                for listener in tuple(interest.listeners):
                    listener.on_lost((kind, name))

    # -- reconciling wanted and sent --------------------------------------------------

    async def _reconcile_forever(self) -> None:
        while not self._closed:
            await self._dirty.wait()
            self._dirty.clear()
            conn = self._conn
            if conn is None:
                continue  # the reader sets dirty again once it has reconnected
            try:
                await self._reconcile(conn)
            except BackendUnavailable:
                await conn.aclose()  # the reader notices, reconnects and resubscribes
            except Exception:  # never let a surprise stop the reconciling for good
                log.exception("pub/sub resubscribe failed", extra={"backend": self._redis.name})
                await conn.aclose()

    async def _reconcile(self, conn: Subscriber) -> None:
        for kind, (subscribe, unsubscribe) in self._commands.items():
            wanted, sent = self._wanted[kind].keys(), self._sent[kind]
            for command, names in (
                (unsubscribe, sorted(sent - wanted)),
                (subscribe, sorted(wanted - sent)),
            ):
                for start in range(0, len(names), self._batch):
                    if self._conn is not conn:
                        return  # lost meanwhile: the next connection starts from scratch
                    chunk = names[start : start + self._batch]
                    if command == unsubscribe:
                        # Wanted again since the list was made (a Subscribe while
                        # an earlier UNSUBSCRIBE was awaited): watch() took it as
                        # still confirmed, so it must stay subscribed.
                        chunk = [name for name in chunk if name not in self._wanted[kind]]
                        if not chunk:
                            continue
                    for name in chunk:
                        if command == subscribe:
                            sent.add(name)
                            key = (kind, name)
                            self._unconfirmed[key] = self._unconfirmed.get(key, 0) + 1
                        else:
                            sent.discard(name)
                            self._confirmed[kind].discard(name)
                            if self._shard is not None:
                                self._unsubscribing[name] = self._unsubscribing.get(name, 0) + 1
                    await conn.send(command, *chunk)

    async def aclose(self) -> None:
        # The loops also stop on this flag: on Python 3.11, the wait_for()
        # inside redis-py's send can swallow a cancellation.
        self._closed = True
        self._dirty.set()
        await stop_tasks(self._tasks)
        self._tasks = []


async def wait_active(
    backend: str,
    futures: Iterable[asyncio.Future[None]],
    within: float,
    *,
    abort: asyncio.Future[None] | None = None,
) -> None:
    """Return once every future resolved (or ``abort`` did); BACKEND_UNAVAILABLE
    after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {f for f in futures if not f.done()}
    # Each round ends with at least one future done, or the deadline.
    while pending and not (abort is not None and abort.done()):
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BackendUnavailable(
                f"redis backend {backend!r} did not confirm the subscription "
                f"within {within:g}s; check that Redis is up, then subscribe again",
                metadata={"backend": backend},
            )
        waiting = pending if abort is None else pending | {abort}
        await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        pending = {f for f in pending if not f.done()}


async def stop_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again if one swallowed it."""
    pending = [t for t in tasks if not t.done()]
    for _ in range(20):  # bounded: 20 rounds of at most 0.5 s
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
        pending = [t for t in pending if not t.done()]
    log.error("pub/sub tasks would not stop", extra={"tasks": len(pending)})
