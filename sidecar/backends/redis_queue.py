"""Redis Streams primitives of the write-behind queue (Redis and Redis Cluster).

Each namespace partition has a queue stream, a dead-letter stream and a
flusher lease, all under one hash tag with the cache entries of its keys (see
patterns/keys.py), so the scripts below touch one cluster slot each:

- ``enqueue``: SET the cache entry, break its load lease and XADD the write,
  in one script — neither can happen without the other;
- the flusher reads through consumer group ``cachecar``: its own pending
  entries first (a retry), then entries claimed from a crashed sidecar, then
  new ones; ``ack`` is XACK + XDEL, so XLEN is exactly what is not yet written;
- ``dead_letter`` / ``replay`` move entries between the queue and the
  dead-letter stream atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from sidecar.backends.breaker import guarded
from sidecar.backends.redis import RedisBackend
from sidecar.errors import ResourceExhausted
from sidecar.telemetry.commands import observed

__all__ = ["GROUP", "QueueStats", "QueuedWrite", "RedisQueue"]

GROUP = b"cachecar"

_ENQUEUE = """
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[3]) then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return redis.call('XADD', KEYS[3], '*', 'k', ARGV[4], 'v', ARGV[5], 'op', ARGV[6],
                  'w', ARGV[7], 't', ARGV[8], 'tp', ARGV[9])
"""
_ACK = """
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
"""
_DEAD_LETTER = """
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 0 then return 0 end
local fields = entry[1][2]
table.insert(fields, 'error')
table.insert(fields, ARGV[3])
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""
_REPLAY = """
local entries = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[1])
for _, entry in ipairs(entries) do
  local fields, kept = entry[2], {}
  for i = 1, #fields, 2 do
    if fields[i] ~= 'error' then
      table.insert(kept, fields[i]); table.insert(kept, fields[i + 1])
    end
  end
  redis.call('XADD', KEYS[1], '*', unpack(kept))
  redis.call('XDEL', KEYS[2], entry[1])
end
return #entries
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    """One queued write as the flusher reads it."""

    entry_id: bytes
    key: str
    value: bytes
    delete: bool
    write_id: str
    accepted_ms: int
    traceparent: str


@dataclass(frozen=True, slots=True)
class QueueStats:
    pending: int
    in_flight: int
    oldest_entry_ms: int | None
    dead_letters: int


def _parse(entries: Sequence[Any]) -> list[QueuedWrite]:
    writes = []
    for entry_id, fields in entries:
        if not fields:  # a PEL entry whose message was deleted meanwhile
            continue
        writes.append(
            QueuedWrite(
                entry_id=bytes(entry_id),
                key=fields[b"k"].decode(),
                value=bytes(fields[b"v"]),
                delete=fields[b"op"] == b"del",
                write_id=fields[b"w"].decode(),
                accepted_ms=int(fields[b"t"]),
                traceparent=fields.get(b"tp", b"").decode(),
            )
        )
    return writes


class RedisQueue:
    """Queue operations on one Redis backend (its connections, breaker and spans)."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self.observer = backend.observer
        self.breaker = backend.breaker
        client = backend.client
        self._client = client
        self._enqueue = client.register_script(_ENQUEUE)
        self._ack = client.register_script(_ACK)
        self._dead = client.register_script(_DEAD_LETTER)
        self._replay = client.register_script(_REPLAY)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @observed("ENQUEUE")
    @guarded
    async def enqueue(
        self,
        *,
        value_key: bytes,
        lease_key: bytes,
        queue: bytes,
        entry: bytes,
        ttl_ms: int,
        limit: int,
        key: str,
        value: bytes,
        delete: bool,
        write_id: str,
        accepted_ms: int,
        traceparent: str,
    ) -> bytes:
        """Update the cache and append the write atomically; the stream entry id."""
        with self.backend.translate_errors():
            entry_id = await self._enqueue(
                keys=[value_key, lease_key, queue],
                args=[
                    entry,
                    max(1, ttl_ms),
                    limit,
                    key,
                    value,
                    b"del" if delete else b"put",
                    write_id,
                    accepted_ms,
                    traceparent,
                ],
            )
        if entry_id is None:
            raise ResourceExhausted(
                "the write-behind queue is full (max_pending reached): the writer is not "
                "keeping up or is down; retry with backoff, or raise write_behind.max_pending",
                reason="QUEUE_FULL",
            )
        return bytes(entry_id)

    @observed("XGROUP CREATE")
    @guarded
    async def ensure_group(self, queue: bytes) -> None:
        with self.backend.translate_errors():
            try:
                # From "0": writes queued before any flusher existed are flushed too.
                await self._client.xgroup_create(queue, GROUP, id=b"0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    @observed("XREADGROUP")
    @guarded
    async def read(
        self, queue: bytes, consumer: bytes, count: int, *, new: bool
    ) -> list[QueuedWrite]:
        """This consumer's pending entries (``new=False``) or never-delivered ones."""
        with self.backend.translate_errors():
            reply = await self._client.xreadgroup(
                GROUP, consumer, {queue: b">" if new else b"0"}, count=count
            )
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3 shape
            return _parse(next(iter(reply.values()))[0])
        return _parse(reply[0][1])

    @observed("XAUTOCLAIM")
    @guarded
    async def claim(self, queue: bytes, consumer: bytes, count: int) -> int:
        """Take over every entry other consumers left pending; how many were claimed.

        Called only by the partition's current owner, whose lease proves the
        previous owner stopped renewing (crashed or cut off)."""
        claimed = 0
        start: bytes = b"0-0"
        with self.backend.translate_errors():
            for _ in range(1000):  # bounded: at most 1000 * count entries per call
                # Not JUSTID: with it, redis-py drops the cursor this loop needs.
                reply = await self._client.xautoclaim(
                    queue, GROUP, consumer, min_idle_time=0, start_id=start, count=count
                )
                start, entries = reply[0], reply[1]
                claimed += len(entries)
                if start in (b"0-0", "0-0"):
                    break
        return claimed

    @observed("ACK")
    @guarded
    async def ack(self, queue: bytes, entry_ids: Sequence[bytes]) -> None:
        if entry_ids:
            with self.backend.translate_errors():
                await self._ack(keys=[queue], args=[GROUP, *entry_ids])

    @observed("DEAD LETTER")
    @guarded
    async def dead_letter(self, queue: bytes, dead: bytes, entry_id: bytes, error: str) -> None:
        with self.backend.translate_errors():
            await self._dead(keys=[queue, dead], args=[GROUP, entry_id, error[:512]])

    @observed("REPLAY")
    @guarded
    async def replay(self, queue: bytes, dead: bytes, limit: int) -> int:
        with self.backend.translate_errors():
            return int(await self._replay(keys=[queue, dead], args=[limit]))

    @observed("QUEUE STATS")
    @guarded
    async def stats(self, queue: bytes, dead: bytes) -> QueueStats:
        with self.backend.translate_errors():
            pending = int(await self._client.xlen(queue))
            dead_letters = int(await self._client.xlen(dead))
            oldest = await self._client.xrange(queue, count=1)
            in_flight = 0
            if pending:
                try:
                    summary = await self._client.xpending(queue, GROUP)
                    in_flight = int(summary["pending"])
                except ResponseError:  # no group yet: nothing is in flight
                    in_flight = 0
        oldest_ms = int(bytes(oldest[0][0]).split(b"-")[0]) if oldest else None
        return QueueStats(pending, in_flight, oldest_ms, dead_letters)

    # The partition's flusher lease: one sidecar flushes a partition at a time.

    @observed("OWNER TAKE")
    @guarded
    async def take(self, owner_key: bytes, token: bytes, ttl_ms: int) -> bool:
        with self.backend.translate_errors():
            if await self._client.set(owner_key, token, px=ttl_ms, nx=True):
                return True
            # Still ours: a Redis hiccup made the flusher let go, but the lease never
            # lapsed. Without this the owner waited out its own lease (owner_ttl).
            return bool(await self._renew(keys=[owner_key], args=[token, ttl_ms]))

    @observed("OWNER RENEW")
    @guarded
    async def renew(self, owner_key: bytes, token: bytes, ttl_ms: int) -> bool:
        with self.backend.translate_errors():
            return bool(await self._renew(keys=[owner_key], args=[token, ttl_ms]))

    @observed("OWNER RELEASE")
    @guarded
    async def give_up(self, owner_key: bytes, token: bytes) -> None:
        with self.backend.translate_errors():
            await self._release(keys=[owner_key], args=[token])
