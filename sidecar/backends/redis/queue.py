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

Per-key order across dead-letter replay: a write's place in its key's history
is its *sequence*, the id it got when first queued (``sq`` keeps it through
dead-lettering and replay; a fresh write's sequence is its entry id). A
partition's history hash (``h``) remembers, for each key with dead letters
outstanding, how many there are and the newest sequence written since; the
flusher drops a replayed write whose key has had a newer write written
("superseded"), so a replay never lands an old value over a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

from sidecar.backends.breaker import guarded
from sidecar.backends.queue import Enqueued, NotReplicated, Page, QueuedWrite, QueueStats
from sidecar.backends.redis.link import RedisLink
from sidecar.backends.redis.replicated import ReplicatedAppend
from sidecar.backends.redis.versions import CONDITION, PUT_ONE
from sidecar.backends.versions import Condition, PutOutcome, PutStatus
from sidecar.errors import ResourceExhausted
from sidecar.telemetry.commands import observed

__all__ = ["GROUP", "RedisQueue"]

GROUP = b"cachecar"

# KEYS: value, lease, queue. ARGV: record, ttl ms, limit, key, value, op,
# write id, accepted ms, traceparent, condition, expected version. The version
# rule and the condition are the versioned put's own (PUT_ONE): the entry is
# stored, its lease broken and the write queued only if they hold.
# Reply: false (queue full), or {status, version, entry id if stored}.
_ENQUEUE = (
    PUT_ONE
    + """
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[3]) then return false end
local status, version = put_one(KEYS[1], KEYS[2], ARGV[1], ARGV[2], '', ARGV[10], ARGV[11])
if status ~= 1 then return {status, version} end
return {status, version, redis.call('XADD', KEYS[3], '*', 'k', ARGV[4], 'v', ARGV[5],
                                    'op', ARGV[6], 'w', ARGV[7], 't', ARGV[8], 'tp', ARGV[9],
                                    'vr', version)}
"""
)
# KEYS: queue, history. ARGV: group, #ids, #written, ids..., (key, sequence)
# for each written write..., then the key of each replayed write now settled
# (written or superseded). Ids go in chunks: Lua's unpack() has a stack limit.
_ACK = """
local n, w = tonumber(ARGV[2]), tonumber(ARGV[3])
for first = 4, 3 + n, 1000 do
  local last = math.min(first + 999, 3 + n)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
  redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
end
local function seq(id)
  local ms, n = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(n)
end
local function newer(a, b)
  local am, an = seq(a)
  local bm, bn = seq(b)
  return am > bm or (am == bm and an > bn)
end
local base = 3 + n
for i = 1, w do
  local key, written = ARGV[base + 2 * i - 1], ARGV[base + 2 * i]
  local known = redis.call('HGET', KEYS[2], key)
  if known then
    local count, mark = string.match(known, '^(%d+) (.+)$')
    if newer(written, mark) then redis.call('HSET', KEYS[2], key, count .. ' ' .. written) end
  end
end
for i = base + 2 * w + 1, #ARGV do
  local known = redis.call('HGET', KEYS[2], ARGV[i])
  if known then
    local count, mark = string.match(known, '^(%d+) (.+)$')
    count = tonumber(count) - 1
    if count <= 0 then redis.call('HDEL', KEYS[2], ARGV[i])
    else redis.call('HSET', KEYS[2], ARGV[i], count .. ' ' .. mark) end
  end
end
return n
"""
# KEYS: queue, dead letters, history. ARGV: group, entry id, error, key.
_DEAD_LETTER = """
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 0 then return 0 end
local fields = entry[1][2]
local replayed = false
for i = 1, #fields, 2 do
  if fields[i] == 'sq' then replayed = true end
end
if not replayed then
  table.insert(fields, 'sq')
  table.insert(fields, ARGV[2])
end
table.insert(fields, 'error')
table.insert(fields, ARGV[3])
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
-- A replayed write dead-lettered again was counted when it first was.
if not replayed then
  local known = redis.call('HGET', KEYS[3], ARGV[4])
  if known then
    local count, mark = string.match(known, '^(%d+) (.+)$')
    redis.call('HSET', KEYS[3], ARGV[4], (tonumber(count) + 1) .. ' ' .. mark)
  else
    redis.call('HSET', KEYS[3], ARGV[4], '1 0-0')
  end
end
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
# KEYS: owner lease, owner epoch. ARGV: token, ttl ms. The epoch moves on
# every takeover, in the same step as the lease: no owner ever flushes under
# an epoch another owner has had too. It is never below the server's clock in
# ms, so it keeps rising even if its key is lost (eviction, a restart without
# persistence): an app's fence, which remembers the highest epoch it saw,
# would otherwise refuse every write of the restarted count.
_TAKE = """
local function bump()
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local epoch = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
  if epoch < ms then epoch = ms end
  redis.call('SET', KEYS[2], string.format('%d', epoch))
  return epoch
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return bump() end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local epoch = redis.call('GET', KEYS[2])
  if epoch then return tonumber(epoch) end
  return bump()
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _parse(entries: Sequence[Any]) -> Page:
    writes, gone = [], []
    last: bytes | None = None
    for raw_id, fields in entries:
        entry_id = last = bytes(raw_id)
        if not fields:  # a PEL entry whose message was deleted meanwhile
            gone.append(entry_id)
            continue
        sequence = fields.get(b"sq")
        version = fields.get(b"vr")
        writes.append(
            QueuedWrite(
                entry_id=entry_id,
                key=fields[b"k"].decode(),
                value=bytes(fields[b"v"]),
                delete=fields[b"op"] == b"del",
                write_id=fields[b"w"].decode(),
                accepted_ms=int(fields[b"t"]),
                traceparent=fields.get(b"tp", b"").decode(),
                sequence=bytes(sequence) if sequence else entry_id,
                replayed=sequence is not None,
                version=int.from_bytes(version, "big") if version else 0,
            )
        )
    return Page(writes, last, gone, len(entries))


class RedisQueue:
    """The :class:`~sidecar.backends.queue.WriteQueue` of a Redis backend, on Streams."""

    def __init__(self, link: RedisLink) -> None:
        self.observer = link.observer
        self.breaker = link.breaker
        self.translate_errors = link.translate_errors
        self._client = link.client
        self._enqueue = link.script(_ENQUEUE)
        self._ack = link.script(_ACK)
        self._dead = link.script(_DEAD_LETTER)
        self._replay = link.script(_REPLAY)
        self._renew = link.script(_RENEW)
        self._take = link.script(_TAKE)
        self._replicated = ReplicatedAppend(link, self._enqueue)
        self._release = link.script(_RELEASE)

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
        replicas: int = 0,
        wait_ms: int = 0,
        condition: Condition = Condition.ALWAYS,
        expected: int = 0,
    ) -> Enqueued:
        """Update the cache and append the write atomically, if the version rule
        and ``condition`` allow. With ``replicas``, WAIT for them on the
        connection that ran the script."""
        keys = [value_key, lease_key, queue]
        args = [
            entry,
            max(1, ttl_ms),
            limit,
            key,
            value,
            b"del" if delete else b"put",
            write_id,
            accepted_ms,
            traceparent,
            CONDITION[condition],
            expected.to_bytes(8, "big"),
        ]
        acked = 0
        with self.translate_errors():
            if replicas:
                reply, acked = await self._replicated.run(keys, args, replicas, wait_ms)
            else:
                reply = await self._enqueue(keys=keys, args=args)
        if reply is None:
            raise ResourceExhausted(
                "the write-behind queue is full (max_pending reached): the writer is not "
                "keeping up or is down; retry with backoff, or raise write_behind.max_pending",
                reason="QUEUE_FULL",
            )
        outcome = PutOutcome(PutStatus(int(reply[0])), int.from_bytes(reply[1], "big"))
        if outcome.status is not PutStatus.STORED:
            # Refused: nothing was written, so there is nothing to wait for.
            return Enqueued(b"", outcome)
        entry_id = bytes(reply[2])
        if acked < replicas:
            raise NotReplicated(entry_id, acked, replicas, outcome.version)
        return Enqueued(entry_id, outcome)

    @observed("XGROUP CREATE")
    @guarded
    async def ensure_group(self, queue: bytes) -> None:
        with self.translate_errors():
            try:
                # From "0": writes queued before any flusher existed are flushed too.
                await self._client.xgroup_create(queue, GROUP, id=b"0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    @observed("XREADGROUP")
    @guarded
    async def read(self, queue: bytes, consumer: bytes, count: int, *, after: bytes | None) -> Page:
        """This consumer's pending entries with ids above ``after`` (``b"0"``: from
        the start), in id order; ``after=None``: entries never delivered yet."""
        with self.translate_errors():
            reply = await self._client.xreadgroup(
                GROUP, consumer, {queue: b">" if after is None else after}, count=count
            )
        if not reply:
            return Page([], None, [], 0)
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
        with self.translate_errors():
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
    async def ack(
        self,
        queue: bytes,
        history: bytes,
        entry_ids: Sequence[bytes],
        *,
        written: Sequence[QueuedWrite] = (),
        settled: Sequence[QueuedWrite] = (),
    ) -> None:
        """Remove ``entry_ids`` from the queue; record the sequences of the
        ``written`` writes and the replayed writes now ``settled`` in the history."""
        if not entry_ids:
            return
        args: list[bytes | str | int] = [GROUP, len(entry_ids), len(written), *entry_ids]
        for w in written:
            args += [w.key, w.sequence or w.entry_id]
        args += [w.key for w in settled]
        with self.translate_errors():
            await self._ack(keys=[queue, history], args=args)

    @observed("DEAD LETTER")
    @guarded
    async def dead_letter(
        self, queue: bytes, dead: bytes, history: bytes, write: QueuedWrite, error: str
    ) -> None:
        with self.translate_errors():
            await self._dead(
                keys=[queue, dead, history], args=[GROUP, write.entry_id, error[:512], write.key]
            )

    @observed("HMGET")
    @guarded
    async def written_since(self, history: bytes, keys: Sequence[str]) -> dict[str, bytes]:
        """For keys with dead letters outstanding: the newest sequence written since."""
        with self.translate_errors():
            found = await self._client.hmget(history, list(keys))
        marks = {}
        for key, known in zip(keys, found, strict=True):
            if known:
                marks[key] = bytes(known).partition(b" ")[2]
        return marks

    @observed("REPLAY")
    @guarded
    async def replay(self, queue: bytes, dead: bytes, limit: int) -> int:
        with self.translate_errors():
            return int(await self._replay(keys=[queue, dead], args=[limit]))

    @observed("QUEUE STATS")
    @guarded
    async def stats(self, queue: bytes, dead: bytes) -> QueueStats:
        with self.translate_errors():
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
    async def take(self, owner_key: bytes, token: bytes, ttl_ms: int, epoch_key: bytes) -> int:
        # Still ours (the script's second branch): a Redis hiccup made the flusher
        # let go, but the lease never lapsed; it keeps its epoch. Without this the
        # owner waited out its own lease (owner_ttl).
        with self.translate_errors():
            return int(await self._take(keys=[owner_key, epoch_key], args=[token, ttl_ms]))

    @observed("OWNER RENEW")
    @guarded
    async def renew(self, owner_key: bytes, token: bytes, ttl_ms: int) -> bool:
        with self.translate_errors():
            return bool(await self._renew(keys=[owner_key], args=[token, ttl_ms]))

    @observed("OWNER RELEASE")
    @guarded
    async def give_up(self, owner_key: bytes, token: bytes) -> None:
        with self.translate_errors():
            await self._release(keys=[owner_key], args=[token])
