"""The soak's load: each worker's weighted mix of every pattern, and the subscribers.

A :class:`Workload` is one worker; :func:`subscribe` keeps one Subscribe
stream open. Both record into the shared :class:`~bench.soak_state.Soak`.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable

import grpc
from cachecar.v1 import (
    cache_pb2,
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from google.protobuf import duration_pb2

from bench.soak_state import (
    CHAT,
    DURABLE,
    NS_BOARDS,
    NS_MC,
    NS_ORDERS,
    NS_REDIS,
    NS_SESSIONS,
    NS_SESSIONS_MC,
    Soak,
)
from bench.soak_stats import Subscriber, error_reason

__all__ = ["Workload", "subscribe"]

CALL_TIMEOUT_S = 5.0
HOT_KEYS = 200
WB_KEYS_PER_WORKER = 8
#: The most operations one worker runs, whatever the clock says.
MAX_OPS_PER_WORKER = 10_000_000
SUBSCRIBE_REOPENS = 500
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class Workload:
    """One worker's stubs, random source and write-behind keys."""

    def __init__(self, soak: Soak, index: int, channel: grpc.aio.Channel) -> None:
        self.soak = soak
        self.index = index
        self.rng = random.Random(index)  # noqa: S311  (reproducible load, not secrets)
        self.cache = cache_pb2_grpc.CacheServiceStub(channel)
        self.sessions = session_pb2_grpc.SessionServiceStub(channel)
        self.boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        self.pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)
        self.wb_keys = [f"w{index:02d}-{j}" for j in range(WB_KEYS_PER_WORKER)]
        #: Members this worker put on the daily board (GetRank asks for one).
        self.daily_members: list[str] = []
        ops: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.get_hot, 30),
            (self.get_cold, 6),
            (self.get_many, 5),
            (self.set_value, 4),
            (self.invalidate, 3),
            (self.write_through, 4),
            (self.enqueue, 14),
            (self.session, 4),
            (self.board, 8),
            (self.publish, 6),
        ]
        self.ops = [op for op, _ in ops]
        self.weights = [w for _, w in ops]

    async def run(self, until: float) -> None:
        for _ in range(MAX_OPS_PER_WORKER):
            if self.soak.stop.is_set() or time.monotonic() >= until:
                return
            op = self.rng.choices(self.ops, self.weights)[0]
            await op()

    # -- cache-aside and plain cache -------------------------------------------

    def _ns(self) -> str:
        return NS_REDIS if self.rng.random() < 0.6 else NS_MC

    def _hot(self) -> str:
        return f"hot-{int(self.rng.paretovariate(1.2)) % HOT_KEYS}"

    async def get_hot(self) -> None:
        request = cache_pb2.GetOrLoadRequest(namespace=self._ns(), key=self._hot())
        await self.soak.call("GetOrLoad", self.cache.GetOrLoad(request, timeout=CALL_TIMEOUT_S))

    async def get_cold(self) -> None:
        self.soak.cold_counter += 1
        key = (
            f"missing-{self.rng.randrange(50)}"
            if self.rng.random() < 0.2
            else f"cold-{self.soak.cold_counter}"
        )
        request = cache_pb2.GetOrLoadRequest(namespace=self._ns(), key=key)
        await self.soak.call("GetOrLoad", self.cache.GetOrLoad(request, timeout=CALL_TIMEOUT_S))

    async def get_many(self) -> None:
        self.soak.cold_counter += 2
        keys = [self._hot() for _ in range(8)]
        keys += [f"cold-{self.soak.cold_counter - 1}", f"cold-{self.soak.cold_counter}"]
        request = cache_pb2.GetOrLoadManyRequest(namespace=self._ns(), keys=keys)
        reply = await self.soak.call(
            "GetOrLoadMany", self.cache.GetOrLoadMany(request, timeout=CALL_TIMEOUT_S)
        )
        for result in reply.results if reply is not None else ():
            if result.error.code:
                code = _CODE_NAMES.get(result.error.code, str(result.error.code))
                self.soak.calls.errors[("GetOrLoadMany[key]", code, result.error.reason)] += 1

    async def set_value(self) -> None:
        request = cache_pb2.SetRequest(
            namespace=self._ns(),
            key=self._hot(),
            value=b"set:" + os.urandom(16).hex().encode(),
            ttl=duration_pb2.Duration(seconds=20),
        )
        await self.soak.call("Set", self.cache.Set(request, timeout=CALL_TIMEOUT_S))

    async def invalidate(self) -> None:
        keys = [self._hot() for _ in range(self.rng.randint(1, 3))]
        request = cache_pb2.InvalidateRequest(namespace=self._ns(), keys=keys)
        await self.soak.call("Invalidate", self.cache.Invalidate(request, timeout=CALL_TIMEOUT_S))

    # -- writes ------------------------------------------------------------------

    async def write_through(self) -> None:
        self.soak.wt_counter += 1
        request = cache_pb2.WriteThroughRequest(
            namespace=self._ns(), key=self._hot(), value=f"wt:{self.soak.wt_counter}".encode()
        )
        await self.soak.call(
            "WriteThrough", self.cache.WriteThrough(request, timeout=CALL_TIMEOUT_S)
        )

    async def enqueue(self) -> None:
        key = self.rng.choice(self.wb_keys)
        seq = self.soak.writes.take(key)
        request = cache_pb2.EnqueueWriteRequest(
            namespace=NS_ORDERS, key=key, value=str(seq).encode()
        )
        reply = await self.soak.call(
            "EnqueueWrite", self.cache.EnqueueWrite(request, timeout=CALL_TIMEOUT_S)
        )
        if reply is None:
            self.soak.writes.not_acknowledged(key, seq)
        else:
            self.soak.writes.acknowledged(key, seq)

    # -- sessions, leaderboards, pub/sub -------------------------------------------

    async def session(self) -> None:
        ns = NS_SESSIONS if self.rng.random() < 0.7 else NS_SESSIONS_MC
        s, call = self.sessions, self.soak.call
        created = await call(
            "CreateSession",
            s.CreateSession(
                session_pb2.CreateSessionRequest(
                    namespace=ns,
                    subject=f"user-{self.rng.randrange(500)}",
                    data={"cart": os.urandom(32)},
                ),
                timeout=CALL_TIMEOUT_S,
            ),
        )
        if created is None:
            return
        sid = created.session_id
        await call(
            "GetSession",
            s.GetSession(
                session_pb2.GetSessionRequest(namespace=ns, session_id=sid), timeout=CALL_TIMEOUT_S
            ),
        )
        await call(
            "TouchSession",
            s.TouchSession(
                session_pb2.TouchSessionRequest(namespace=ns, session_id=sid),
                timeout=CALL_TIMEOUT_S,
            ),
        )
        if self.rng.random() < 0.5:
            await call(
                "UpdateSession",
                s.UpdateSession(
                    session_pb2.UpdateSessionRequest(
                        namespace=ns, session_id=sid, set_fields={"step": b"2"}
                    ),
                    timeout=CALL_TIMEOUT_S,
                ),
            )
        if self.rng.random() < 0.8:
            await call(
                "DeleteSession",
                s.DeleteSession(
                    session_pb2.DeleteSessionRequest(namespace=ns, session_id=sid),
                    timeout=CALL_TIMEOUT_S,
                ),
            )

    async def board(self) -> None:
        b, call, pick = self.boards, self.soak.call, self.rng.random()
        member = f"player-{self.rng.randrange(1000)}"
        if pick < 0.45:
            board, mode = (
                ("global", leaderboard_pb2.SCORE_MODE_INCREMENT)
                if self.rng.random() < 0.5
                else ("daily", leaderboard_pb2.SCORE_MODE_KEEP_GREATER)
            )
            request = leaderboard_pb2.AddScoreRequest(
                namespace=NS_BOARDS,
                board=board,
                member=member,
                score=self.rng.randrange(1, 1000),
                mode=mode,
            )
            if await call("AddScore", b.AddScore(request, timeout=CALL_TIMEOUT_S)) and (
                board == "daily"
            ):
                self.daily_members = [*self.daily_members[-49:], member]
        elif pick < 0.65:
            top = leaderboard_pb2.GetTopRequest(namespace=NS_BOARDS, board="global", limit=10)
            await call("GetTop", b.GetTop(top, timeout=CALL_TIMEOUT_S))
        elif pick < 0.75 and self.daily_members:
            member = self.rng.choice(self.daily_members)
            rank = leaderboard_pb2.GetRankRequest(namespace=NS_BOARDS, board="daily", member=member)
            await call("GetRank", b.GetRank(rank, timeout=CALL_TIMEOUT_S))
        else:
            counter = leaderboard_pb2.IncrementCounterRequest(
                namespace=NS_BOARDS,
                counter=f"rate-{self.rng.randrange(50)}",
                delta=1,
                window=duration_pb2.Duration(seconds=10),
            )
            await call("IncrementCounter", b.IncrementCounter(counter, timeout=CALL_TIMEOUT_S))

    async def publish(self) -> None:
        channel = DURABLE if self.rng.random() < 0.5 else CHAT
        began = time.monotonic()
        request = pubsub_pb2.PublishRequest(
            namespace=NS_ORDERS, channel=channel, payload=os.urandom(24)
        )
        reply = await self.soak.call(
            "Publish", self.pubsub.Publish(request, timeout=CALL_TIMEOUT_S)
        )
        if reply is not None:
            self.soak.published[channel] += 1
            if channel == DURABLE:
                self.soak.durable_published.append((began, reply.message_id))


async def subscribe(soak: Soak, channel: grpc.aio.Channel, sub: Subscriber) -> None:
    """Keep one Subscribe stream open until cancelled, reopening (resuming) when it ends."""
    stub = pubsub_pb2_grpc.PubSubServiceStub(channel)
    for _ in range(SUBSCRIBE_REOPENS):
        request = pubsub_pb2.SubscribeRequest(
            namespace=NS_ORDERS,
            channels=[sub.channel],
            start_position=pubsub_pb2.START_POSITION_LATEST,
        )
        if sub.durable and sub.last_id:
            request.resume_ids[sub.channel] = sub.last_id
        stream = stub.Subscribe(request)
        try:
            async for event in stream:
                kind = event.WhichOneof("event")
                if kind == "subscribed" and sub.confirmed_at is None:
                    sub.confirmed_at = time.monotonic()
                elif kind == "message":
                    sub.message(event.message.message_id)
                elif kind == "missed":
                    sub.missed += event.missed.missed_count
            sub.ends["EOF"] += 1
        except grpc.aio.AioRpcError as exc:
            sub.ends[f"{exc.code().name}/{error_reason(exc)}"] += 1
        finally:
            stream.cancel()
        if soak.stop.is_set():
            return
        sub.reopened += 1
        await asyncio.sleep(0.5)
