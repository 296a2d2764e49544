"""Tails of durable channels: one reader per stream per sidecar, shared by its subscribers.

A durable channel is a Redis stream. Each sidecar keeps, per stream that any
of its subscribers reads, a :class:`StreamTail`: the id it has read up to
(``position``) and a bounded ring of the newest entries. The tail reads when
told to — the stream's notification channel (published by the append script)
fires through the hub, and so does every (re)confirmation of that
subscription, after a reconnect — with non-blocking ``XRANGE`` reads from
``position`` on, so nothing appended is skipped whatever the notifications did.
A tail that heard nothing for a few seconds reads anyway: in a cluster, a
notification crosses the cluster bus and could be lost without any
connection of ours dropping, and then the newest message would wait for the
next one.

Subscribers do not get copies: each keeps a cursor and takes entries after it
from the ring; a subscriber that fell behind the ring (slow, or resuming from
an old id) reads the stream itself until it is back within the ring. So a
slow durable subscriber costs memory for nothing but its cursor, and nobody
waits for it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from contextvars import Context

from sidecar.backends.pubsub import PubSubTransport, StreamEntry, StreamId
from sidecar.errors import BackendUnavailable
from sidecar.patterns.events import Message, durable_message
from sidecar.patterns.fanout import Hub, Incoming, Topic, backoff_delay, stop_tasks

__all__ = ["StreamTail", "Tails"]

log = logging.getLogger("cachecar.pubsub")

#: Entries per XRANGE of a tail or of a catching-up subscriber.
READ_BATCH = 500
# Seconds of silence after which a tail reads without being told to.
_SAFETY_POLL = 5.0
# Batches one tail reads in a row before yielding to other tasks.
_BATCHES_IN_A_ROW = 20


#: A stream entry as subscribers take it: its id (for ordering and gaps) and message.
Entry = tuple[StreamId, Message]


def _entry_id(entry: Entry) -> StreamId:
    return entry[0]


class StreamTail:
    """The live end of one stream as this sidecar has read it."""

    def __init__(
        self, redis: PubSubTransport, channel: str, key: bytes, notify: bytes, ring_size: int
    ) -> None:
        self.redis = redis
        self.channel = channel
        self.key = key
        self.notify = notify
        #: The newest id read; every entry up to it has been seen.
        self.position: StreamId = (0, 0)
        self._ring: deque[Entry] = deque()
        self._ring_size = ring_size
        # The ring holds every entry in (floor, position].
        self._floor: StreamId = (0, 0)
        #: Called after new entries arrived (the subscribers' wake-ups).
        self.waiters: dict[object, Callable[[], None]] = {}
        self._dirty = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.opening: asyncio.Task[None] | None = None
        self._closed = False

    # Hub listener: a notification or a (re)confirmed subscription both mean
    # "read from position on".
    def on_message(self, incoming: Incoming) -> None:
        self._dirty.set()

    def on_subscribed(self, topic: Topic) -> None:
        self._dirty.set()

    def on_lost(self, topic: Topic) -> None:
        pass  # nothing is lost: the stream is re-read once confirmed again

    def begin(self, position: StreamId) -> None:
        """Start reading after ``position`` (the stream's newest id at open time)."""
        if self._closed:  # closed while opening (a cancellation can be swallowed)
            return
        self.position = self._floor = position
        # An empty context: the reader outlives the Subscribe call that opened it.
        self._reader = asyncio.create_task(
            self._read_forever(), name="pubsub-tail", context=Context()
        )
        self._dirty.set()

    def entries_after(self, after: StreamId, limit: int) -> list[Entry] | None:
        """Up to ``limit`` entries after ``after`` from the ring; None if the ring
        no longer covers ``after`` (read the stream instead)."""
        if after < self._floor:
            return None
        start = bisect.bisect_right(self._ring, after, key=_entry_id)
        return list(itertools.islice(self._ring, start, start + limit))

    async def _read_forever(self) -> None:
        failures = 0
        while not self._closed:
            with contextlib.suppress(TimeoutError):  # silence: read anyway
                await asyncio.wait_for(self._dirty.wait(), _SAFETY_POLL)
            self._dirty.clear()
            if self._closed:
                return
            try:
                for _ in range(_BATCHES_IN_A_ROW):
                    entries = await self.redis.read_after(self.key, self.position, READ_BATCH)
                    self._add(entries)
                    if len(entries) < READ_BATCH:
                        break
                else:
                    self._dirty.set()  # more to read: come back after the others ran
                failures = 0
            except Exception as exc:
                # Redis is down: the hub reconnects and, once the notification
                # channel is confirmed again, sets dirty; retrying here as well
                # covers a failure of this read alone (or a driver surprise).
                if not isinstance(exc, BackendUnavailable):
                    log.exception(
                        "reading a durable channel failed", extra={"channel": self.channel}
                    )
                failures += 1
                self._dirty.set()
                await asyncio.sleep(backoff_delay(failures, 2.0))

    def _add(self, entries: list[StreamEntry]) -> None:
        if not entries:
            return
        for entry in entries:
            if len(self._ring) >= self._ring_size:
                self._floor = self._ring.popleft()[0]
            # Built once here, shared by every subscriber that takes it.
            self._ring.append((entry.id, durable_message(self.channel, entry)))
        self.position = entries[-1].id
        for wake in tuple(self.waiters.values()):
            wake()

    def close(self) -> None:
        # The flag too: a cancellation swallowed inside redis-py (Python 3.11's
        # wait_for) must not leave the reader running.
        self._closed = True
        self._dirty.set()
        for task in (self.opening, self._reader):
            if task is not None:
                task.cancel()

    async def aclose(self) -> None:
        self.close()
        await stop_tasks([t for t in (self.opening, self._reader) if t is not None])


class Tails:
    """The open tails of one backend, reference-counted by their subscribers."""

    def __init__(self, hub: Hub, redis: PubSubTransport) -> None:
        self._hub = hub
        self._redis = redis
        self._tails: dict[bytes, StreamTail] = {}

    def get(self, key: bytes) -> StreamTail | None:
        return self._tails.get(key)

    def __len__(self) -> int:
        return len(self._tails)

    async def acquire(
        self,
        channel: str,
        key: bytes,
        notify: bytes,
        *,
        ring_size: int,
        owner: object,
        wake: Callable[[], None],
        within: float,
    ) -> StreamTail:
        """The tail of stream ``key``, open and reading; ``wake`` is called on news."""
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = StreamTail(self._redis, channel, key, notify, ring_size)
            tail.opening = asyncio.create_task(self._open(tail, within), name="pubsub-tail-open")
            # Its failure reaches every acquirer through shield(); this only
            # keeps asyncio from reporting it again as "never retrieved".
            tail.opening.add_done_callback(_consume)
        tail.waiters[owner] = wake
        assert tail.opening is not None
        try:
            # Shielded: one subscriber giving up must not cancel the others' open.
            await asyncio.shield(tail.opening)
        except BaseException:
            self.release(tail, owner)
            raise
        return tail

    async def _open(self, tail: StreamTail, within: float) -> None:
        # Notifications first, then the newest id: anything appended after
        # that id is announced on a subscription that is already active.
        active = self._hub.watch("channel", tail.notify, tail)
        await self._hub.wait_active([active], within)
        tail.begin(await self._redis.last_id(tail.key))

    def release(self, tail: StreamTail, owner: object) -> None:
        tail.waiters.pop(owner, None)
        if tail.waiters or self._tails.get(tail.key) is not tail:
            return
        del self._tails[tail.key]
        self._hub.unwatch("channel", tail.notify, tail)
        tail.close()

    async def aclose(self) -> None:
        tails, self._tails = list(self._tails.values()), {}
        for tail in tails:
            await tail.aclose()


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
