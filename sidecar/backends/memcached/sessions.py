"""Session records on Memcached: one serialized record per session, gets/cas updates.

Memcached has no hashes and no scripts, so a session is one item holding the
whole record (a small length-prefixed binary format, below), and every change
is a read-modify-write guarded by the item's CAS token: ``gets``, apply the
change, ``cas``; if another writer got there first, re-read and re-apply
(bounded: :data:`ATTEMPTS` tries with jittered backoff, then
:class:`Contended`). That is what makes two concurrent updates of different
fields both survive.

Expiry is kept in the record and checked on every read, to the millisecond:
Memcached's own expiry has a resolution of one second, so the item's TTL is
only the garbage collector, set a little past the record's idle expiry.
Sliding a session therefore rewrites the record (``cas``) on each read.

Sessions cannot be revoked per subject here (Memcached cannot enumerate
keys), so this class does not offer that capability.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sidecar.backends.base import MISSING, Missing
from sidecar.backends.breaker import CircuitBreaker, guarded
from sidecar.backends.capabilities import (
    Contended,
    FieldChanges,
    SessionKeys,
    SessionRecord,
    TooLarge,
    VersionMismatch,
)
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["ATTEMPTS", "MemcachedSessions", "decode_record", "encode_record"]

T = TypeVar("T")

#: How many gets/cas rounds an update may lose to concurrent writers.
ATTEMPTS = 16
_MAGIC = b"ccS1"
_HEADER = struct.Struct(">4sQqqqq")  # magic, version, created, expires, absolute, ttl
_LENGTH = struct.Struct(">I")
# Memcached reads an expiry above 30 days as an absolute unix time.
_RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600


def encode_record(record: SessionRecord) -> bytes:
    """The record as stored: header, subject, then each field's name and value."""
    parts = [
        _HEADER.pack(
            _MAGIC,
            record.version,
            record.created_ms,
            record.expires_ms,
            record.absolute_ms,
            record.ttl_ms,
        )
    ]
    subject = record.subject.encode()
    parts += [_LENGTH.pack(len(subject)), subject, _LENGTH.pack(len(record.data))]
    for name, value in record.data.items():
        raw = name.encode()
        parts += [_LENGTH.pack(len(raw)), raw, _LENGTH.pack(len(value)), value]
    return b"".join(parts)


def decode_record(blob: bytes) -> SessionRecord:
    """The inverse of :func:`encode_record`; ValueError if ``blob`` is not a record."""
    view = memoryview(blob)
    try:
        magic, version, created, expires, absolute, ttl = _HEADER.unpack_from(view)
        if magic != _MAGIC:
            raise ValueError("not a cachecar session record")
        offset = _HEADER.size

        def chunk() -> bytes:
            nonlocal offset
            (length,) = _LENGTH.unpack_from(view, offset)
            offset += _LENGTH.size
            if offset + length > len(view):
                raise ValueError("truncated session record")
            out = bytes(view[offset : offset + length])
            offset += length
            return out

        subject = chunk().decode()
        (count,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        data = {}
        for _ in range(count):
            name = chunk().decode()
            data[name] = chunk()
    except struct.error as exc:
        raise ValueError(f"truncated session record: {exc}") from None
    return SessionRecord(subject, data, version, created, expires, absolute, ttl)


def data_size(data: Mapping[str, bytes]) -> int:
    """What counts against a namespace's max_value_size: field names plus values."""
    return sum(len(name.encode()) + len(value) for name, value in data.items())


def _slid(record: SessionRecord, now_ms: int) -> SessionRecord:
    expires = min(now_ms + record.ttl_ms, record.absolute_ms)
    return dataclasses.replace(record, expires_ms=expires)


def _applied(
    record: SessionRecord, changes: FieldChanges, now_ms: int, *, slide: bool
) -> SessionRecord | VersionMismatch | TooLarge:
    """``record`` after ``changes``, or why they cannot apply."""
    if changes.expected_version and record.version != changes.expected_version:
        return VersionMismatch(record.version)
    data = {**record.data, **changes.set_fields}
    for name in changes.delete_fields:
        data.pop(name, None)
    size = data_size(data)
    if size > changes.max_size:
        return TooLarge(size)
    updated = dataclasses.replace(record, data=data, version=record.version + 1)
    return _slid(updated, now_ms) if slide else updated


def _shown(record: SessionRecord, *, with_data: bool) -> SessionRecord:
    # The whole record is always read (it is one item), but the data is only
    # handed out when asked for, as on every other backend.
    return record if with_data else dataclasses.replace(record, data={})


def _expiry(record: SessionRecord, now_ms: int) -> int:
    # One second past the record's own expiry: Memcached's clock ticks in whole
    # seconds and must never drop a record that is still live.
    seconds = math.ceil(max(1, record.expires_ms - now_ms) / 1000) + 1
    if seconds > _RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + seconds
    return seconds


def _checked(key: bytes) -> bytes:
    # Session keys are built from a digest, so they always meet Memcached's
    # rules; anything else is a bug, not something to encode around.
    if len(key) > 250 or not all(0x21 <= b <= 0x7E for b in key):
        raise ValueError("session key breaks memcached's key rules")
    return key


async def _backoff(attempt: int) -> None:
    # Jittered, so writers that collided do not collide again in lockstep.
    await asyncio.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 5)))  # noqa: S311


class Runner(Protocol):
    """Runs one blocking pymemcache call off the event loop, errors translated."""

    async def __call__(self, func: Callable[..., T], *args: Any) -> T: ...


class MemcachedSessions:
    """The session capability (SessionStore) of a Memcached backend: whole records
    under gets/cas."""

    def __init__(
        self, client: Any, run: Runner, observer: CommandObserver, breaker: CircuitBreaker
    ) -> None:
        #: pymemcache's HashClient (untyped: pymemcache ships no types).
        self._client = client
        self._run = run
        self.observer = observer
        self.breaker = breaker

    @observed("session_create")
    @guarded
    async def session_create(self, keys: SessionKeys, record: SessionRecord, now_ms: int) -> bool:
        blob = encode_record(record)
        expiry = _expiry(record, now_ms)
        return bool(await self._run(self._client.add, _checked(keys.key), blob, expiry, False))

    @observed("session_read")
    @guarded
    async def session_read(
        self, keys: SessionKeys, now_ms: int, *, slide: bool, with_data: bool
    ) -> SessionRecord | Missing:
        key = _checked(keys.key)
        record: SessionRecord | Missing = MISSING
        for attempt in range(ATTEMPTS):
            blob, cas = await self._run(self._client.gets, key)
            if blob is None:
                return MISSING
            record = decode_record(blob)
            if record.expires_ms <= now_ms:
                return MISSING
            slid = _slid(record, now_ms)
            if not slide or slid.expires_ms == record.expires_ms:
                return _shown(record, with_data=with_data)
            stored = await self._run(
                self._client.cas, key, encode_record(slid), cas, _expiry(slid, now_ms), False
            )
            if stored:
                return _shown(slid, with_data=with_data)
            if stored is None:  # deleted since the gets
                return MISSING
            await _backoff(attempt)
        # Other writers kept sliding or updating it: it is alive and was just
        # extended by one of them; a read does not fail for that.
        return _shown(record, with_data=with_data) if isinstance(record, SessionRecord) else record

    @observed("session_update")
    @guarded
    async def session_update(
        self, keys: SessionKeys, now_ms: int, changes: FieldChanges, *, slide: bool
    ) -> SessionRecord | Missing | VersionMismatch | TooLarge | Contended:
        key = _checked(keys.key)
        for attempt in range(ATTEMPTS):
            blob, cas = await self._run(self._client.gets, key)
            if blob is None:
                return MISSING
            record = decode_record(blob)
            if record.expires_ms <= now_ms:
                return MISSING
            updated = _applied(record, changes, now_ms, slide=slide)
            if not isinstance(updated, SessionRecord):
                return updated
            stored = await self._run(
                self._client.cas, key, encode_record(updated), cas, _expiry(updated, now_ms), False
            )
            if stored:
                return updated
            if stored is None:
                return MISSING
            await _backoff(attempt)
        return Contended(ATTEMPTS)

    @observed("session_delete")
    @guarded
    async def session_delete(self, keys: SessionKeys, now_ms: int) -> bool:
        key = _checked(keys.key)

        def delete() -> bool:
            blob, _ = self._client.gets(key)
            if blob is None:
                return False
            live = decode_record(blob).expires_ms > now_ms
            return bool(self._client.delete(key, noreply=False)) and live

        return await self._run(delete)
