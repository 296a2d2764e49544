"""PubSubService servicer: proto <-> domain, validation, delivery spans.

Thin on purpose: it resolves the namespace, checks channel names, patterns
and resume ids, then hands over to ``patterns/pubsub.py``. Subscribe writes a
SubscribedEvent once every subscription is active, then one response per
event. Tracing (when on): Publish is a normal SERVER span whose context
travels with the message; Subscribe's SERVER span covers its setup only, and
each delivered message gets a short CONSUMER span of its own — a new trace,
linked to the Publish that sent the message and to the Subscribe setup — so a
stream that lives for days never becomes one endless span.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractContextManager
from datetime import timedelta

import grpc
from cachecar.v1 import pubsub_pb2, pubsub_pb2_grpc
from opentelemetry import propagate, trace
from opentelemetry.context import Context as TraceContext
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from sidecar.api.access import NamespaceAccess
from sidecar.api.context import Context
from sidecar.api.decode import service_handler
from sidecar.api.rpc import rpc
from sidecar.api.streaming import StreamCall, server_stream
from sidecar.backends.pubsub import StreamId, parse_id
from sidecar.errors import InvalidArgument
from sidecar.patterns.events import Message, Missed
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.pubsub import PubSub, SubscribeSpec
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import current_span

__all__ = ["PubSubServicer", "pubsub_service"]

#: How far ahead of this sidecar's clock a resume id may be (clock skew
#: between the sidecar and Redis, which stamps the ids).
_CLOCK_SKEW_MS = 60_000

# Events taken from a subscription per wake-up.
_BATCH = 64
# Encoded messages kept for the other subscribers of the same message.
_ENCODED_MAX, _ENCODED_MAX_BYTES = 256, 16 * 1024 * 1024
_MISSED_REASON = {
    "slow_subscriber": pubsub_pb2.MISSED_REASON_SLOW_SUBSCRIBER,
    "trimmed": pubsub_pb2.MISSED_REASON_TRIMMED,
    "resubscribed": pubsub_pb2.MISSED_REASON_RESUBSCRIBED,
}
_START_POSITIONS = {
    pubsub_pb2.START_POSITION_UNSPECIFIED,
    pubsub_pb2.START_POSITION_LATEST,
    pubsub_pb2.START_POSITION_OLDEST,
}


def _invalid(ns: Namespace, message: str, reason: str, **metadata: str) -> InvalidArgument:
    return InvalidArgument(
        f"namespace {ns.name!r}: {message}",
        reason=reason,
        metadata={"namespace": ns.name, **metadata},
    )


def _check_name(ns: Namespace, name: str, what: str) -> None:
    reason = f"{what.upper()}_INVALID"
    if not name:
        raise _invalid(ns, f"a {what} is empty; name it", reason)
    size = len(name.encode())
    limit = ns.settings.channels.max_channel_length
    if size > limit:
        raise _invalid(
            ns,
            f"a {what} is {size} bytes long, over the namespace's channels.max_channel_length "
            f"of {limit}; use a shorter name",
            reason,
            max_channel_length=str(limit),
        )


def _check_pattern(ns: Namespace, pattern: str) -> None:
    _check_name(ns, pattern, "pattern")
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        # It would escape the closing brace cachecar adds around the name.
        raise _invalid(
            ns,
            f"pattern {pattern!r} ends with an unescaped backslash; escape it as \\\\",
            "PATTERN_INVALID",
        )


def _spec(ns: Namespace, request: pubsub_pb2.SubscribeRequest, pubsub: PubSub) -> SubscribeSpec:
    channels, patterns = list(request.channels), list(request.patterns)
    if not channels and not patterns:
        raise _invalid(ns, "Subscribe names no channel and no pattern", "SUBSCRIPTION_EMPTY")
    limit = ns.settings.channels.max_channels_per_subscription
    if len(channels) + len(patterns) > limit:
        raise _invalid(
            ns,
            f"{len(channels) + len(patterns)} channels and patterns in one Subscribe, over the "
            f"namespace's channels.max_channels_per_subscription of {limit}; split it",
            "BATCH_TOO_LARGE",
        )
    for channel in channels:
        _check_name(ns, channel, "channel")
    for pattern in patterns:
        _check_pattern(ns, pattern)
    if len(set(channels)) < len(channels) or len(set(patterns)) < len(patterns):
        raise _invalid(
            ns, "a channel or pattern is listed twice; list each once", "CHANNEL_INVALID"
        )
    resume: dict[str, StreamId] = {}
    for channel, message_id in request.resume_ids.items():
        if channel not in channels or not pubsub.is_durable(ns, channel):
            raise _invalid(
                ns,
                f"resume_ids names {channel[:64]!r}, which is not a durable channel listed in "
                "channels; only durable channels (channels.durable in the config) can resume",
                "RESUME_ID_INVALID",
            )
        try:
            resume[channel] = parse_id(message_id)
        except ValueError:
            raise _invalid(
                ns,
                f"resume id {message_id[:64]!r} of channel {channel[:64]!r} is not a message id; "
                "send the message_id of the last message processed, such as 1718000000000-42",
                "RESUME_ID_INVALID",
            ) from None
        # Ids start with the time they were made (ms). One from the future would
        # be accepted and then silently deliver nothing until time caught up.
        if resume[channel][0] > time.time() * 1000 + _CLOCK_SKEW_MS:
            raise _invalid(
                ns,
                f"resume id {message_id[:64]!r} of channel {channel[:64]!r} lies in the future "
                "(ids start with the unix time in ms they were made); send the message_id of "
                "the last message processed, or no resume id to start from the channel's end",
                "RESUME_ID_INVALID",
            )
    if request.start_position not in _START_POSITIONS:
        raise _invalid(ns, f"unknown start_position {request.start_position}", "ARGUMENT_INVALID")
    return SubscribeSpec(
        tuple(channels),
        tuple(patterns),
        resume,
        from_oldest=request.start_position == pubsub_pb2.START_POSITION_OLDEST,
    )


def _response(event: Message | Missed) -> pubsub_pb2.SubscribeResponse:
    if isinstance(event, Missed):
        missed = pubsub_pb2.MissedEvent(
            reason=_MISSED_REASON[event.reason], missed_count=event.count, channel=event.channel
        )
        return pubsub_pb2.SubscribeResponse(missed=missed)
    message = pubsub_pb2.MessageEvent(
        channel=event.channel,
        pattern=event.pattern,
        payload=event.payload,
        message_id=event.message_id,
    )
    if event.published_at_us is not None:
        message.published_at.FromMicroseconds(event.published_at_us)
    return pubsub_pb2.SubscribeResponse(message=message)


def _serialize(response: pubsub_pb2.SubscribeResponse | bytes) -> bytes:
    return response if isinstance(response, bytes) else response.SerializeToString()


def pubsub_service(
    servicer: PubSubServicer, max_request_size: int | None = None
) -> grpc.GenericRpcHandler:
    """The handlers of cachecar.v1.PubSubService.

    As the generated ``add_PubSubServiceServicer_to_server``, except that
    Subscribe may also write a response already encoded: a message fanned out
    to many subscribers is encoded once, not once per subscriber; and an
    undecodable request becomes INVALID_ARGUMENT (see ``api/decode.py``).
    """
    service = pubsub_pb2.DESCRIPTOR.services_by_name["PubSubService"]
    return service_handler(service, servicer, {"Subscribe": _serialize}, max_request_size)


class PubSubServicer(pubsub_pb2_grpc.PubSubServiceServicer):
    """Serves cachecar.v1.PubSubService (register it with :func:`pubsub_service`)."""

    SERVICE = "cachecar.v1.PubSubService"

    def __init__(
        self,
        namespaces: NamespaceAccess,
        pubsub: PubSub,
        telemetry: Telemetry,
        *,
        heartbeat_interval: float = 15.0,
    ) -> None:
        self.namespaces = namespaces
        self._pubsub = pubsub
        self.telemetry = telemetry
        self._heartbeat_interval = heartbeat_interval
        beat = pubsub_pb2.HeartbeatEvent()
        beat.interval.FromTimedelta(timedelta(seconds=heartbeat_interval))
        self._heartbeat = pubsub_pb2.SubscribeResponse(heartbeat=beat).SerializeToString()
        # id(message) -> (message, its encoded response). Holding the message
        # keeps its id from being reused while the entry lives.
        self._encoded: dict[int, tuple[Message, bytes]] = {}
        self._encoded_bytes = 0

    def _encode(self, event: Message | Missed) -> bytes:
        if isinstance(event, Missed):
            return _response(event).SerializeToString()
        hit = self._encoded.get(id(event))
        if hit is not None and hit[0] is event:
            return hit[1]
        wire = _response(event).SerializeToString()
        self._encoded[id(event)] = (event, wire)
        self._encoded_bytes += len(wire)
        while len(self._encoded) > _ENCODED_MAX or self._encoded_bytes > _ENCODED_MAX_BYTES:
            oldest = next(iter(self._encoded))  # dicts keep insertion order: FIFO
            self._encoded_bytes -= len(self._encoded.pop(oldest)[1])
        return wire

    @rpc
    async def Publish(
        self, request: pubsub_pb2.PublishRequest, context: Context
    ) -> pubsub_pb2.PublishResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        self._pubsub.check_supported(ns)
        _check_name(ns, request.channel, "channel")
        ns.check_value(request.payload)
        got = await self._pubsub.publish(ns, request.channel, request.payload)
        if self.telemetry.tracing.tracer is not None:
            span = current_span()
            span.set_attribute("cachecar.pubsub.durable", bool(got.message_id))
            span.set_attribute("cachecar.pubsub.receivers", got.receivers)
            if ns.settings.trace_keys:
                span.set_attribute("messaging.destination.name", request.channel)
        response = pubsub_pb2.PublishResponse(
            receiver_count=got.receivers,
            local_receiver_count=got.local_receivers,
            message_id=got.message_id,
        )
        response.published_at.FromMicroseconds(got.published_at_us)
        return response

    # grpc.aio also serves a coroutine that writes with context.write(); the
    # generated stub only knows (async) iterators.
    @server_stream
    async def Subscribe(  # type: ignore[override]
        self, request: pubsub_pb2.SubscribeRequest, context: Context, call: StreamCall
    ) -> None:
        ns = self.namespaces.resolve(request.namespace, context)
        self._pubsub.check_supported(ns)
        spec = _spec(ns, request, self._pubsub)
        if call.span is not None:
            call.span.set_attribute("cachecar.pubsub.channels", len(spec.channels))
            call.span.set_attribute("cachecar.pubsub.patterns", len(spec.patterns))
        async with self._pubsub.subscribe(ns, spec) as (subscription, subscribed):
            confirmed = pubsub_pb2.SubscribedEvent(
                channels=subscribed.channels,
                patterns=subscribed.patterns,
                resume_ids=subscribed.resume_ids,
            )
            if request.heartbeats:
                confirmed.heartbeat_interval.FromTimedelta(
                    timedelta(seconds=self._heartbeat_interval)
                )
            await context.write(pubsub_pb2.SubscribeResponse(subscribed=confirmed))
            call.started()
            tracer = call.tracer
            # The stream's life: it ends with the client (cancellation), a
            # slow-subscriber disconnect or shutdown (raised by next_events).
            # A read outlives a heartbeat: cancelling it instead could drop
            # the events it had just taken.
            reading: asyncio.Future[list[Message | Missed]] | None = None
            beat = self._heartbeat_interval if request.heartbeats else None
            try:
                while True:
                    if reading is None:
                        reading = asyncio.ensure_future(subscription.next_events(_BATCH))
                    done, _ = await asyncio.wait({reading}, timeout=beat)
                    if not done:
                        await context.write(self._heartbeat)
                        continue
                    events, reading = reading.result(), None
                    for event in events:
                        if tracer is None or isinstance(event, Missed):
                            await context.write(self._encode(event))
                            continue
                        with self._delivery_span(tracer, call, ns, event):
                            await context.write(self._encode(event))
            finally:
                if reading is not None:
                    reading.cancel()

    def _delivery_span(
        self, tracer: Tracer, call: StreamCall, ns: Namespace, message: Message
    ) -> AbstractContextManager[Span]:
        links = []
        if message.carrier:
            publisher = trace.get_current_span(propagate.extract(message.carrier))
            if publisher.get_span_context().is_valid:
                links.append(Link(publisher.get_span_context(), {"cachecar.link": "publish"}))
        if call.setup is not None:
            links.append(Link(call.setup, {"cachecar.link": "subscribe"}))
        attributes: dict[str, AttributeValue] = {
            "messaging.system": "redis",
            "messaging.operation.type": "process",
            "cachecar.namespace": ns.name,
            "cachecar.pubsub.durable": bool(message.message_id),
        }
        if message.message_id:
            attributes["messaging.message.id"] = message.message_id
        if ns.settings.trace_keys:
            attributes["messaging.destination.name"] = message.channel
        # A root of its own (empty parent context), linked rather than parented.
        return tracer.start_as_current_span(
            "cachecar.pubsub.deliver",
            context=TraceContext(),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=attributes,
        )
