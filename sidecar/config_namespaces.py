"""Namespace settings: TTLs, limits, callbacks, write-behind, boards, channels."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from sidecar.config_types import Duration, Size, Strict, parse_duration
from sidecar.config_urls import check_target

__all__ = [
    "BOARD_WINDOWS",
    "AckReplicas",
    "BoardSettings",
    "ChannelSettings",
    "NamespaceSettings",
    "NearCacheSettings",
    "WriteBehindSettings",
]


class AckReplicas(Strict):
    """``ack: {replicas: N, timeout: 1s}``: EnqueueWrite answers only once the
    queued write reached ``replicas`` replicas (Redis WAIT on the same
    connection as the append), so a primary failover cannot lose it."""

    replicas: int = Field(ge=1, le=16)
    #: How long WAIT may take. Past it the write stays queued (it is on the
    #: primary and will be flushed) but the caller gets DEADLINE_EXCEEDED /
    #: WRITE_NOT_REPLICATED with how many replicas acknowledged it.
    timeout: Duration = timedelta(seconds=1)

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        # WAIT 0 would block forever: a zero timeout is never what one means.
        if value < timedelta(milliseconds=1):
            raise ValueError("must be at least 1ms")
        return value


class WriteBehindSettings(Strict):
    """The durable write-behind queue of a namespace (Redis Streams)."""

    #: Streams per namespace. Keys hash to a partition; each partition is
    #: flushed by one sidecar at a time, which keeps per-key order.
    partitions: int = Field(default=4, ge=1, le=256)
    #: How often a partition is flushed, and the most writes per WriteBatch.
    flush_interval: Duration = timedelta(milliseconds=500)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Writes accepted but not yet acknowledged, per namespace: past it,
    #: EnqueueWrite answers RESOURCE_EXHAUSTED / QUEUE_FULL.
    max_pending: int = Field(default=100_000, ge=1)
    #: Times the writer may reject a write before it is dead-lettered. A writer
    #: that is down (UNAVAILABLE, timeouts) is retried for as long as it takes.
    max_attempts: int = Field(default=8, ge=1, le=1000)
    retry_backoff: Duration = timedelta(milliseconds=200)
    max_backoff: Duration = timedelta(seconds=30)
    #: How long a partition's flusher lease lasts without renewal: how soon
    #: another sidecar takes over the writes of one that crashed. A WriteBatch
    #: must end inside the lease, so it gets at most 80% of owner_ttl (the
    #: lease is renewed just before it): keep writer_timeout below that.
    owner_ttl: Duration = timedelta(seconds=5)
    #: When EnqueueWrite is acknowledged: "leader" once the primary has the
    #: write (asynchronous replication: a failover right after can lose it), or
    #: {replicas: N, timeout: ...} once N replicas have it too.
    ack: Literal["leader"] | AckReplicas = "leader"

    @property
    def ack_replicas(self) -> int:
        """Replicas an enqueue waits for (0: the leader alone)."""
        return 0 if isinstance(self.ack, str) else self.ack.replicas

    @property
    def ack_timeout_ms(self) -> int:
        return 0 if isinstance(self.ack, str) else int(self.ack.timeout.total_seconds() * 1000)


class NearCacheSettings(Strict):
    """The namespace's near cache: hot entries kept in the sidecar's own memory."""

    #: Memory bound per worker process, per-entry overhead included.
    max_bytes: Size = Field(default=64 * 2**20, ge=64 * 1024)
    #: Longest a near copy is served after it was read from the backend.
    #: Required on Memcached (no invalidations: bounded staleness, not
    #: coherent); optional on Redis, where invalidations keep copies current.
    max_staleness: Duration | None = None

    @field_validator("max_staleness")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


BOARD_WINDOWS = ("none", "daily", "weekly", "monthly")


class BoardSettings(Strict):
    """A declared leaderboard: its ranking order and its time windows."""

    #: "none"; "daily", "weekly" (ISO weeks, from Monday) or "monthly" (calendar
    #: months), all in UTC; or a fixed length such as "1h" (windows aligned to
    #: the unix epoch).
    window: str = "none"
    #: How many past windows stay readable (windows_ago up to this); older
    #: windows expire by themselves.
    retain: int = Field(default=1, ge=0, le=1000)
    #: "desc": the highest score ranks first; "asc": the lowest (race times).
    order: Literal["desc", "asc"] = "desc"

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> str:
        if isinstance(value, str) and value in BOARD_WINDOWS:
            return value
        try:
            length = parse_duration(value)
        except ValueError:
            raise ValueError(
                f"expected none, daily, weekly, monthly or a fixed length such as 1h, got {value!r}"
            ) from None
        if length < timedelta(seconds=1):
            raise ValueError("a fixed window must be at least 1s long")
        return str(value) if isinstance(value, str) else f"{length.total_seconds():g}s"

    @property
    def window_length(self) -> timedelta | None:
        """The length of a fixed window; None for none/daily/weekly/monthly."""
        return None if self.window in BOARD_WINDOWS else parse_duration(self.window)


class ChannelSettings(Strict):
    """Pub/Sub in one namespace: which channels are durable, and subscriber limits."""

    #: Durable channels (Redis Streams, at-least-once), by name or Redis glob
    #: ("orders", "audit.*"); every other channel is fire-and-forget.
    durable: list[str] = Field(default_factory=list)
    #: About how many messages a durable channel retains (XADD MAXLEN ~).
    max_len: int = Field(default=10_000, ge=1, le=100_000_000)
    #: Messages buffered per subscriber (and kept in memory per durable channel).
    subscriber_buffer: int = Field(default=1000, ge=1, le=1_000_000)
    #: A fire-and-forget subscriber whose buffer is full: drop its oldest
    #: messages and tell it how many, or end its stream (RESOURCE_EXHAUSTED).
    slow_subscriber: Literal["drop_oldest", "disconnect"] = "drop_oldest"
    #: Redis Cluster (7.0+): fire-and-forget channels use sharded pub/sub
    #: (SPUBLISH / SSUBSCRIBE), so a message reaches only the shard owning the
    #: channel's slot instead of every node. Patterns cannot be subscribed
    #: then (no SPSUBSCRIBE). No effect on a standalone Redis (plain PUBLISH).
    sharded: bool = False
    #: Open Subscribe streams in this namespace, per sidecar.
    max_subscribers: int = Field(default=10_000, ge=1)
    #: Channels plus patterns in one Subscribe.
    max_channels_per_subscription: int = Field(default=100, ge=1, le=10_000)
    #: Longest channel name or pattern, in bytes of UTF-8.
    max_channel_length: int = Field(default=256, ge=1, le=4096)


class NamespaceSettings(Strict):
    """Policy for one namespace: where its keys live and how they are cached."""

    backend: str
    ttl: Duration = timedelta(hours=1)
    #: TTLs are shortened by up to this fraction at random, so keys written
    #: together do not all expire together.
    ttl_jitter: float = Field(default=0.1, ge=0.0, le=0.9)
    #: How long a loader's found=false is cached.
    negative_ttl: Duration = timedelta(seconds=30)
    #: How long past its TTL an entry may still be served as STALE.
    grace: Duration = timedelta(0)
    #: Default: 1MiB on Redis; on Memcached, what fits in one item
    #: (the backend's max_item_size less ITEM_OVERHEAD for key and envelope).
    max_value_size: Size = Field(default=1024 * 1024, ge=1)
    max_key_length: int = Field(default=1024, ge=1, le=65_536)
    max_batch_keys: int = Field(default=1000, ge=1, le=100_000)
    #: The app's LoaderService / WriterService ("host:port" or "unix:///path").
    loader: str | None = None
    writer: str | None = None
    #: Upper bound for one loader call (the caller's deadline may be shorter).
    loader_timeout: Duration = timedelta(seconds=5)
    #: How long a load lease lasts: the longest a crashed sidecar's lease can
    #: keep others waiting. Unset: loader_timeout + 1s (a live load never
    #: outlasts its lease).
    lease_ttl: Duration | None = None
    #: XFetch's beta: how eagerly hot entries are refreshed before they expire
    #: (1.0 is the paper's default; 0 turns early refresh off).
    early_refresh_beta: float = Field(default=1.0, ge=0.0, le=10.0)
    #: Put keys in span attributes (off by default: keys may be personal data).
    trace_keys: bool = False
    #: Upper bound for one writer call (the caller's deadline may be shorter).
    writer_timeout: Duration = timedelta(seconds=5)
    #: After a successful WriteThrough: store the written value, or drop the
    #: cached entry so the next read loads it.
    write_through: Literal["update", "invalidate"] = "update"
    #: Turns on EnqueueWrite (write-behind) for this namespace; Redis only.
    write_behind: WriteBehindSettings | None = None
    #: Sessions: how long a session lives whatever its activity (its idle TTL
    #: is `ttl`, or the TTL CreateSession asks for; no jitter).
    session_max_lifetime: Duration = timedelta(hours=24)
    #: Sessions: reads and updates extend the idle TTL (TouchSession always does).
    session_sliding: bool = True
    #: Leaderboards with a non-default order or time windows, by board name;
    #: any other board name is an unwindowed board ranking the highest first.
    boards: dict[str, BoardSettings] = Field(default_factory=dict)
    #: Pub/Sub: durable channels, retention, slow-subscriber policy; Redis only.
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    #: Off unless set: reads served from this sidecar's memory (docs/near-cache.md).
    near_cache: NearCacheSettings | None = None

    #: How long a versioned delete (Invalidate or WriteThrough delete with a
    #: version) keeps its tombstone: the window in which a late fill or a
    #: replayed change of an older version still finds it and is refused.
    tombstone_ttl: Duration = timedelta(minutes=5)

    @field_validator("loader", "writer")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return check_target(value)

    @field_validator("ttl", "negative_ttl", "session_max_lifetime", "tombstone_ttl")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value
