"""The leaderboard, pub/sub and Redis-client benchmarks as sections of ``python -m bench``.

``bench.leaderboard_bench``, ``bench.pubsub_bench`` and ``bench.redis_clients``
stand alone (each has its own ``python -m`` entry and starts its own
redis-server); the first two's ``run()`` returns plain dicts. This module
calls them and lays their rows out as :class:`bench.report.Section` tables.
None has a target: their figures are reported for comparing runs on one
machine.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import leaderboard_bench, pubsub_bench, redis_clients
from bench.report import Section, num

__all__ = ["run_leaderboard", "run_pubsub", "run_redis_clients"]


def _us_as_ms(value: Any) -> str:
    return num(None if value is None else float(value) / 1000, ".2f")


def _figure(row: Mapping[str, Any], key: str, fmt: str = ",.0f") -> str:
    value = row.get(key)
    return num(None if value is None else float(value), fmt)


def run_leaderboard(concurrency: int, warmup: float, duration: float) -> Section:
    """AddScore and GetTop(10) on a 1,000,000-member board (``bench.leaderboard_bench``)."""
    rows = leaderboard_bench.run(concurrency=concurrency, warmup=warmup, duration=duration)
    table = tuple(
        (
            str(r["name"]),
            _figure(r, "ops_s"),
            _us_as_ms(r.get("p50_us")),
            _us_as_ms(r.get("p99_us")),
            _us_as_ms(r.get("p50_seq_us")),
            str(r.get("errors", "—")),
        )
        for r in rows
    )
    fill = rows[0].get("fill_s") if rows else None
    notes = (
        f"one Python grpc.aio client (it shares the machine with the sidecar), {concurrency} in "
        f"flight for {warmup:g} s + {duration:g} s, then 1 in flight; every AddScore moves a "
        f"random member to a random score; the board was filled directly in "
        f"{num(fill, '.1f')} s (its own redis-server); no target, reported for comparison",
    )
    return Section(
        "leaderboard",
        "leaderboards: a 1,000,000-member board",
        (
            "call",
            f"calls/s ({concurrency} in flight)",
            "p50 ms",
            "p99 ms",
            "p50 ms (1 in flight)",
            "errors",
        ),
        table,
        (),
        notes,
    )


def run_pubsub() -> Section:
    """Fan-out to 100 subscribers, fire-and-forget and durable (``bench.pubsub_bench``)."""
    rows = pubsub_bench.run()
    table = tuple(
        (
            str(r["name"]),
            _figure(r, "msgs_per_s"),
            _us_as_ms(r.get("p50_us")),
            _us_as_ms(r.get("p99_us")),
            f"{r.get('delivered', 0):,} / {r.get('published', 0):,}",
            str(r.get("missed", "—")),
            _figure(r, "sidecar_cpu_us_per_delivery"),
        )
        for r in rows
    )
    subscribers = rows[0].get("subscribers", "?") if rows else "?"
    notes = (
        f"{subscribers} Subscribe streams held by 4 worker processes (their CPU competes with "
        "the sidecar's on a small machine); latency is publish to delivery, one host clock; "
        "msgs/s counts deliveries; no target, reported for comparison",
    )
    return Section(
        "pubsub",
        "pub/sub: fan-out to 100 subscribers on one sidecar",
        (
            "scenario",
            "deliveries/s",
            "p50 ms",
            "p99 ms",
            "delivered / published",
            "missed",
            "sidecar CPU µs/delivery",
        ),
        table,
        (),
        notes,
    )


def run_redis_clients(
    concurrency: int, warmup: float, duration: float, seq_duration: float, workdir: Path
) -> Section:
    """redis-py, resp.py and valkey-glide per GET / MGET (``bench.redis_clients``)."""
    # Shorter windows than the hit path's: ten rows of two loads each.
    plan = redis_clients.Plan(concurrency, warmup, min(duration, 4.0), 0.5, seq_duration)
    outcome = redis_clients.run(
        plan, workdir, lambda s: print(f"bench: redisclients: {s} ...", file=sys.stderr)
    )
    return redis_clients.section(outcome, plan)
