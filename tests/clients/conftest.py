"""Fixtures for the client tests: a real sidecar with the namespaces every
client feature needs, over the session's real redis-server and memcached.

``client_config`` is shared with the Node.js suite (test_node_client.py), so
both clients are tested against the same namespace layout; only the address
of the app (the Loader/Writer the sidecar calls) differs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sidecar.config import settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry


def client_config(redis_url: str, memcached_url: str, app: str) -> dict[str, Any]:
    """The sidecar config of the client suites; ``app`` serves Loader and Writer."""
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url, "mc": memcached_url},
        "namespaces": {
            "products": {
                "backend": "main",
                "ttl_jitter": 0.0,
                "loader": app,
                "writer": app,
                "loader_timeout": "5s",
            },
            "products-mc": {"backend": "mc", "ttl_jitter": 0.0, "loader": app, "writer": app},
            "orders": {
                "backend": "main",
                "writer": app,
                # A long interval: the tests flush explicitly, so what they see
                # pending is what they enqueued.
                "write_behind": {"partitions": 1, "flush_interval": "60s", "max_attempts": 1},
            },
            "plain": {"backend": "main"},
            "sessions": {"backend": "main", "ttl": "30m"},
            "sessions-mc": {"backend": "mc", "ttl": "30m"},
            "games": {"backend": "main", "boards": {"fastest": {"order": "asc"}}},
            "events": {"backend": "main", "channels": {"durable": ["audit.*"]}},
        },
    }


async def start_sidecar(config: dict[str, Any]) -> Sidecar:
    """A running in-process sidecar for ``config`` (stop it with ``stop``)."""
    sidecar = Sidecar(settings_from_mapping(config), telemetry=Telemetry(), health_interval=0.2)
    await sidecar.start()
    return sidecar


@pytest.fixture
async def sidecar_with(redis_url: str, memcached_url: str) -> AsyncIterator[Any]:
    """``await sidecar_with(app_target)`` -> a running sidecar (stopped at the end)."""
    started: list[Sidecar] = []

    async def start(app: str) -> Sidecar:
        sidecar = await start_sidecar(client_config(redis_url, memcached_url, app))
        started.append(sidecar)
        return sidecar

    yield start
    for sidecar in started:
        await sidecar.stop(grace=1.0)
