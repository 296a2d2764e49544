"""What a subscription delivers: messages and missed-message notices.

Built once per message and shared by every local subscriber that receives it
(the API layer then encodes each once, too): fan-out costs one decode, not
one per subscriber.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sidecar.backends.pubsub import StreamEntry, format_id

__all__ = ["Event", "Message", "Missed", "durable_message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One delivered message."""

    channel: str
    payload: bytes
    pattern: str = ""
    #: Durable channels only: the stream id.
    message_id: str = ""
    published_at_us: int | None = None
    #: The publisher's W3C trace context (traceparent, tracestate), if it had one.
    carrier: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Missed:
    """Messages the subscriber did not receive; ``count`` 0 means unknown."""

    reason: Literal["slow_subscriber", "trimmed", "resubscribed"]
    count: int
    channel: str = ""


Event = Message | Missed


def durable_message(channel: str, entry: StreamEntry) -> Message:
    """The message a durable channel's stream entry carries."""
    fields = entry.fields
    carrier = {}
    for key, name in ((b"tp", "traceparent"), (b"ts", "tracestate")):
        value = fields.get(key)
        if value is not None:
            carrier[name] = value.decode(errors="replace")
    return Message(
        channel,
        fields.get(b"p", b""),
        message_id=format_id(entry.id),
        published_at_us=entry.id[0] * 1000,
        carrier=carrier,
    )
