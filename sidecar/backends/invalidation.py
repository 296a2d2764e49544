"""The invalidation-feed capability: a store tells the sidecar which keys changed.

A near cache (``patterns/near_cache.py``) keeps values in the sidecar's own
memory; it stays coherent only if every write anywhere reaches it as an
invalidation, and if it hears at once when that can no longer be promised.
A feed therefore delivers three kinds of event to each subscribed sink:

- ``invalidate(keys)``: these keys changed (a write, a delete, an expiry or
  an eviction on the server);
- ``flush(slots, cause)``: the feed can no longer vouch for these slots
  (``None``: all of them) — its link dropped, stopped answering pings, the
  server restarted or was flushed, or the slots moved to another node. The
  sink must drop what it holds for them *and* store nothing for them until
- ``resume(slots)``: the feed is subscribed again for these slots: a read
  that starts from now on will hear of any later write.

Slots are Redis Cluster hash slots (``slot(key)``); a store without slots
answers 0 for every key, and its flushes are always ``None`` (everything).

Only components whose server can push invalidations declare this (Redis and
Redis Cluster, via RESP3 client-side caching in ``redis/tracking.py``).
Memcached cannot, so a near cache on it is bounded-staleness only
(``near_cache.max_staleness``) and not coherent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["InvalidationFeed", "InvalidationSink"]


class InvalidationSink(Protocol):
    """What a feed calls; called on the event loop, must not block or raise."""

    def invalidate(self, keys: Sequence[bytes]) -> None: ...

    def flush(self, slots: Collection[int] | None, cause: str) -> None: ...

    def resume(self, slots: Collection[int] | None) -> None: ...


@runtime_checkable
class InvalidationFeed(Protocol):
    """Pushes invalidations of keys under subscribed prefixes, and link health."""

    def subscribe(self, prefix: bytes, sink: InvalidationSink) -> None:
        """Deliver events for keys starting with ``prefix`` to ``sink``. Call before
        :meth:`start`; until the feed calls ``sink.resume``, the sink is flushed."""
        ...

    def slot(self, key: bytes) -> int:
        """The slot ``key`` lives in (Redis Cluster hash slot; 0 without slots)."""
        ...

    def healthy(self) -> bool:
        """True when every link is subscribed and answered its last ping."""
        ...

    def describe(self) -> str:
        """One line on the links' state, for health and logs."""
        ...

    async def start(self) -> None:
        """Start connecting (in the background: a store that is down is retried)."""
        ...

    async def aclose(self) -> None:
        """Close every link (sinks are flushed)."""
        ...
