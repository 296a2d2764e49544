"""Versioned writes on Redis: one Lua script applies the version rule of
``backends/versions.py`` and the write's condition atomically.

A batch is one script call per cluster slot (standalone: one call in all),
the calls of different slots running concurrently: a SetMany of N keys costs
one round trip per slot, not N. Tag generation counters are plain integer
keys; bumping one is a single INCR whatever the number of values tagged.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from redis.crc import key_slot

from sidecar.backends.breaker import guarded
from sidecar.backends.redis.link import RedisLink
from sidecar.backends.redis.migration import patience
from sidecar.backends.versions import Condition, Put, PutOutcome, PutStatus
from sidecar.telemetry.commands import observed

__all__ = ["CONDITION", "PUT_ONE", "RedisVersions"]

# Versions are u64 big-endian at bytes 3..10 (Lua is 1-based). Lua numbers are
# doubles, so a version is handled as two 32-bit halves (exact), and compared
# as a (hi, lo) pair; equality is a byte compare.
PUT_ONE = """
local function ver(s)
  if s and #s >= 18 and string.byte(s, 1) == 2 then
    local a, b, c, d, e, f, g, h = string.byte(s, 3, 10)
    return ((a * 256 + b) * 256 + c) * 256 + d, ((e * 256 + f) * 256 + g) * 256 + h
  end
  return 0, 0
end
local function live(s)
  if not s or #s < 2 then return false end
  local format, flags = string.byte(s, 1, 2)
  if format == 2 then return flags % 2 == 1 and math.floor(flags / 2) % 2 == 0 end
  return format == 1 and flags % 2 == 1
end
local function pack(hi, lo)
  local t = {}
  for i = 4, 1, -1 do t[i] = hi % 256; hi = math.floor(hi / 256) end
  for i = 8, 5, -1 do t[i] = lo % 256; lo = math.floor(lo / 256) end
  return string.char(unpack(t))
end
-- One versioned write: status (1 stored, 2 fenced, 3 stale, 4 unmet) and the
-- version now stored, packed. Shared by SetMany's script and write-behind's
-- enqueue (backends/redis/queue.py), so both apply one rule.
local function put_one(vkey, lkey, rec, ttl, token, cond, expected)
  local status
  local cur = redis.call('GET', vkey)
  local chi, clo = ver(cur)
  if token ~= '' and redis.call('GET', lkey) ~= token then
    status = 2
  elseif (cond == 'a' and live(cur)) or (cond == 'p' and not live(cur))
      or (cond == 'e' and (not live(cur) or pack(chi, clo) ~= expected)) then
    status = 4
  else
    local nhi, nlo = ver(rec)
    if nhi == 0 and nlo == 0 then
      nhi, nlo = chi, clo
      if string.byte(rec, 2) % 2 == 1 then
        if chi == 4294967295 and clo == 4294967295 then
          status = 3  -- the largest version: nothing is newer
        end
        nlo = nlo + 1
        if nlo == 4294967296 then nhi, nlo = nhi + 1, 0 end
      end
      rec = string.sub(rec, 1, 2) .. pack(nhi, nlo) .. string.sub(rec, 11)
    elseif nhi < chi or (nhi == chi and nlo < clo) then
      status = 3
    end
    if not status then
      redis.call('SET', vkey, rec, 'PX', ttl)
      redis.call('DEL', lkey)
      status, chi, clo = 1, nhi, nlo
    end
  end
  -- A refused fill still gives its lease back (others need not wait it out).
  if token ~= '' and status ~= 2 and status ~= 1 then redis.call('DEL', lkey) end
  return status, pack(chi, clo)
end
"""
_PUT = (
    PUT_ONE
    + """
local out = {}
for i = 1, #KEYS / 2 do
  local a = 5 * (i - 1)
  out[2 * i - 1], out[2 * i] = put_one(KEYS[2 * i - 1], KEYS[2 * i], ARGV[a + 1],
    ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
end
return out
"""
)
# New stale-at time in the header (format 2 at byte 10, format 1 at byte 2)
# and a new physical TTL: the value itself never crosses the network.
_TOUCH = """
local cur = redis.call('GET', KEYS[1])
if not cur or #cur < 2 then return 0 end
local format, flags = string.byte(cur, 1, 2)
local at
if format == 2 and flags % 2 == 1 and math.floor(flags / 2) % 2 == 0 then at = 10
elseif format == 1 and flags % 2 == 1 then at = 2
else return 0 end
redis.call('SETRANGE', KEYS[1], at, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# A counter that vanished (eviction) restarts past the seed (a clock reading),
# never at a value an older record may have recorded.
_BUMP = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])
"""
# As the core fill's: how long a fill waits for a migrating slot.
_FILL_PATIENCE = 0.2
#: A condition as PUT_ONE's ``cond`` argument.
CONDITION = {
    Condition.ALWAYS: b"",
    Condition.ABSENT: b"a",
    Condition.PRESENT: b"p",
    Condition.VERSION: b"e",
}
_STATUS = {s.value: s for s in PutStatus}


class RedisVersions:
    """VersionedStore over a RedisLink (standalone and cluster alike)."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._client = link.client
        self.observer = link.observer
        self.breaker = link.breaker
        self._put = link.script(_PUT)
        self._touch = link.script(_TOUCH)
        self._bump = link.script(_BUMP)

    @observed("VPUT")
    @guarded
    async def put(self, puts: Sequence[Put]) -> list[PutOutcome]:
        if not puts:
            return []
        groups: dict[int, list[int]] = defaultdict(list)
        for i, put in enumerate(puts):
            # Standalone: every key is on the one server, one call does all.
            groups[key_slot(put.key) if self._link.cluster else 0].append(i)
        outcomes: list[PutOutcome | None] = [None] * len(puts)
        # A fill in a slot held mid-migration gives up soon (SLOT_MIGRATING), as
        # the core fill does, so the caller can park it (RedisBackend.fill).
        fills = any(p.fence is not None for p in puts)
        with self._link.translate_errors(), patience(_FILL_PATIENCE) if fills else nullcontext():
            replies = await asyncio.gather(
                *(self._put_group([puts[i] for i in group]) for group in groups.values())
            )
        for group, reply in zip(groups.values(), replies, strict=True):
            for n, i in enumerate(group):
                status, version = reply[2 * n], reply[2 * n + 1]
                outcomes[i] = PutOutcome(_STATUS[int(status)], int.from_bytes(version, "big"))
        return [o for o in outcomes if o is not None]

    async def _put_group(self, puts: list[Put]) -> list[Any]:
        keys: list[bytes] = []
        args: list[bytes | int] = []
        for put in puts:
            keys += (put.key, put.lease_key)
            condition = CONDITION[put.condition]
            token = b"" if put.fence is None else put.fence.token
            expected = put.expected.to_bytes(8, "big")
            args += (put.record, max(1, put.ttl_ms), token, condition, expected)
        reply: list[Any] = await self._put(keys=keys, args=args)
        return reply

    @observed("TOUCH")
    @guarded
    async def touch(self, key: bytes, stale_at_ms: int, ttl_ms: int) -> bool:
        with self._link.translate_errors():
            done = await self._touch(
                keys=[key], args=[stale_at_ms.to_bytes(8, "big", signed=True), max(1, ttl_ms)]
            )
        return bool(done)

    @observed("MGET")
    @guarded
    async def generations(self, keys: Sequence[bytes], *, create: int | None) -> list[int | None]:
        if not keys:
            return []
        with self._link.translate_errors():
            if create is not None:
                # NX: never lowers a counter another writer or a bump advanced.
                pipe = self._client.pipeline(transaction=False)
                for key in keys:
                    pipe.set(key, create, nx=True)
                await pipe.execute()
            if self._link.cluster:
                values = await self._client.mget_nonatomic(list(keys))
            elif self._link.fast is not None:
                # The hand-written read path (resp.py), as the core GET: this
                # MGET is on every hit of a tagged value.
                values = await self._link.fast.execute(b"MGET", *keys)
            else:
                values = await self._client.mget(list(keys))
        return [None if v is None else int(v) for v in values]

    @observed("BUMP")
    @guarded
    async def bump(self, keys: Sequence[bytes], seed: int) -> None:
        with self._link.translate_errors():
            await asyncio.gather(*(self._bump(keys=[key], args=[seed]) for key in keys))
