"""The Redis component: Redis and Redis Cluster over ``redis.asyncio`` (hiredis).

``redis://`` and ``rediss://`` (TLS) use one blocking connection pool;
``redis+cluster://`` / ``rediss+cluster://`` use redis-py's cluster client,
which follows MOVED/ASK and splits multi-key commands by slot (``link.py``).

:class:`RedisBackend` is the core key-value + lease/fence interface; it
declares every other capability Redis offers, each implemented over the same
:class:`~sidecar.backends.redis.link.RedisLink` in a module of its own:
sessions, boards and counters, the write-behind queue, pub/sub and streams.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from redis.asyncio.cluster import RedisCluster

from sidecar.backends.base import MISSING, BackendKind, Capabilities, Fence, Missing
from sidecar.backends.breaker import guarded
from sidecar.backends.capabilities import (
    CounterStore,
    LeaderboardStore,
    SessionStore,
    SubjectRevocation,
)
from sidecar.backends.invalidation import InvalidationFeed
from sidecar.backends.pubsub import PubSubTransport, ShardedPubSub
from sidecar.backends.queue import WriteQueue
from sidecar.backends.redis.boards import RedisBoards
from sidecar.backends.redis.link import RedisLink
from sidecar.backends.redis.migration import StillMigrating, patience
from sidecar.backends.redis.pubsub import RedisPubSub
from sidecar.backends.redis.queue import RedisQueue
from sidecar.backends.redis.replicas import RedisReplicaReads
from sidecar.backends.redis.sessions import RedisSessions
from sidecar.backends.redis.sharded import RedisShardedPubSub
from sidecar.backends.redis.tracking import RedisTracking
from sidecar.backends.redis.versions import RedisVersions
from sidecar.backends.replicas import ReplicaReads
from sidecar.backends.tls import client_context
from sidecar.backends.versions import VersionedStore
from sidecar.config import BackendSettings
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import observed

__all__ = ["RedisBackend"]


# Store the loaded value only while our lease stands, then release it.
_FILL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
# A Redis Cluster slot held mid-migration refuses the two-key FILL (TRYAGAIN
# until the slot is stable), so the value is parked in the lease key instead,
# fenced the same way: lease waiters find it there (one load across sidecars
# holds), and PROMOTE moves it to the value key once the slot is stable.
PARKED = b"\x00cachecar:parked\x00"
_PARK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_PROMOTE = """
local parked = redis.call('GET', KEYS[2])
if parked ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[2])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], string.sub(parked, tonumber(ARGV[2]) + 1), 'PX', ttl)
redis.call('DEL', KEYS[2])
return 1
"""
# A fill in a migrating slot parks after this long, instead of PATIENCE.
_FILL_PATIENCE = 0.2
# Compare-and-delete: never release a lease another sidecar took after ours expired.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A Set wins over any in-flight load: write the value and break the lease together.
_OVERWRITE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
"""


class RedisBackend:
    """A Redis deployment (standalone, TLS or cluster), bytes in and out."""

    kind: BackendKind = "redis"

    def __init__(
        self, name: str, settings: BackendSettings, telemetry: Telemetry | None = None
    ) -> None:
        self.name = name
        self._link = link = RedisLink(name, settings, telemetry)
        self.cluster = link.cluster
        self.address = link.address
        self.observer = link.observer
        self.breaker = link.breaker
        self.node_breakers = link.node_breakers
        self._client = link.client
        self._fast = link.fast
        self._fill = link.script(_FILL)
        self._release = link.script(_RELEASE)
        self._overwrite = link.script(_OVERWRITE)
        self._park = link.script(_PARK)
        self._promote = link.script(_PROMOTE)
        sessions = RedisSessions(link)
        boards = RedisBoards(link)
        # The near cache's invalidation feed: idle (no connection) unless a
        # namespace with near_cache subscribes to it.
        self.tracking = RedisTracking(
            name,
            link.address,
            cluster=link.cluster,
            username=settings.username or urlsplit(settings.url).username,
            login=link.credentials,
            ssl_context=client_context(settings),
            connect_timeout=settings.connect_timeout.total_seconds(),
            ping_interval=settings.invalidation.ping_interval.total_seconds(),
            topology_interval=settings.invalidation.topology_interval.total_seconds(),
        )
        #: read_from: plain Gets may go to replicas (replicas.py).
        self._replicas = (
            None if settings.read_from == "primary" else RedisReplicaReads(link, settings, self.get)
        )
        optional: dict[type, object] = (
            {} if self._replicas is None else {ReplicaReads: self._replicas}
        )
        if self.cluster:
            # Only a cluster has shards: on one node SPUBLISH saves nothing.
            optional[ShardedPubSub] = RedisShardedPubSub(link)
        self.capabilities = Capabilities(
            f"redis backend {name!r}",
            {
                SessionStore: sessions,
                SubjectRevocation: sessions,
                LeaderboardStore: boards,
                CounterStore: boards,
                WriteQueue: RedisQueue(link),
                PubSubTransport: RedisPubSub(link),
                InvalidationFeed: self.tracking,
                VersionedStore: RedisVersions(link),
                **optional,
            },
        )

    def translate_errors(self) -> contextlib.AbstractContextManager[None]:
        return self._link.translate_errors()

    @observed("GET")
    @guarded
    async def get(self, key: bytes) -> bytes | Missing:
        with self.translate_errors():
            if self._fast is not None:
                value = await self._fast.execute(b"GET", key)
            else:
                value = await self._client.get(key)
        return MISSING if value is None else bytes(value)

    @observed("MGET")
    @guarded
    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        if not keys:
            return []
        with self.translate_errors():
            if self.cluster:
                values = await self._client.mget_nonatomic(list(keys))
            elif self._fast is not None:
                values = await self._fast.execute(b"MGET", *keys)
            else:
                values = await self._client.mget(list(keys))
        return [MISSING if v is None else bytes(v) for v in values]

    @observed("LEASE")
    @guarded
    async def lease(self, key: bytes, lease_key: bytes, ttl_ms: int) -> Fence | None:
        token = secrets.token_bytes(16)
        with self.translate_errors():
            taken = await self._client.set(lease_key, token, px=max(1, ttl_ms), nx=True)
        return Fence(token) if taken else None

    @observed("FILL")
    @guarded
    async def fill(
        self, fence: Fence, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int
    ) -> bool:
        with self.translate_errors():
            try:
                with patience(_FILL_PATIENCE):  # only a cluster's commands ride migrations
                    stored = await self._fill(
                        keys=[key, lease_key], args=[fence.token, value, max(1, ttl_ms)]
                    )
            except StillMigrating:
                stored = await self._park(
                    keys=[lease_key], args=[fence.token, PARKED + value, max(1, ttl_ms)]
                )
        return bool(stored)

    @observed("PARKED")
    @guarded
    async def parked(self, key: bytes, lease_key: bytes) -> bytes | Missing:
        if not self.cluster:
            return MISSING  # only cluster slots migrate
        with self.translate_errors():
            held = await self._client.get(lease_key)
            if held is None or not bytes(held).startswith(PARKED):
                return MISSING
            # To the value key, if the slot is stable again; one try, no wait.
            with contextlib.suppress(StillMigrating), patience(0.0):
                await self._promote(keys=[key, lease_key], args=[held, len(PARKED)])
        return bytes(held)[len(PARKED) :]

    @observed("RELEASE")
    @guarded
    async def release(self, fence: Fence, key: bytes, lease_key: bytes) -> None:
        with self.translate_errors():
            await self._release(keys=[lease_key], args=[fence.token])

    @observed("OVERWRITE")
    @guarded
    async def overwrite(self, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int) -> None:
        with self.translate_errors():
            await self._overwrite(keys=[key, lease_key], args=[value, max(1, ttl_ms)])

    @observed("CLEAR")
    @guarded
    async def clear(self, keys: Sequence[bytes], lease_keys: Sequence[bytes]) -> int:
        if not keys:
            return 0
        with self.translate_errors():
            # Leases first: a load that finishes in between can no longer store.
            await self._client.delete(*lease_keys)
            return int(await self._client.delete(*keys))

    async def ping(self) -> None:
        # Not observed: health pings every second would flood traces with roots.
        with self.translate_errors():
            await self._client.ping()
        self.breaker.succeeded()

    async def stats(self) -> dict[str, dict[str, float]]:
        """Memory use, limit and evictions per server, from INFO (for metrics)."""
        with self.translate_errors():
            if self.cluster:
                replies = await self._client.info(target_nodes=RedisCluster.PRIMARIES)
            else:
                replies = {self.address: await self._client.info()}
        return {
            server: {
                "memory_bytes": float(info.get("used_memory", 0)),
                "memory_limit_bytes": float(info.get("maxmemory", 0)),
                "evictions": float(info.get("evicted_keys", 0)),
                # Whether a restart keeps the write-behind queue (see server.py).
                "aof_enabled": float(info.get("aof_enabled", 0)),
            }
            for server, info in replies.items()
        }

    async def aclose(self) -> None:
        await self.tracking.aclose()
        if self._replicas is not None:
            await self._replicas.aclose()
        await self._link.aclose()
