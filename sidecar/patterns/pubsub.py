"""Pub/Sub over Redis: Publish, and Subscribe streams fed by one hub per backend.

Which kind a channel is comes from the namespace's config (``channels.durable``):

- **fire-and-forget** (the default): Redis Pub/Sub. ``Publish`` wraps the
  payload in an envelope (publish time, trace context; ``envelope.py``) and
  ``PUBLISH``\\es it. Every local subscriber is fed by the backend's one
  subscriber connection (``fanout.py``). At-most-once: a message published
  while a subscriber is not subscribed — not yet, or during a reconnect — is
  not delivered to it, and a slow subscriber loses messages per policy.
- **durable**: Redis Streams. ``Publish`` appends (bounded by ``max_len``) and
  announces the id; subscribers read through the stream's shared tail
  (``streams.py``) and may resume from the last id they processed.
  At-least-once within retention: after a reconnect with ``resume_ids``
  nothing the stream still holds is missed, and what retention trimmed is
  reported as missed with its exact count.

With ``channels.sharded`` on a Redis Cluster, fire-and-forget channels are
*sharded* (``shards.py``): ``SPUBLISH`` reaches only the shard that owns the
channel's slot instead of every node, and subscribers ``SSUBSCRIBE`` on that
owner, moving with it on failover and slot migration (a MissedEvent marks the
gap). Same guarantee: at-most-once, every gap reported. Patterns cannot be
sharded (Redis has no ``SPSUBSCRIBE``) and are refused in such a namespace
(INVALID_ARGUMENT / PATTERN_INVALID). On a standalone Redis there is only one
node to reach, so ``sharded`` changes nothing: plain ``PUBLISH`` is used (and
logged once).

This module resolves which is which, enforces the namespace's limits, builds
a :class:`Subscription` and ties it to the hub and the tails for exactly as
long as its stream lives. Redis only: a Memcached namespace gets
FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from opentelemetry import propagate

from sidecar.backends.pubsub import PubSubTransport, ShardedPubSub, StreamId, format_id
from sidecar.errors import InvalidArgument, ResourceExhausted, Unavailable
from sidecar.patterns import envelope
from sidecar.patterns.fanout import Hub, Kind
from sidecar.patterns.glob import glob_match
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.shards import ShardedHub
from sidecar.patterns.streams import StreamTail, Tails
from sidecar.patterns.subscription import DurableCursor, Subscription
from sidecar.telemetry import Telemetry

__all__ = ["PubSub", "Published", "SubscribeSpec", "Subscribed"]

_GLOB_CHARS = frozenset("*?[\\")

log = logging.getLogger("cachecar.pubsub")


@dataclass(frozen=True, slots=True)
class Published:
    """What cachecar knows about a published message's delivery."""

    receivers: int
    local_receivers: int
    #: Durable channels: the stream id; empty for fire-and-forget.
    message_id: str
    published_at_us: int


@dataclass(frozen=True, slots=True)
class SubscribeSpec:
    """A validated Subscribe request."""

    channels: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    resume_ids: Mapping[str, StreamId] = field(default_factory=dict)
    from_oldest: bool = False


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The confirmation a stream starts with."""

    channels: tuple[str, ...]
    patterns: tuple[str, ...]
    #: Durable channel -> the id delivery starts after.
    resume_ids: dict[str, str]


@dataclass(eq=False)
class _RedisPubSub:
    """Pub/Sub state of one Redis backend."""

    redis: PubSubTransport
    hub: Hub
    tails: Tails
    #: Sharded channels (a cluster, once a sharded namespace uses it).
    sharded: tuple[ShardedPubSub, ShardedHub] | None = None


def shutting_down() -> Unavailable:
    return Unavailable(
        "cachecar is shutting down; subscribe again (to this sidecar once it is back, or to "
        "another one) with the last message id of each durable channel in resume_ids",
        reason="SHUTTING_DOWN",
    )


class PubSub:
    """Publish and Subscribe for every Redis namespace of one sidecar."""

    def __init__(
        self,
        telemetry: Telemetry,
        *,
        setup_timeout: float = 5.0,
        ping_interval: float = 15.0,
        max_streams: int = 10_000,
    ) -> None:
        self._telemetry = telemetry
        self._metrics = telemetry.metrics
        #: How long Subscribe waits for Redis to confirm its subscriptions.
        self.setup_timeout = setup_timeout
        #: Idle time after which a hub PINGs Redis (and twice that: reconnects).
        self.ping_interval = ping_interval
        self._backends: dict[str, _RedisPubSub] = {}
        self._subscriptions: set[Subscription] = set()
        self._per_namespace: dict[str, int] = {}
        self._durable: dict[str, tuple[frozenset[str], tuple[bytes, ...]]] = {}
        self._plain_fallback_logged: set[str] = set()
        self._closing = False
        #: limits.max_streams: open Subscribe streams across every namespace.
        self.max_streams = max_streams

    # -- capability and channel kinds ---------------------------------------------

    def _redis_of(self, ns: Namespace) -> _RedisPubSub:
        backend = ns.backend
        found = self._backends.get(backend.name)
        if found is not None:
            return found
        redis = ns.require(PubSubTransport)
        hub = Hub(redis, self._metrics, ping_interval=self.ping_interval)
        hub.start()
        found = self._backends[backend.name] = _RedisPubSub(redis, hub, Tails(hub, redis))
        return found

    def _shards_of(
        self, ns: Namespace, state: _RedisPubSub
    ) -> tuple[ShardedPubSub, ShardedHub] | None:
        """The sharded transport and hub if ``ns`` shards its fire-and-forget channels."""
        if not ns.settings.channels.sharded:
            return None
        if state.sharded is not None:
            return state.sharded
        shards = ns.backend.capabilities.get(ShardedPubSub)
        if shards is None:
            if ns.name not in self._plain_fallback_logged:
                self._plain_fallback_logged.add(ns.name)
                log.info(
                    "channels.sharded has no effect on a standalone Redis (one node: nothing "
                    "to spare); using PUBLISH / SUBSCRIBE",
                    extra={"namespace": ns.name, "backend": ns.backend.name},
                )
            return None
        hub = ShardedHub(shards, self._metrics, ping_interval=self.ping_interval)
        hub.start()
        state.sharded = (shards, hub)
        return state.sharded

    def _channel_hub(
        self, ns: Namespace, state: _RedisPubSub, spec: SubscribeSpec
    ) -> Hub | ShardedHub:
        """The hub that serves ``ns``'s fire-and-forget channels (patterns refused if sharded)."""
        sharded = self._shards_of(ns, state)
        if sharded is not None and spec.patterns:
            raise InvalidArgument(
                f"namespace {ns.name!r} shards its channels (channels.sharded), and Redis "
                "Cluster cannot subscribe to a pattern across shards (there is no SPSUBSCRIBE); "
                "subscribe to channels by name, or use a namespace without channels.sharded "
                "for pattern subscriptions",
                reason="PATTERN_INVALID",
                metadata={"namespace": ns.name},
            )
        return state.hub if sharded is None else sharded[1]

    def check_supported(self, ns: Namespace) -> None:
        """FAILED_PRECONDITION / NOT_SUPPORTED_BY_BACKEND unless ``ns`` is on Redis."""
        self._redis_of(ns)

    def is_durable(self, ns: Namespace, channel: str) -> bool:
        rules = self._durable.get(ns.name)
        if rules is None:
            declared = ns.settings.channels.durable
            exact = frozenset(d for d in declared if not _GLOB_CHARS & set(d))
            globs = tuple(d.encode() for d in declared if _GLOB_CHARS & set(d))
            rules = self._durable[ns.name] = (exact, globs)
        exact, globs = rules
        return channel in exact or any(glob_match(g, channel.encode()) for g in globs)

    # -- publishing ---------------------------------------------------------------------

    async def publish(self, ns: Namespace, channel: str, payload: bytes) -> Published:
        """Publish one message; the receivers cachecar knows of."""
        state = self._redis_of(ns)
        carrier: dict[str, str] = {}
        if self._telemetry.tracing.tracer is not None:
            propagate.inject(carrier)  # the Publish span, for the delivery spans to link to
        if self.is_durable(ns, channel):
            fields = [(b"p", payload)]
            for name, field_name in (("traceparent", b"tp"), ("tracestate", b"ts")):
                if name in carrier:
                    fields.append((field_name, carrier[name].encode()))
            sid = await state.redis.append(
                ns.keys.stream(channel),
                ns.keys.stream_notify(channel),
                fields,
                ns.settings.channels.max_len,
            )
            self._metrics.child(self._metrics.pubsub_published, ns.name, "durable").inc()
            tail = state.tails.get(ns.keys.stream(channel))
            local = len(tail.waiters) if tail is not None else 0
            return Published(local, local, format_id(sid), sid[0] * 1000)
        now_us = time.time_ns() // 1000
        redis_channel = ns.keys.channel(channel)
        wrapped = envelope.wrap(payload, now_us, carrier)
        sharded = self._shards_of(ns, state)
        hub: Hub | ShardedHub
        if sharded is None:
            hub = state.hub
            count = await state.redis.publish(redis_channel, wrapped)
        else:
            hub = sharded[1]
            count = await sharded[0].spublish(redis_channel, wrapped)
        self._metrics.child(self._metrics.pubsub_published, ns.name, "fire_and_forget").inc()
        local = len(hub.listeners_of(redis_channel))
        remote = max(0, count - hub.redis_receipts(redis_channel))
        return Published(local + remote, local, "", now_us)

    # -- subscribing --------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscribe(
        self, ns: Namespace, spec: SubscribeSpec
    ) -> AsyncIterator[tuple[Subscription, Subscribed]]:
        """An active subscription for the life of the ``async with`` block."""
        if self._closing:
            raise shutting_down()
        state = self._redis_of(ns)
        settings = ns.settings.channels
        if len(self._subscriptions) >= self.max_streams:
            raise ResourceExhausted(
                f"this sidecar already serves {self.max_streams} Subscribe streams "
                "(limits.max_streams); close some or raise the limit",
                reason="TOO_MANY_STREAMS",
                metadata={"namespace": ns.name},
            )
        if self._per_namespace.get(ns.name, 0) >= settings.max_subscribers:
            raise ResourceExhausted(
                f"namespace {ns.name!r} already has {settings.max_subscribers} subscribers on "
                "this sidecar (channels.max_subscribers); close some or raise the limit",
                reason="TOO_MANY_SUBSCRIBERS",
                metadata={"namespace": ns.name},
            )
        channel_hub = self._channel_hub(ns, state, spec)
        metrics = self._metrics
        fire_and_forget = [c for c in spec.channels if not self.is_durable(ns, c)]
        sub = Subscription(
            ns.name,
            capacity=settings.subscriber_buffer,
            policy=settings.slow_subscriber,
            channel_prefix=ns.keys.channel_prefix(),
            by_name={ns.keys.channel(c): c for c in fire_and_forget},
            patterns={ns.keys.channel_pattern(p): p for p in spec.patterns},
            dropped=metrics.child(metrics.pubsub_dropped, ns.name, "slow_subscriber"),
            delivered=metrics.child(metrics.pubsub_delivered, ns.name),
        )
        watched: list[tuple[Hub | ShardedHub, Kind, bytes]] = []
        tails: list[StreamTail] = []

        def release() -> None:
            # Idempotent, and also releases what setup adds after a failure.
            while watched:
                hub, kind, name = watched.pop()
                hub.unwatch(kind, name, sub)
            while tails:
                state.tails.release(tails.pop(), sub)
            if sub in self._subscriptions:
                self._subscriptions.discard(sub)
                self._per_namespace[ns.name] -= 1
                metrics.child(metrics.pubsub_subscribers, ns.name).dec()

        sub.on_fail = release
        self._subscriptions.add(sub)
        self._per_namespace[ns.name] = self._per_namespace.get(ns.name, 0) + 1
        metrics.child(metrics.pubsub_subscribers, ns.name).inc()
        try:
            active = []
            topics: tuple[tuple[Kind, list[bytes]], ...] = (
                ("channel", sub.channels()),
                ("pattern", sub.patterns()),
            )
            for kind, names in topics:
                for name in names:
                    hub = channel_hub if kind == "channel" else state.hub
                    watched.append((hub, kind, name))
                    active.append(hub.watch(kind, name, sub))
            resume_ids = {}
            for channel in spec.channels:
                if channel in fire_and_forget:
                    continue
                tail = await state.tails.acquire(
                    channel,
                    ns.keys.stream(channel),
                    ns.keys.stream_notify(channel),
                    ring_size=settings.subscriber_buffer,
                    owner=sub,
                    wake=sub.wake,
                    within=self.setup_timeout,
                )
                tails.append(tail)
                self._raise_if_failed(sub)
                sub.cursors.append(self._cursor(ns, spec, channel, tail))
                resume_ids[channel] = format_id(sub.cursors[-1].position)
            await channel_hub.wait_active(active, self.setup_timeout, abort=sub.failed)
            self._raise_if_failed(sub)
            yield sub, Subscribed(spec.channels, spec.patterns, resume_ids)
        finally:
            release()

    def _cursor(
        self, ns: Namespace, spec: SubscribeSpec, channel: str, tail: StreamTail
    ) -> DurableCursor:
        trimmed = self._metrics.child(self._metrics.pubsub_dropped, ns.name, "trimmed")
        resume = spec.resume_ids.get(channel)
        if resume is not None:
            return DurableCursor(channel, tail, resume, check_gaps=True, trimmed=trimmed)
        if spec.from_oldest:
            return DurableCursor(channel, tail, (0, 0), check_gaps=False, trimmed=trimmed)
        return DurableCursor(channel, tail, tail.position, check_gaps=True, trimmed=trimmed)

    @staticmethod
    def _raise_if_failed(sub: Subscription) -> None:
        if sub.failure is not None:
            raise sub.failure

    # -- introspection and lifecycle ----------------------------------------------------

    def active_subscriptions(self, namespace: str | None = None) -> int:
        """Open subscriptions (of one namespace, or all)."""
        if namespace is None:
            return len(self._subscriptions)
        return self._per_namespace.get(namespace, 0)

    def channel_refcounts(self) -> dict[str, int]:
        """Listeners per Redis channel / pattern, over every backend's hub."""
        counts: dict[str, int] = {}
        for state in self._backends.values():
            counts.update(state.hub.refcounts())
            if state.sharded is not None:
                counts.update(state.sharded[1].refcounts())
        return counts

    def connected(self) -> bool:
        """Whether every backend's subscriber connection is up (False before first use)."""
        return bool(self._backends) and all(
            s.hub.connected and (s.sharded is None or s.sharded[1].connected)
            for s in self._backends.values()
        )

    def open_tails(self) -> int:
        """Durable channels this sidecar is tailing."""
        return sum(len(state.tails) for state in self._backends.values())

    def shutdown(self) -> None:
        """End every stream with UNAVAILABLE / SHUTTING_DOWN and refuse new ones."""
        self._closing = True
        for sub in list(self._subscriptions):
            sub.fail(shutting_down())

    async def aclose(self) -> None:
        self.shutdown()
        states, self._backends = list(self._backends.values()), {}
        for state in states:
            await state.tails.aclose()
            await state.hub.aclose()
            if state.sharded is not None:
                await state.sharded[1].aclose()
