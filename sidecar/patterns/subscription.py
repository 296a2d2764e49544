"""One Subscribe stream's state: a bounded buffer, the slow-subscriber policy,
and a cursor per durable channel.

Fire-and-forget messages arrive from the hub (synchronously, on its reader
task) into a bounded deque. When it is full, the namespace's policy decides:
``drop_oldest`` drops the oldest buffered message and counts it (the stream
then carries a MissedEvent with the count before the next message), and
``disconnect`` ends the stream with RESOURCE_EXHAUSTED / SUBSCRIBER_TOO_SLOW
and releases its subscriptions at once. Either way the hub never waits.

Durable channels are not buffered at all: a :class:`DurableCursor` remembers
the last id delivered and takes what follows from the channel's shared tail
(or from Redis, when it fell behind the tail's ring), so a slow durable
subscriber simply falls behind and catches up. Stream ids carry an ordinal
(see ``backends/pubsub.py`` and ``backends/redis/pubsub.py``), so a jump in ordinals between two
deliveries is exactly the number of messages retention trimmed away.

A message reaching a subscriber through several of its subscriptions (its
channel by name and a pattern, or two patterns) is delivered once: through
the channel if subscribed by name, else through the first of its patterns
that matches, in request order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal

from prometheus_client import Counter

from sidecar.backends.pubsub import StreamId
from sidecar.errors import BackendUnavailable, CacheCarError, ResourceExhausted
from sidecar.patterns.envelope import unwrap
from sidecar.patterns.events import Event, Message, Missed, durable_message
from sidecar.patterns.fanout import Incoming, Topic, backoff_delay
from sidecar.patterns.glob import glob_match
from sidecar.patterns.streams import READ_BATCH, Entry, StreamTail

__all__ = ["DurableCursor", "SlowPolicy", "Subscription"]

log = logging.getLogger("cachecar.pubsub")

SlowPolicy = Literal["drop_oldest", "disconnect"]


class DurableCursor:
    """Where one subscriber is in one durable channel."""

    def __init__(
        self,
        channel: str,
        tail: StreamTail,
        position: StreamId,
        *,
        check_gaps: bool,
        trimmed: Counter,
    ) -> None:
        self.channel = channel
        self.tail = tail
        #: The last id delivered (or the id delivery starts after).
        self.position = position
        # Off for "from the oldest retained": what was trimmed before is not missed.
        self._check_gaps = check_gaps
        self._trimmed = trimmed
        self._failures = 0
        self.retry_at = 0.0

    def pending(self, now: float) -> bool:
        return self.position < self.tail.position and now >= self.retry_at

    async def take(self, limit: int) -> list[Event]:
        """The next entries as events (with a Missed for any gap); may read Redis."""
        entries = self.tail.entries_after(self.position, limit)
        if entries is None:
            try:
                read = await self.tail.redis.read_after(
                    self.tail.key, self.position, min(limit, READ_BATCH)
                )
            except BackendUnavailable:
                self._failures += 1
                self.retry_at = time.monotonic() + backoff_delay(self._failures, 2.0)
                return []
            self._failures = 0
            if not read:
                # Behind the tail, yet the stream holds nothing after us: it was
                # deleted (a Redis restart without persistence). Skip to the tail.
                self._trimmed.inc()
                self.position = self.tail.position
                return [Missed("trimmed", 0, self.channel)]
            entries = [(e.id, durable_message(self.channel, e)) for e in read]
        return self._events(entries)

    def _events(self, entries: list[Entry]) -> list[Event]:
        events: list[Event] = []
        for sid, message in entries:
            gap = sid[1] - self.position[1] - 1
            if self._check_gaps and gap:
                # A negative gap: the ordinals restarted (the stream was
                # recreated), so how many were lost is unknown.
                self._trimmed.inc(max(gap, 0))
                events.append(Missed("trimmed", max(gap, 0), self.channel))
            self._check_gaps = True
            self.position = sid
            events.append(message)
        return events


class Subscription:
    """The events of one Subscribe stream, waiting to be written."""

    def __init__(
        self,
        namespace: str,
        *,
        capacity: int,
        policy: SlowPolicy,
        channel_prefix: bytes,
        by_name: Mapping[bytes, str],
        patterns: Mapping[bytes, str],
        dropped: Counter,
        delivered: Counter,
    ) -> None:
        self.namespace = namespace
        self._capacity = capacity
        self._drop_oldest = policy == "drop_oldest"
        self._prefix = channel_prefix
        self._by_name = dict(by_name)
        self._patterns = dict(patterns)  # insertion order = request order
        self._dropped = dropped
        self._delivered = delivered
        #: Messages, and a ``None`` where the connection was lost and resubscribed
        #: (fire-and-forget messages published in between are gone: a gap).
        self._buffer: deque[Incoming | None] = deque()
        #: Topics Redis confirmed at least once / lost since (per topic: one
        #: Subscribe's topics may ride several connections, and each
        #: reconnects on its own).
        self._confirmed: set[Topic] = set()
        self._lost: set[Topic] = set()
        #: The latest event put into the stream is a gap marker (no message since).
        self._marked = False
        self._missed = 0
        self._wake = asyncio.Event()
        self._failure: CacheCarError | None = None
        self.cursors: list[DurableCursor] = []
        #: Releases the subscription's topics and tails (set by the owner).
        self.on_fail: Callable[[], None] | None = None
        #: Resolved on failure, so that setup stops waiting for Redis.
        self.failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def channels(self) -> list[bytes]:
        """The Redis channels subscribed by name."""
        return list(self._by_name)

    def patterns(self) -> list[bytes]:
        """The Redis patterns subscribed, in request order."""
        return list(self._patterns)

    @property
    def failure(self) -> CacheCarError | None:
        return self._failure

    def buffered(self) -> int:
        return len(self._buffer)

    # -- fed by the hub and the tails ----------------------------------------------

    def on_message(self, incoming: Incoming) -> None:
        if self._failure is not None:
            return
        pattern = incoming.pattern
        if pattern is not None and not self._designated(incoming.channel, pattern):
            return
        if len(self._buffer) >= self._capacity:
            if not self._drop_oldest:
                log.warning(
                    "slow subscriber disconnected",
                    extra={"namespace": self.namespace, "buffer": self._capacity},
                )
                self.fail(
                    ResourceExhausted(
                        f"namespace {self.namespace!r}: this subscriber read too slowly and its "
                        f"buffer of {self._capacity} messages filled up, so the stream was ended "
                        "(slow_subscriber: disconnect); read faster or subscribe again",
                        reason="SUBSCRIBER_TOO_SLOW",
                        metadata={"namespace": self.namespace, "buffer": str(self._capacity)},
                    )
                )
                return
            self._buffer.popleft()
            self._missed += 1
            self._dropped.inc()
        self._buffer.append(incoming)
        self._marked = False
        self._wake.set()

    def _designated(self, channel: bytes, pattern: bytes) -> bool:
        # Deliver once: by name if subscribed so, else through the first match.
        if channel in self._by_name:
            return False
        if len(self._patterns) == 1:
            return True
        for candidate in self._patterns:
            if glob_match(candidate, channel):
                return candidate == pattern
        return True  # no local match (cannot happen); better twice than never

    def on_subscribed(self, topic: Topic) -> None:
        self._confirmed.add(topic)
        if topic in self._lost and self._failure is None:
            # Confirmed again after its connection died (failover, restart,
            # slot migration): say where the stream has a hole, in order. Topics
            # confirmed back to back share one marker; a topic confirmed after
            # messages of another gets its own, so nothing missing follows the
            # last marker.
            self._lost.discard(topic)
            if not self._marked:  # read by the stream or not, it still stands
                self._buffer.append(None)
                self._marked = True
            self._wake.set()

    def on_lost(self, topic: Topic) -> None:
        # Before the first confirmation nothing was promised: no gap to report.
        if topic in self._confirmed:
            self._lost.add(topic)

    def wake(self) -> None:
        self._wake.set()

    def fail(self, error: CacheCarError) -> None:
        """End the stream with ``error`` at its next read; release Redis at once."""
        if self._failure is not None:
            return
        self._failure = error
        self._buffer.clear()
        self._wake.set()
        if not self.failed.done():
            self.failed.set_result(None)
        if self.on_fail is not None:
            self.on_fail()

    # -- read by the stream ---------------------------------------------------------

    async def next_events(self, limit: int) -> list[Event]:
        """The next events, waiting for some; raises the failure once failed."""
        task = asyncio.current_task()
        while True:
            self._wake.clear()  # before looking: a wake-up during an await is kept
            if self._failure is not None:
                raise self._failure
            if task is not None and task.cancelling():
                # The client went away, but a wait_for() inside redis-py
                # swallowed the cancellation (Python 3.11): honour it anyway.
                raise asyncio.CancelledError
            events: list[Event] = []
            if self._missed:
                events.append(Missed("slow_subscriber", self._missed))
                self._missed = 0
            while self._buffer and len(events) < limit:
                incoming = self._buffer.popleft()
                events.append(
                    Missed("resubscribed", 0) if incoming is None else self._message(incoming)
                )
            now = time.monotonic()
            for cursor in self.cursors:
                if len(events) >= limit:
                    break
                if cursor.pending(now):
                    events += await cursor.take(limit - len(events))
            if events:
                self._delivered.inc(sum(1 for e in events if isinstance(e, Message)))
                return events
            await self._sleep()

    async def _sleep(self) -> None:
        retry = [c.retry_at for c in self.cursors if c.position < c.tail.position]
        timeout = max(0.0, min(retry) - time.monotonic()) if retry else None
        if timeout is None:
            await self._wake.wait()
            return
        with contextlib.suppress(TimeoutError):  # then a durable read is due for a retry
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _message(self, incoming: Incoming) -> Message:
        # The Redis channel and pattern name the namespace, so every local
        # subscriber gets the same Message: the first one decodes it.
        if isinstance(incoming.decoded, Message):
            return incoming.decoded
        got = unwrap(incoming.data)
        channel, pattern = incoming.channel, incoming.pattern
        if pattern is None:
            name, app_pattern = self._by_name[channel], ""
        else:
            raw = channel[len(self._prefix) : -1] if channel.startswith(self._prefix) else channel
            name, app_pattern = raw.decode(errors="replace"), self._patterns.get(pattern, "")
        message = Message(name, got.payload, app_pattern, "", got.published_at_us, got.carrier)
        incoming.decoded = message
        return message
