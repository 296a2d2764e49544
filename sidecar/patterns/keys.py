"""The stored key layout: collision-free across namespaces, cluster-slot aware.

Every key cachecar writes is ``<prefix><kind>{<namespace>:<app key>}``:

- ``kind`` is one letter (``v`` value, ``l`` lease, ...), so the records of
  one app key never collide with each other;
- namespace names cannot contain ``:`` or braces (config validation), so
  ``{ns:`` ends unambiguously and no app key of one namespace can produce a
  stored key of another, whatever bytes it contains;
- the braces are a Redis Cluster hash tag: every record of one app key hashes
  to the same slot (the tag ends at the first ``}``, and it always starts with
  ``ns:``, so it is never empty), which lets one Lua script touch a value and
  its lease together.

Write-behind namespaces use a partitioned variant,
``<prefix><kind>{<namespace>:#<pp>}<app key>``, where ``pp`` is
``crc32(key) % partitions``: the cache entry, its lease and the partition's
queue stream (``q``), dead-letter stream (``d``) and flusher lease (``o``)
then share one hash tag, hence one cluster slot, so a single Lua script can
update the cache and append to the queue atomically. ``#`` cannot start a
plain layout's key in the same namespace, since a namespace is either
partitioned or not.

Sessions, leaderboards and counters always use the plain layout, with a
suffix after the tag where one record needs several keys (:meth:`tagged`):

- ``s{ns:<shard>}<digest>`` a session (a Redis hash, or a Memcached record):
  ``digest`` is the SHA-256 of the session id, so ids (bearer secrets) are
  never stored, and ``shard`` is the id's first three characters (derived
  from the subject), so every session of a subject shares one slot with
- ``u{ns:<shard>}<subject>`` the subject's index (a sorted set of session
  digests), which lets one script revoke them all;
- ``b{ns:<board>}`` a leaderboard's sorted set, ``t{ns:<board>}`` its
  tie-break hash; a windowed board's keys end in ``@<window start, unix ms>``;
- ``c{ns:<counter>}`` a counter.

No two names spell the same key: a shard is always three characters without
braces, and a window suffix has no ``}`` while an unwindowed board's key ends
in one.

Pub/Sub (always the plain layout, whatever the namespace's partitioning):

- ``p{ns:<channel>}`` a fire-and-forget channel (a Redis Pub/Sub channel, not
  a key); a subscriber's pattern ``P`` becomes ``<prefix>p{ns:P}``, which can
  only match channels of its own namespace, since prefix and namespace hold no
  glob metacharacters;
- ``x{ns:<channel>}`` a durable channel's stream, and ``n{ns:<channel>}`` the
  Pub/Sub channel its appends are announced on (same hash tag: the append
  script publishes from the stream's slot).

Memcached's own key rules are the Memcached backend's business (it encodes).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

__all__ = ["KeyLayout"]


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Builds stored keys for one namespace."""

    prefix: bytes
    namespace: str
    #: Set for write-behind namespaces: keys are grouped into this many slots.
    partitions: int | None = None

    def record(self, kind: bytes, key: str) -> bytes:
        """The stored key of record ``kind`` for app key ``key``."""
        raw = key.encode()
        if self.partitions is None:
            return b"%s%s{%s:%s}" % (self.prefix, kind, self.namespace.encode(), raw)
        return self.partition_key(kind, self.partition(key)) + raw

    def partition(self, key: str) -> int:
        """Which write-behind partition ``key`` belongs to (stable across sidecars)."""
        assert self.partitions is not None
        return zlib.crc32(key.encode()) % self.partitions

    def partition_key(self, kind: bytes, partition: int) -> bytes:
        """A partition-wide record: ``q`` queue, ``d`` dead letters, ``o`` flusher lease,
        ``e`` owner epoch, ``h`` history."""
        return b"%s%s{%s:#%02d}" % (self.prefix, kind, self.namespace.encode(), partition)

    def tagged(self, kind: bytes, tag: str, suffix: bytes = b"") -> bytes:
        """``<prefix><kind>{<namespace>:<tag>}<suffix>``, whatever the namespace's
        partitioning: the records of one tag share a cluster slot."""
        return b"%s%s{%s:%s}%s" % (
            self.prefix,
            kind,
            self.namespace.encode(),
            tag.encode(),
            suffix,
        )

    def value(self, key: str) -> bytes:
        return self.record(b"v", key)

    def value_prefix(self) -> bytes:
        """What every value key of the namespace starts with, whatever its
        partitioning (the near cache's invalidation prefix)."""
        return b"%sv{%s:" % (self.prefix, self.namespace.encode())

    def lease(self, key: str) -> bytes:
        return self.record(b"l", key)

    def _plain(self, kind: bytes, name: bytes) -> bytes:
        return b"%s%s{%s:%s}" % (self.prefix, kind, self.namespace.encode(), name)

    def channel(self, name: str) -> bytes:
        """The Redis Pub/Sub channel of fire-and-forget channel ``name``."""
        return self._plain(b"p", name.encode())

    def channel_pattern(self, pattern: str) -> bytes:
        """The Redis pattern matching this namespace's channels that ``pattern`` matches."""
        return self._plain(b"p", pattern.encode())

    def channel_prefix(self) -> bytes:
        """What every fire-and-forget channel of the namespace starts with (before its name)."""
        return b"%sp{%s:" % (self.prefix, self.namespace.encode())

    def stream(self, name: str) -> bytes:
        """The stream of durable channel ``name``."""
        return self._plain(b"x", name.encode())

    def stream_notify(self, name: str) -> bytes:
        """The Pub/Sub channel announcing appends to durable channel ``name``."""
        return self._plain(b"n", name.encode())
