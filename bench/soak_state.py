"""What every part of the soak shares: its shape, its namespaces, the run record.

``bench.soak`` builds one :class:`Soak` and hands it to the workload
(``bench.soak_workload``), the faults (``bench.soak_faults``), the sampler
(``bench.soak_sampler``) and the report (``bench.soak_report``); they record
into it and read from it, and import nothing from one another.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from bench.procs import Child
from bench.soak_stats import Calls, Row, Subscriber, WriteLedger, error_reason
from sidecar.devmode import MemcachedServer, RedisServer

__all__ = [
    "CHANNELS",
    "CHAT",
    "DURABLE",
    "MAX_SECONDS",
    "NS_BOARDS",
    "NS_MC",
    "NS_ORDERS",
    "NS_REDIS",
    "NS_SESSIONS",
    "NS_SESSIONS_MC",
    "SETTLE_S",
    "WORKERS",
    "Fault",
    "Soak",
    "sidecar_config",
]

T = TypeVar("T")

MAX_SECONDS = 24 * 3600.0
WORKERS = 32
CHANNELS = 4
#: Peers' idle connections and late deliveries settle for this long at the end.
SETTLE_S = 3.0

NS_REDIS = "products"
NS_MC = "products-mc"
NS_ORDERS = "orders"
NS_SESSIONS = "sessions"
NS_SESSIONS_MC = "sessions-mc"
NS_BOARDS = "boards"
DURABLE = "events"
CHAT = "chat"


def sidecar_config(redis: str, memcached: str, loader: str, writer: str) -> dict[str, Any]:
    app = {"loader": loader, "writer": writer, "loader_timeout": "2s", "writer_timeout": "2s"}
    cache = {"ttl": "20s", "grace": "60s", "negative_ttl": "5s", **app}
    return {
        "listen": "127.0.0.1:0",
        "backends": {"redis": redis, "memcached": memcached},
        "namespaces": {
            NS_REDIS: {"backend": "redis", **cache},
            NS_MC: {"backend": "memcached", **cache},
            NS_ORDERS: {
                "backend": "redis",
                "writer": writer,
                "write_behind": {
                    "flush_interval": "200ms",
                    "retry_backoff": "100ms",
                    "max_backoff": "2s",
                },
                "channels": {"durable": [DURABLE]},
            },
            NS_SESSIONS: {"backend": "redis", "ttl": "2m", "session_max_lifetime": "10m"},
            NS_SESSIONS_MC: {"backend": "memcached", "ttl": "2m"},
            NS_BOARDS: {"backend": "redis", "boards": {"daily": {"window": "daily"}}},
        },
    }


@dataclass
class Fault:
    label: str
    started: float
    ended: float | None = None
    note: str = ""


@dataclass
class Soak:
    """One run: the processes, the clients and everything recorded."""

    seconds: float
    redis: RedisServer
    memcached: MemcachedServer
    app: Child
    sidecar: Child
    procs: ThreadPoolExecutor
    calls: Calls = field(default_factory=Calls)
    writes: WriteLedger = field(default_factory=WriteLedger)
    subscribers: list[Subscriber] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    published: Counter[str] = field(default_factory=Counter)
    #: (monotonic time the Publish started, message id) of acknowledged durable publishes.
    durable_published: list[tuple[float, str]] = field(default_factory=list)
    cold_counter: int = 0
    wt_counter: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = 0.0
    crashed: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def call(self, method: str, call: Awaitable[T]) -> T | None:
        began = time.perf_counter()
        try:
            result = await call
        except grpc.aio.AioRpcError as exc:
            self.calls.failed(method, exc.code().name, error_reason(exc))
            return None
        self.calls.ok(method, (time.perf_counter() - began) * 1000)
        return result
