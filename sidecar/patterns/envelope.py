"""The envelope around a fire-and-forget message on its Redis channel.

Redis Pub/Sub carries one opaque string per message, but a subscriber wants
more than the payload: the publisher's W3C trace context (so a delivery span
can link to the Publish that caused it) and the publish time (latency, and
``published_at``). cachecar publishes::

    MAGIC (4 bytes: ff 63 63 01) | header length (2 bytes, big-endian) | header | payload

where the header is ASCII ``key=value`` lines (``t`` publish time in µs since
the epoch, ``tp`` traceparent, ``ts`` tracestate); unknown keys are ignored,
so later versions can add some. The subscriber side strips it, so the bytes
the app receives are exactly the bytes it published.

A message published to the Redis channel by something other than cachecar is
delivered as it is: only data that starts with the magic and parses as an
envelope is unwrapped. ``0xff`` never occurs in UTF-8 and never starts a valid
protobuf message, so text, JSON and protobuf payloads cannot be mistaken for
an envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MAGIC", "Unwrapped", "unwrap", "wrap"]

MAGIC = b"\xffcc\x01"
_HEADER_AT = len(MAGIC) + 2
_MAX_HEADER = 0xFFFF
#: Header keys of the trace context, mapped to W3C propagation field names.
_CARRIER_KEYS = {b"tp": "traceparent", b"ts": "tracestate"}
_CARRIER_NAMES = {v: k for k, v in _CARRIER_KEYS.items()}


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """A message as the app published it, plus what the envelope carried."""

    payload: bytes
    #: Publish time, µs since the epoch (the publishing sidecar's clock).
    published_at_us: int | None = None
    #: W3C propagation fields (traceparent, tracestate) of the Publish call.
    carrier: Mapping[str, str] = field(default_factory=dict)


def wrap(payload: bytes, published_at_us: int, carrier: Mapping[str, str]) -> bytes:
    """The bytes cachecar publishes for ``payload``."""
    lines = [b"t=%d" % published_at_us]
    for name, value in carrier.items():
        key = _CARRIER_NAMES.get(name)
        # Propagation values are ASCII by spec; anything else is not ours to carry.
        if key is not None and value.isascii() and "\n" not in value:
            lines.append(key + b"=" + value.encode())
    header = b"\n".join(lines)
    if len(header) > _MAX_HEADER:  # a runaway tracestate: drop the context, keep the message
        header = lines[0]
    return b"".join((MAGIC, len(header).to_bytes(2, "big"), header, payload))


def unwrap(data: bytes) -> Unwrapped:
    """Split what a Redis channel delivered into payload and envelope fields."""
    if not data.startswith(MAGIC) or len(data) < _HEADER_AT:
        return Unwrapped(data)
    size = int.from_bytes(data[len(MAGIC) : _HEADER_AT], "big")
    end = _HEADER_AT + size
    if end > len(data):
        return Unwrapped(data)
    published_at: int | None = None
    carrier: dict[str, str] = {}
    for line in data[_HEADER_AT:end].split(b"\n"):
        key, sep, value = line.partition(b"=")
        if not sep or not value.isascii():
            return Unwrapped(data)  # not an envelope after all
        if key == b"t":
            if not value.isdigit():
                return Unwrapped(data)
            published_at = int(value)
        elif key in _CARRIER_KEYS:
            carrier[_CARRIER_KEYS[key]] = value.decode()
    if published_at is None:
        return Unwrapped(data)
    return Unwrapped(data[end:], published_at, carrier)
