"""Leaderboards and counters on Redis and Redis Cluster: sorted sets, Lua, INCRBY.

Tie-break encoding. Redis orders equal scores by member bytes, so the order
of arrival is written into the member: a board's sorted set holds
``<15-digit sequence><member>``, where the sequence is a per-board counter
(field ``""`` of the board's companion hash) taken whenever a member's score
changes, and the hash maps each member to its current sequence so it can be
found by name. Ranking always reads the sorted set in ascending order: a
board ranking the highest first stores negated scores. Equal scores hence
rank in the order their members reached them, exactly (a counter, not a
clock: two writes in the same microsecond still have an order), and scores
keep their full IEEE-754 double precision (negation is exact, and scripts
format doubles with ``%.17g``, which round-trips). A write that leaves the
score unchanged keeps the member's place. The cost: 15 bytes more per member
in the sorted set, plus one hash entry per member; up to 10^15 score changes
per board (window).

Counters are plain integer keys changed with INCRBY (int64, overflow refused
by Redis and reported as :class:`Overflow`); a window is a PEXPIRE set by the
increment that creates the counter, so a fixed-window rate limit is one call.
Values are read back as strings: Lua numbers are doubles and would round
counters above 2^53.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sidecar.backends.base import MISSING, Missing
from sidecar.backends.breaker import guarded
from sidecar.backends.capabilities import (
    BoardKeys,
    CounterValue,
    Overflow,
    Ranked,
    ScoreMode,
    ScoreResult,
)
from sidecar.backends.redis.link import RedisLink
from sidecar.telemetry.commands import observed

__all__ = ["TIE_WIDTH", "RedisBoards", "stored_member"]

#: Digits of the arrival sequence in front of every stored member.
TIE_WIDTH = 15

_MODES: dict[ScoreMode, str] = {
    "set": "set",
    "increment": "incr",
    "keep_greater": "gt",
    "keep_lower": "lt",
}

# KEYS: scores, ties; ARGV: member, score, mode, descending, expire-at ms (0 = never).
_ADD = """
local member, mode, desc = ARGV[1], ARGV[3], ARGV[4] == '1'
local given = tonumber(ARGV[2])
local tie = redis.call('HGET', KEYS[2], member)
local old = nil
if tie then
  local stored = redis.call('ZSCORE', KEYS[1], tie .. member)
  if stored then
    old = tonumber(stored)
    if desc then old = -old end
  else
    tie = false
  end
end
local new, updated = given, 1
if mode == 'incr' then
  new = (old or 0) + given
elseif old ~= nil and mode == 'gt' and not (given > old) then
  new, updated = old, 0
elseif old ~= nil and mode == 'lt' and not (given < old) then
  new, updated = old, 0
end
if new ~= new or new == math.huge or new == -math.huge then return {-1} end
if old == nil or new ~= old then
  if tie then redis.call('ZREM', KEYS[1], tie .. member) end
  tie = string.format('%015d', redis.call('HINCRBY', KEYS[2], '', 1))
  redis.call('HSET', KEYS[2], member, tie)
  local rank_score = new
  if desc then rank_score = -new end
  redis.call('ZADD', KEYS[1], string.format('%.17g', rank_score), tie .. member)
end
local rank = redis.call('ZRANK', KEYS[1], tie .. member)
-- After ZRANK: a window that has already expired (a clock far behind) is
-- deleted at once by PEXPIREAT, and the answer still describes the write.
if ARGV[5] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[5])
  redis.call('PEXPIREAT', KEYS[2], ARGV[5])
end
return {1, string.format('%.17g', new), rank, updated}
"""

# KEYS: scores; ARGV: start, stop (0-based, inclusive).
_PAGE = """
return {redis.call('ZCARD', KEYS[1]), redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')}
"""

# KEYS: scores, ties; ARGV: member, entries on each side (-1: only the member).
_AROUND = """
local card = redis.call('ZCARD', KEYS[1])
local tie = redis.call('HGET', KEYS[2], ARGV[1])
if not tie then return {card} end
local rank = redis.call('ZRANK', KEYS[1], tie .. ARGV[1])
if not rank then return {card} end
local count = tonumber(ARGV[2])
if count < 0 then
  return {card, rank, {tie .. ARGV[1], redis.call('ZSCORE', KEYS[1], tie .. ARGV[1])}}
end
local start = math.max(0, rank - count)
return {card, start, redis.call('ZRANGE', KEYS[1], start, rank + count, 'WITHSCORES')}
"""

# KEYS: scores, ties; ARGV: member.
_REMOVE = """
local tie = redis.call('HGET', KEYS[2], ARGV[1])
if not tie then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], tie .. ARGV[1])
"""

# KEYS: counter; ARGV: delta, window ms (0 = none).
_INCREMENT = """
local existed = redis.call('EXISTS', KEYS[1])
local result = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(result) == 'table' and result.err then
  if string.find(result.err, 'overflow') then return {-1} end
  return redis.error_reply(result.err)
end
if existed == 0 and ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
"""

# KEYS: counter.
_GET = """
local value = redis.call('GET', KEYS[1])
if not value then return {0} end
return {1, value, redis.call('PTTL', KEYS[1])}
"""


def stored_member(sequence: int, member: str) -> bytes:
    """How ``member`` is stored in a board's sorted set (benchmarks fill boards directly)."""
    return b"%0*d%s" % (TIE_WIDTH, sequence, member.encode())


class RedisBoards:
    """The leaderboard and counter capabilities of a Redis backend."""

    def __init__(self, link: RedisLink) -> None:
        self.observer = link.observer
        self.breaker = link.breaker
        self.translate_errors = link.translate_errors
        self._client = link.client
        register = link.script
        self._board_scripts = SimpleNamespace(
            add=register(_ADD),
            page=register(_PAGE),
            around=register(_AROUND),
            remove=register(_REMOVE),
            increment=register(_INCREMENT),
            get=register(_GET),
        )

    @observed("BOARD ADD")
    @guarded
    async def board_add(
        self, keys: BoardKeys, member: str, score: float, mode: ScoreMode, *, descending: bool
    ) -> ScoreResult | Overflow:
        args = [member, repr(score), _MODES[mode], int(descending), keys.expire_at_ms]
        with self.translate_errors():
            reply = await self._board_scripts.add(keys=[keys.scores, keys.ties], args=args)
        if reply[0] == -1:
            return Overflow()
        score = float(reply[1]) + 0.0  # + 0.0: a zero score reads as 0, not -0
        return ScoreResult(score=score, rank=int(reply[2]) + 1, updated=bool(reply[3]))

    @observed("BOARD RANGE")
    @guarded
    async def board_page(
        self, keys: BoardKeys, offset: int, limit: int, *, descending: bool
    ) -> tuple[list[Ranked], int]:
        with self.translate_errors():
            card, rows = await self._board_scripts.page(
                keys=[keys.scores], args=[offset, offset + limit - 1]
            )
        return _entries(rows, offset, descending=descending), int(card)

    @observed("BOARD RANK")
    @guarded
    async def board_rank(
        self, keys: BoardKeys, member: str, *, descending: bool
    ) -> tuple[Ranked | Missing, int]:
        with self.translate_errors():
            reply = await self._board_scripts.around(
                keys=[keys.scores, keys.ties], args=[member, -1]
            )
        if len(reply) == 1:
            return MISSING, int(reply[0])
        card, rank, row = reply
        return _entries(row, int(rank), descending=descending)[0], int(card)

    @observed("BOARD AROUND")
    @guarded
    async def board_around(
        self, keys: BoardKeys, member: str, count: int, *, descending: bool
    ) -> tuple[list[Ranked] | Missing, int]:
        with self.translate_errors():
            reply = await self._board_scripts.around(
                keys=[keys.scores, keys.ties], args=[member, count]
            )
        if len(reply) == 1:
            return MISSING, int(reply[0])
        card, start, rows = reply
        return _entries(rows, int(start), descending=descending), int(card)

    @observed("BOARD REMOVE")
    @guarded
    async def board_remove(self, keys: BoardKeys, member: str) -> bool:
        with self.translate_errors():
            removed = await self._board_scripts.remove(keys=[keys.scores, keys.ties], args=[member])
        return bool(removed)

    @observed("COUNTER INCR")
    @guarded
    async def counter_increment(
        self, key: bytes, delta: int, window_ms: int
    ) -> CounterValue | Overflow:
        with self.translate_errors():
            reply = await self._board_scripts.increment(keys=[key], args=[delta, window_ms])
        if reply[0] == -1:
            return Overflow()
        return _counter(reply)

    @observed("COUNTER GET")
    @guarded
    async def counter_get(self, key: bytes) -> CounterValue | Missing:
        with self.translate_errors():
            reply = await self._board_scripts.get(keys=[key])
        return MISSING if reply[0] == 0 else _counter(reply)


def _entries(rows: list[Any], first_rank0: int, *, descending: bool) -> list[Ranked]:
    """``[stored member, score, ...]`` from ZRANGE WITHSCORES -> ranked entries."""
    out = []
    for i in range(0, len(rows), 2):
        score = float(rows[i + 1])
        out.append(
            Ranked(
                member=bytes(rows[i])[TIE_WIDTH:].decode(),
                # 0.0 - x rather than -x: a zero score reads as 0, not -0.
                score=0.0 - score if descending else score + 0.0,
                rank=first_rank0 + i // 2 + 1,
            )
        )
    return out


def _counter(reply: list[Any]) -> CounterValue:
    # PTTL: -1 = no expiry. (-2, gone, cannot happen inside the script.)
    remaining = int(reply[2])
    return CounterValue(value=int(reply[1]), remaining_ms=remaining if remaining >= 0 else None)
