"""Session records on Redis and Redis Cluster: a hash per session, Lua for atomicity.

A session is one hash: the app's fields under ``d:<name>``, and metadata under
``m:`` names the app cannot reach (subject, version, created, idle and
absolute expiry, idle TTL, and the data's size in bytes, kept up to date so
an update can enforce the size limit without reading every field). The key
expires (PEXPIRE) at the idle expiry, which a read, update or touch slides to
``min(now + ttl, absolute expiry)``. Every operation is one script, so two
updates of different fields both survive, and a compare-and-set on the
version cannot interleave with another update.

A subject's sessions share a hash tag with the subject's index (a sorted set
of session digests scored by absolute expiry; see ``sidecar.patterns.keys``),
so creation indexes the session in the same script and revocation deletes
them on a single node even in a cluster. Every script declares every key it
touches (ElastiCache Serverless requires it; tests/test_serverless_compat.py
proves it): deletion reads the session's subject first and revocation the
index's members, then the script re-checks what was read and deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from sidecar.backends.base import MISSING, Missing
from sidecar.backends.breaker import guarded
from sidecar.backends.capabilities import (
    FieldChanges,
    SessionKeys,
    SessionRecord,
    TooLarge,
    VersionMismatch,
)
from sidecar.backends.redis.link import RedisLink
from sidecar.telemetry.commands import observed

__all__ = ["RedisSessions"]

# Metadata fields, in the order every script returns them.
_META = "'m:subject', 'm:version', 'm:created', 'm:exp', 'm:abs', 'm:ttl'"

# Shared tail: slide the idle expiry if asked (ARGV[1] now, ARGV[2] slide),
# then return status 1, the metadata and (if ARGV[3] == '1') the data fields.
_SLIDE_AND_RETURN = """
local now = tonumber(ARGV[1])
local exp = tonumber(meta[4])
if ARGV[2] == '1' then
  exp = math.min(now + tonumber(meta[6]), tonumber(meta[5]))
  if exp <= now then
    redis.call('DEL', KEYS[1])
    return {0}
  end
  redis.call('HSET', KEYS[1], 'm:exp', string.format('%d', exp))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', exp - now))
end
local out = {1, meta[1], meta[2], meta[3], string.format('%d', exp), meta[5], meta[6]}
if ARGV[3] == '1' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'd:' then
      out[#out + 1] = string.sub(all[i], 3)
      out[#out + 1] = all[i + 1]
    end
  end
end
return out
"""

# KEYS[1] session, KEYS[2] its subject's index (absent: no subject); ARGV: now,
# pexpire ms, subject, created, exp, abs, ttl, size, member, then name/value pairs.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'm:subject', ARGV[3], 'm:version', '1', 'm:created', ARGV[4],
  'm:exp', ARGV[5], 'm:abs', ARGV[6], 'm:ttl', ARGV[7], 'm:size', ARGV[8])
for i = 10, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'd:' .. ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if #KEYS > 1 then
  -- Sessions past their absolute expiry are gone: drop them from the index.
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[9])
  local keep = tonumber(ARGV[6]) - tonumber(ARGV[1])
  if redis.call('PTTL', KEYS[2]) < keep then
    redis.call('PEXPIRE', KEYS[2], string.format('%d', keep))
  end
end
return 1
"""

# KEYS[1] session; ARGV: now, slide, with data.
_READ = (
    f"local meta = redis.call('HMGET', KEYS[1], {_META})\n"
    "if not meta[2] then return {0} end\n" + _SLIDE_AND_RETURN
)

# KEYS[1] session; ARGV: now, slide, '1', expected version, max size, number of
# fields to set, name/value pairs, then names to delete.
_UPDATE = (
    f"local meta = redis.call('HMGET', KEYS[1], {_META}, 'm:size')\n"
    """
if not meta[2] then return {0} end
if ARGV[4] ~= '0' and ARGV[4] ~= meta[2] then return {-1, meta[2]} end
local size = tonumber(meta[7])
local last_set = 6 + 2 * tonumber(ARGV[6])
for i = 7, last_set, 2 do
  local field = 'd:' .. ARGV[i]
  if redis.call('HEXISTS', KEYS[1], field) == 1 then
    size = size - #ARGV[i] - redis.call('HSTRLEN', KEYS[1], field)
  end
  size = size + #ARGV[i] + #ARGV[i + 1]
end
for i = last_set + 1, #ARGV do
  local field = 'd:' .. ARGV[i]
  if redis.call('HEXISTS', KEYS[1], field) == 1 then
    size = size - #ARGV[i] - redis.call('HSTRLEN', KEYS[1], field)
  end
end
if size > tonumber(ARGV[5]) then return {-2, string.format('%d', size)} end
for i = 7, last_set, 2 do
  redis.call('HSET', KEYS[1], 'd:' .. ARGV[i], ARGV[i + 1])
end
for i = last_set + 1, #ARGV do
  redis.call('HDEL', KEYS[1], 'd:' .. ARGV[i])
end
redis.call('HSET', KEYS[1], 'm:size', string.format('%d', size))
meta[2] = tostring(redis.call('HINCRBY', KEYS[1], 'm:version', 1))
""" + _SLIDE_AND_RETURN
)

# KEYS[1] session, KEYS[2] its subject's index (absent: no subject); ARGV:
# the subject read before the call, member. Every key is declared (ElastiCache
# Serverless requires it), so the subject is read first and checked here: a
# session whose subject is not the one read is left alone (0), and retried.
_DELETE = """
local subject = redis.call('HGET', KEYS[1], 'm:subject')
if not subject then return 0 end
if subject ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
if #KEYS > 1 then redis.call('ZREM', KEYS[2], ARGV[2]) end
return 1
"""

# KEYS[1] subject index, KEYS[2..] sessions of members read before the call;
# ARGV: those members. Deletes the ones still indexed; returns {deleted, how
# many members the index still holds} (new sessions: the caller goes again).
_REVOKE = """
local deleted = 0
for i = 2, #KEYS do
  if redis.call('ZSCORE', KEYS[1], ARGV[i - 1]) then
    deleted = deleted + redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i - 1])
  end
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[1]) end
return {deleted, left}
"""

#: Sessions revoked per script call (each one's key is declared in KEYS).
_REVOKE_BATCH = 256
#: Rounds of a revocation or deletion racing concurrent creations (bounded).
_MAX_ROUNDS = 32


class RedisSessions:
    """The session capability (SessionStore, SubjectRevocation) of a Redis backend."""

    def __init__(self, link: RedisLink) -> None:
        self.observer = link.observer
        self.breaker = link.breaker
        self.translate_errors = link.translate_errors
        self._client = link.client
        register = link.script
        self._session_scripts = SimpleNamespace(
            create=register(_CREATE),
            read=register(_READ),
            update=register(_UPDATE),
            delete=register(_DELETE),
            revoke=register(_REVOKE),
        )

    @observed("SESSION CREATE")
    @guarded
    async def session_create(self, keys: SessionKeys, record: SessionRecord, now_ms: int) -> bool:
        script_keys = [keys.key]
        if record.subject:
            script_keys.append(keys.index_prefix + record.subject.encode())
        size = sum(len(k.encode()) + len(v) for k, v in record.data.items())
        args: list[Any] = [
            now_ms,
            max(1, record.expires_ms - now_ms),
            record.subject,
            record.created_ms,
            record.expires_ms,
            record.absolute_ms,
            record.ttl_ms,
            size,
            keys.member,
        ]
        for name, value in record.data.items():
            args += [name, value]
        with self.translate_errors():
            created = await self._session_scripts.create(keys=script_keys, args=args)
        return bool(created)

    @observed("SESSION READ")
    @guarded
    async def session_read(
        self, keys: SessionKeys, now_ms: int, *, slide: bool, with_data: bool
    ) -> SessionRecord | Missing:
        args = [now_ms, int(slide), int(with_data)]
        with self.translate_errors():
            reply = await self._session_scripts.read(keys=[keys.key], args=args)
        return _record(reply)

    @observed("SESSION UPDATE")
    @guarded
    async def session_update(
        self, keys: SessionKeys, now_ms: int, changes: FieldChanges, *, slide: bool
    ) -> SessionRecord | Missing | VersionMismatch | TooLarge:
        args: list[Any] = [
            now_ms,
            int(slide),
            1,
            changes.expected_version,
            changes.max_size,
            len(changes.set_fields),
        ]
        for name, value in changes.set_fields.items():
            args += [name, value]
        args += list(changes.delete_fields)
        with self.translate_errors():
            reply = await self._session_scripts.update(keys=[keys.key], args=args)
        if reply[0] == -1:
            return VersionMismatch(int(reply[1]))
        if reply[0] == -2:
            return TooLarge(int(reply[1]))
        return _record(reply)

    @observed("SESSION DELETE")
    @guarded
    async def session_delete(self, keys: SessionKeys, now_ms: int) -> bool:
        with self.translate_errors():
            for _ in range(_MAX_ROUNDS):
                subject = await self._client.hget(keys.key, "m:subject")
                if subject is None:
                    return False
                script_keys = [keys.key] + ([keys.index_prefix + subject] if subject else [])
                deleted = await self._session_scripts.delete(
                    keys=script_keys, args=[subject, keys.member]
                )
                if deleted != -1:
                    return bool(deleted)
        return False

    @observed("SESSION REVOKE")
    @guarded
    async def session_revoke_subject(
        self, index_key: bytes, session_prefix: bytes, now_ms: int
    ) -> int:
        total = 0
        with self.translate_errors():
            # Each round deletes the sessions it read, atomically; the last
            # round sees the index empty, so no session of the subject outlives
            # the call unless created after it.
            for _ in range(_MAX_ROUNDS):
                members = await self._client.zrange(index_key, 0, _REVOKE_BATCH - 1)
                sessions = [session_prefix + bytes(m) for m in members]
                deleted, left = await self._session_scripts.revoke(
                    keys=[index_key, *sessions], args=members
                )
                total += int(deleted)
                if int(left) == 0:
                    break
        return total


def _record(reply: list[Any]) -> SessionRecord | Missing:
    if reply[0] == 0:
        return MISSING
    subject, version, created, expires, absolute, ttl = reply[1:7]
    return SessionRecord(
        subject=bytes(subject).decode(),
        data=dict(_pairs(reply[7:])),
        version=int(version),
        created_ms=int(created),
        expires_ms=int(expires),
        absolute_ms=int(absolute),
        ttl_ms=int(ttl),
    )


def _pairs(flat: list[Any]) -> Iterator[tuple[str, bytes]]:
    for i in range(0, len(flat), 2):
        yield bytes(flat[i]).decode(), bytes(flat[i + 1])
