"""Helpers for the Pub/Sub tests: a subscriber that records what its stream delivered.

Every read is bounded in time, so a broken stream fails the test instead of
hanging it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import grpc
from cachecar.v1 import pubsub_pb2 as pb
from cachecar.v1 import pubsub_pb2_grpc

#: A client channel whose transport does not grow its receive window, so a
#: client that stops reading stalls the server's writes after ~64 KiB instead
#: of megabytes (gRPC's BDP probing would otherwise buffer a lot for it).
STALLABLE = [("grpc.http2.bdp_probe", 0)]


def stub(channel: grpc.aio.Channel) -> pubsub_pb2_grpc.PubSubServiceStub:
    return pubsub_pb2_grpc.PubSubServiceStub(channel)


@dataclass
class Subscriber:
    """One open Subscribe stream and everything it delivered so far."""

    call: grpc.aio.UnaryStreamCall[pb.SubscribeRequest, pb.SubscribeResponse]
    subscribed: pb.SubscribedEvent
    messages: list[pb.MessageEvent] = field(default_factory=list)
    missed: list[pb.MissedEvent] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]

    @property
    def missed_count(self) -> int:
        return sum(m.missed_count for m in self.missed)

    async def read_one(self, within: float = 10.0) -> str:
        """Read one event; its kind ("message", "missed"), or "eof"."""
        response = await asyncio.wait_for(self.call.read(), within)
        if response is grpc.aio.EOF:
            return "eof"
        assert isinstance(response, pb.SubscribeResponse)
        kind = response.WhichOneof("event")
        if kind == "message":
            self.messages.append(response.message)
        elif kind == "missed":
            self.missed.append(response.missed)
        else:
            raise AssertionError(f"unexpected event after the first: {response}")
        self.events.append(kind)
        return kind

    async def take(self, count: int, within: float = 20.0) -> list[pb.MessageEvent]:
        """Read until ``count`` more messages arrived (MissedEvents are recorded too)."""
        goal = len(self.messages) + count
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        for _ in range(count * 2 + 1000):  # bounded: messages plus missed events
            if len(self.messages) >= goal:
                break
            remaining = deadline - loop.time()
            if remaining <= 0 or await self.read_one(remaining) == "eof":
                break
        assert len(self.messages) >= goal, f"got {len(self.messages)} of {goal} messages"
        return self.messages[goal - count : goal]

    async def account_for(self, total: int, within: float = 20.0) -> None:
        """Read until delivered + missed covers ``total`` messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        for _ in range(total * 2 + 1000):
            if len(self.messages) + self.missed_count >= total:
                return
            remaining = deadline - loop.time()
            if remaining <= 0 or await self.read_one(remaining) == "eof":
                break
        raise AssertionError(
            f"{len(self.messages)} delivered + {self.missed_count} missed < {total}"
        )

    async def until_error(self, within: float = 20.0) -> grpc.aio.AioRpcError:
        """Read (and record) events until the stream ends with an error status."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        for _ in range(100_000):  # bounded: the events of one test
            remaining = deadline - loop.time()
            assert remaining > 0, "the stream did not end"
            try:
                if await self.read_one(remaining) == "eof":
                    raise AssertionError("the stream ended with OK, not an error")
            except grpc.aio.AioRpcError as exc:
                return exc
        raise AssertionError("the stream did not end")

    def cancel(self) -> None:
        self.call.cancel()


async def subscribe(
    channel: grpc.aio.Channel,
    channels: Iterable[str] = (),
    patterns: Iterable[str] = (),
    *,
    resume_ids: Mapping[str, str] | None = None,
    start: pb.StartPosition.ValueType = pb.START_POSITION_UNSPECIFIED,
    namespace: str = "items",
) -> Subscriber:
    """Open a stream and wait for its SubscribedEvent (the subscription is active)."""
    request = pb.SubscribeRequest(
        namespace=namespace,
        channels=list(channels),
        patterns=list(patterns),
        resume_ids=dict(resume_ids or {}),
        start_position=start,
    )
    call = stub(channel).Subscribe(request)
    first = await asyncio.wait_for(call.read(), 10)
    assert isinstance(first, pb.SubscribeResponse), first
    assert first.WhichOneof("event") == "subscribed", first
    return Subscriber(call, first.subscribed)


async def publish(
    channel: grpc.aio.Channel, name: str, payload: bytes, namespace: str = "items"
) -> pb.PublishResponse:
    response: pb.PublishResponse = await stub(channel).Publish(
        pb.PublishRequest(namespace=namespace, channel=name, payload=payload), timeout=10
    )
    return response


async def publish_all(
    channel: grpc.aio.Channel, name: str, payloads: Iterable[bytes], namespace: str = "items"
) -> list[pb.PublishResponse]:
    """Publish one after the other, so that the publish order is defined."""
    return [await publish(channel, name, p, namespace) for p in payloads]


def numbered(count: int, start: int = 0, size: int = 0) -> list[bytes]:
    """Payloads b"0", b"1", ... (zero-padded to ``size`` bytes if asked)."""
    return [str(i).encode().ljust(size, b".") for i in range(start, start + count)]


def ordinals(payloads: Iterable[bytes]) -> list[int]:
    return [int(p.rstrip(b".")) for p in payloads]
