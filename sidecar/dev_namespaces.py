"""The namespaces of development mode: every one the README and the examples use.

``cachecar serve`` without a config declares these, and ``make examples``
runs every example against exactly that (scripts/examples.py), so a snippet
copied from the README or an example run by hand works against plain
``make serve``. The app (its Loader/Writer) is expected at one address.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DESCRIPTION", "example_namespaces"]

#: For the log line that announces development mode.
DESCRIPTION = (
    "products (redis), products-mc (memcached), orders (redis, write-behind), "
    "sessions, games (boards), events (pub/sub)"
)


def example_namespaces(
    app: str, *, redis: str = "redis", memcached: str = "memcached"
) -> dict[str, Any]:
    """Namespace name -> settings; ``app`` serves LoaderService and WriterService."""
    callbacks = {"loader": app, "writer": app}
    cached = {"ttl": "1h", "negative_ttl": "30s", "grace": "5m", **callbacks}
    return {
        # cache-aside, write-through (README, examples/cache_aside, write_through).
        "products": {"backend": redis, **cached},
        "products-mc": {"backend": memcached, **cached},
        # write-behind: flushed every 2 s in batches; quick retries once the app is back.
        "orders": {
            "backend": redis,
            "ttl": "1h",
            "writer": app,
            "write_behind": {"flush_interval": "2s", "retry_backoff": "100ms", "max_backoff": "1s"},
        },
        # session store.
        "sessions": {"backend": redis, "ttl": "30m", "session_max_lifetime": "12h"},
        # leaderboards and counters: "daily" is windowed, any other board is all-time.
        "games": {"backend": redis, "boards": {"daily": {"window": "daily", "retain": 7}}},
        # pub/sub: "orders" and "orders.*" are durable channels (Redis Streams).
        "events": {"backend": redis, "channels": {"durable": ["orders", "orders.*"]}},
    }
