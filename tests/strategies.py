"""Hypothesis strategies for cachecar requests: adversarial names, values and wire bytes.

Requests are generated from the message descriptors, so a field added to a
proto is fuzzed without touching this file; ``hints`` bias chosen fields
(namespaces, session ids, board names, ...) towards values that reach deeper
than the first validation check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

__all__ = [
    "Hints",
    "adversarial_bytes",
    "adversarial_text",
    "durations",
    "garbage",
    "invalid_utf8",
    "requests",
    "with_invalid_utf8",
]

Hints = Mapping[str, st.SearchStrategy[Any]]

F = FieldDescriptor
_INT64 = (-(2**63), 2**63 - 1)
_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: _INT64,
    F.TYPE_SINT64: _INT64,
    F.TYPE_SFIXED64: _INT64,
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}

# What trips key encoders: separators, Redis Cluster hash tags, memcached's
# protocol (spaces, control characters, CR/LF), NUL, glob syntax, escapes.
_SPECIAL = [
    "\x00",
    " ",
    "\r\n",
    "\n",
    "\t",
    "\x7f",
    "\x01",
    ":",
    "::",
    "{",
    "}",
    "{}",
    "{a}",
    "}{",
    "*",
    "?",
    "[",
    "]",
    "\\",
    "%",
    "/",
    "..",
    "é",
    "\u200b",
    "\ufeff",
    "𝄞",
    "get k 0 0 1\r\n",
    "cc:items:k",
]
# Sizes around every limit the tests configure (64-byte keys, 1 KiB values)
# and the defaults (1024-byte keys, 1 MiB values).
_SIZES = [63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4096, 65_537]
_BYTE_SIZES = [1023, 1024, 1025, 1 << 20, (1 << 20) + 1]

# Any Unicode scalar value: surrogates cannot be encoded as UTF-8 at all.
_chars = st.characters(codec="utf-8")


def adversarial_text() -> st.SearchStrategy[str]:
    """Strings that stress names: empty, huge, control characters, unicode, separators."""
    special = st.sampled_from(_SPECIAL)
    return st.one_of(
        st.just(""),
        st.text(_chars, max_size=24),
        st.lists(st.one_of(special, st.text(_chars, max_size=4)), max_size=6).map("".join),
        st.tuples(st.sampled_from(["k", "é", "𝄞", " "]), st.sampled_from(_SIZES)).map(
            lambda c: c[0] * c[1]
        ),
    )


def adversarial_bytes(*, huge: bool = True) -> st.SearchStrategy[bytes]:
    """Short bytes, and sizes around the value limits (1 MiB ones only if ``huge``)."""
    sizes = _BYTE_SIZES if huge else [n for n in _BYTE_SIZES if n < 1 << 20]
    return st.one_of(st.binary(max_size=32), st.sampled_from(sizes).map(lambda n: b"\xff" * n))


def durations() -> st.SearchStrategy[Duration]:
    """Valid, negative, zero, huge and out-of-range durations (nanos too)."""
    seconds = st.one_of(
        st.sampled_from([0, 1, -1, 86_400 * 366, 315_576_000_000, 315_576_000_001]),
        st.sampled_from([10**14, 2**63 - 1, -(2**63)]),
        st.integers(*_INT64),
    )
    nanos = st.one_of(
        st.sampled_from([0, 1, -1, 999_999_999, 1_000_000_000, -1_000_000_000]),
        st.integers(-(2**31), 2**31 - 1),
    )
    return st.builds(Duration, seconds=seconds, nanos=nanos)


def _scalar(field: FieldDescriptor, *, single: bool = True) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return adversarial_text()
    if kind == F.TYPE_BYTES:
        # Several 1 MiB values in one map would only meet gRPC's own request
        # size limit (a transport error, before cachecar sees the request).
        return adversarial_bytes(huge=single)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        extremes = [0.0, -0.0, 5e-324, 1e308, -1e308, 2.0**53 + 1, 2.0**64]
        return st.one_of(st.sampled_from(extremes), st.floats(width=64))
    if kind == F.TYPE_ENUM:
        assert field.enum_type is not None
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    low, high = _RANGES[kind]
    edges = sorted({low, high, 0, 1, max(low, -1), high // 2, high - 1})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _field(field: FieldDescriptor, hints: Hints) -> st.SearchStrategy[Any]:
    if field.name in hints:
        return hints[field.name]
    if field.type == F.TYPE_MESSAGE:
        entry = _message(field)
        if entry.GetOptions().map_entry:
            key = _scalar(entry.fields_by_name["key"], single=False)
            value = _scalar(entry.fields_by_name["value"], single=False)
            return st.dictionaries(key, value, max_size=5)
        one: st.SearchStrategy[Any] = (
            durations() if entry.full_name == Duration.DESCRIPTOR.full_name else requests(entry)
        )
    else:
        one = _scalar(field, single=not field.is_repeated)
    return st.lists(one, max_size=12) if field.is_repeated else one


def _message(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None, field.full_name
    return field.message_type


def requests(
    descriptor: Descriptor, hints: Hints | None = None, always: frozenset[str] = frozenset()
) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``; any field but those in ``always`` may be missing."""
    cls = GetMessageClass(descriptor)
    fields = {f.name: _field(f, hints or {}) for f in descriptor.fields}
    required = {name: fields.pop(name) for name in always if name in fields}
    return st.fixed_dictionaries(required, optional=fields).map(lambda kw: cls(**kw))


# -- wire-level ---------------------------------------------------------------

_BAD_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc3\x28",  # a lead byte without its continuation
    b"\xc0\x80",  # overlong NUL
    b"\xe2\x82",  # truncated 3-byte sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xf8\x88\x80\x80\x80",  # 5-byte form
]


def invalid_utf8() -> st.SearchStrategy[bytes]:
    """Byte strings that are not valid UTF-8."""
    text = st.text(_chars, max_size=8).map(str.encode)
    joined = st.tuples(text, st.sampled_from(_BAD_UTF8), st.binary(max_size=8)).map(b"".join)
    # The random tail can complete a truncated sequence into a valid one.
    return joined.filter(_not_utf8)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return True
    return False


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string_paths(descriptor: Descriptor) -> list[tuple[int, ...]]:
    """Field-number paths to every string (map keys and values included)."""
    paths: list[tuple[int, ...]] = []
    for field in descriptor.fields:
        if field.type == F.TYPE_STRING:
            paths.append((field.number,))
        elif field.type == F.TYPE_MESSAGE and _message(field).GetOptions().map_entry:
            paths += [(field.number, *p) for p in _string_paths(_message(field))]
    return paths


def with_invalid_utf8(
    descriptor: Descriptor, hints: Hints | None = None
) -> st.SearchStrategy[bytes]:
    """A valid request, plus one string field (anywhere) holding invalid UTF-8.

    Hand-encoded: protobuf's own encoders refuse to produce it. A later
    occurrence of a singular field wins, a repeated one adds an element; either
    way the decoder must reject the message.
    """
    paths = _string_paths(descriptor)
    assert paths, f"{descriptor.full_name} has no string field"

    def encode(parts: tuple[Message, tuple[int, ...], bytes]) -> bytes:
        message, path, bad = parts
        payload = bad
        for number in reversed(path):
            payload = _length_delimited(number, payload)
        return message.SerializeToString() + payload

    return st.tuples(requests(descriptor, hints), st.sampled_from(paths), invalid_utf8()).map(
        encode
    )


def garbage(descriptor: Descriptor, hints: Hints | None = None) -> st.SearchStrategy[bytes]:
    """Bytes that may or may not decode: random, truncated or mis-typed requests."""
    valid = requests(descriptor, hints).map(lambda m: m.SerializeToString())
    truncated = st.tuples(valid, st.integers(0, 64)).map(lambda v: v[0][: max(0, len(v[0]) - v[1])])
    # Field numbers 1..6 with every wire type, including the deprecated groups.
    tags = st.tuples(st.integers(1, 6), st.integers(0, 7)).map(lambda t: _varint(t[0] << 3 | t[1]))
    mistyped = st.lists(st.tuples(tags, st.binary(max_size=12)).map(b"".join), max_size=4).map(
        b"".join
    )
    return st.one_of(
        st.binary(max_size=128), truncated, mistyped, st.tuples(valid, mistyped).map(b"".join)
    )
