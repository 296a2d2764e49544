"""PubSubService methods: publish, and subscriptions as async iterators.

A subscription is only useful once it is active in Redis, so entering
``async with cc.subscribe(...)`` waits for the sidecar's SubscribedEvent
(bounded by the client's default deadline): a message published after that
is delivered. Leaving the block cancels the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Self

import grpc

from cachecar._base import _Base
from cachecar._errors import DeadlineExceeded, Internal, Unavailable, error_from_rpc
from cachecar.v1 import pubsub_pb2

__all__ = ["StartPosition", "StreamStalled", "Subscription"]

#: Where a new subscriber of a durable channel starts.
StartPosition = Literal["latest", "oldest"]

_STARTS: dict[str, pubsub_pb2.StartPosition.ValueType] = {
    "latest": pubsub_pb2.START_POSITION_LATEST,
    "oldest": pubsub_pb2.START_POSITION_OLDEST,
}


class StreamStalled(Unavailable):
    """A subscription received nothing, not even a heartbeat, for two intervals."""


class Subscription:
    """An open Subscribe stream: ``async for event in sub`` yields
    :class:`MessageEvent` and :class:`MissedEvent` messages.

    Store each durable channel's last processed ``message_id`` and pass it in
    ``resume_ids`` when subscribing again: nothing after it is lost.

    The sidecar sends a heartbeat whenever the stream is otherwise idle for its
    ``heartbeat_interval`` (heartbeats are consumed here, never yielded). When
    no event at all arrives for two intervals, iteration raises
    :class:`StreamStalled` (and the stream is cancelled): the sidecar is frozen
    or the connection is dead while a proxy holds it open. Subscribe again,
    with ``resume_ids`` for durable channels.
    """

    def __init__(self, call: Any, ready_timeout: float) -> None:
        self._call = call
        self._ready_timeout = ready_timeout
        #: The sidecar's confirmation, set once :meth:`start` returned: the
        #: channels and patterns subscribed and each durable channel's start id.
        self.subscribed: pubsub_pb2.SubscribedEvent | None = None
        #: Seconds without any event after which the stream counts as stalled
        #: (two heartbeat intervals); None when the sidecar sends no heartbeats.
        self.stall_after: float | None = None

    async def _read(self) -> pubsub_pb2.SubscribeResponse | None:
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from exc
        if response is grpc.aio.EOF:
            return None
        if not isinstance(response, pubsub_pb2.SubscribeResponse):
            raise TypeError(f"unexpected stream item {response!r}")
        return response

    async def start(self) -> pubsub_pb2.SubscribedEvent:
        """Wait until every subscription is active (the first event)."""
        if self.subscribed is not None:
            return self.subscribed
        try:
            first = await asyncio.wait_for(self._read(), self._ready_timeout)
        except TimeoutError:
            self.cancel()
            raise DeadlineExceeded(
                f"the subscription was not confirmed within {self._ready_timeout}s; "
                "is the sidecar overloaded?"
            ) from None
        except BaseException:
            self.cancel()
            raise
        if first is None or first.WhichOneof("event") != "subscribed":
            self.cancel()
            raise Internal("the sidecar's first Subscribe event was not SubscribedEvent")
        self.subscribed = first.subscribed
        if first.subscribed.HasField("heartbeat_interval"):
            interval = first.subscribed.heartbeat_interval.ToTimedelta().total_seconds()
            self.stall_after = 2 * interval if interval > 0 else None
        return self.subscribed

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> pubsub_pb2.MessageEvent | pubsub_pb2.MissedEvent:
        await self.start()
        while True:
            response = await self._next()
            if response is None:
                raise StopAsyncIteration
            kind = response.WhichOneof("event")
            if kind == "heartbeat":
                continue  # alive, only quiet
            if kind == "missed":
                return response.missed
            return response.message

    async def _next(self) -> pubsub_pb2.SubscribeResponse | None:
        if self.stall_after is None:
            return await self._read()
        try:
            return await asyncio.wait_for(self._read(), self.stall_after)
        except TimeoutError:
            self.cancel()
            raise StreamStalled(
                f"no event, heartbeat included, for {self.stall_after:g}s (two heartbeat "
                "intervals): the sidecar is frozen or the connection is dead; subscribe "
                "again (with resume_ids for durable channels)",
                reason="STREAM_STALLED",
            ) from None

    def cancel(self) -> None:
        """End the stream (idempotent)."""
        self._call.cancel()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


class PubSubMethods(_Base):
    """The PubSubService part of :class:`cachecar.CacheCar`."""

    async def publish(
        self, namespace: str, channel: str, payload: bytes, *, timeout: float | None = None
    ) -> pubsub_pb2.PublishResponse:
        """Publish one message; ``receiver_count`` is a lower bound of who got it.
        Not retried: a retry could deliver the message twice."""
        return await self._unary(
            self._pubsub.Publish,
            pubsub_pb2.PublishRequest(namespace=namespace, channel=channel, payload=payload),
            pubsub_pb2.PublishResponse,
            timeout=timeout,
            idempotent=False,
        )

    def subscribe(
        self,
        namespace: str,
        channels: Iterable[str] = (),
        *,
        patterns: Iterable[str] = (),
        resume_ids: Mapping[str, str] | None = None,
        start: StartPosition = "latest",
        timeout: float | None = None,
    ) -> Subscription:
        """Open a subscription; use it as ``async with cc.subscribe(...) as sub``.

        ``timeout`` bounds the whole stream (None: it lives until cancelled);
        the wait for the subscription to become active is bounded by the
        client's default timeout either way.
        """
        request = pubsub_pb2.SubscribeRequest(
            namespace=namespace,
            channels=list(channels),
            patterns=list(patterns),
            resume_ids=dict(resume_ids or {}),
            start_position=_STARTS[start],
            heartbeats=True,
        )
        call = self._pubsub.Subscribe(request, timeout=timeout)
        return Subscription(call, self._timeout)
