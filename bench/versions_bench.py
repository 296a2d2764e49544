"""What versions, tags and batches cost (issue #20), at the pattern layer.

``python -m bench.versions_bench [REDIS_URL]`` (or the ``versions`` section of
``python -m bench``) runs the sidecar's own code in-process against a Redis,
without gRPC, so the figures are the sidecar's work per call (its CPU,
``time.process_time``, includes the redis-py client) and the Redis commands
it sends (``INFO commandstats`` deltas):

- InvalidateTags of a tag carried by 100,000 values: wall time and commands;
- a cache hit (``CacheAside.get_or_load``) of an untagged and of a tagged
  value: CPU µs and Redis commands per hit;
- SetMany / GetMany of 100 keys against 100 single Sets / Gets: µs and
  commands per key; the same on a Memcached of its own (µs only: memcached
  counts keys, not round trips). ``python -m bench.versions_bench
  memcached://HOST:PORT`` runs just those rows on a Memcached.

A benchmark, not a test: it prints what it measured and exits 0.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from bench.report import Section
from sidecar.backends.registry import open_backend
from sidecar.callbacks import CallbackClients
from sidecar.config import settings_from_mapping
from sidecar.devmode import MemcachedServer
from sidecar.patterns import tags as tagging
from sidecar.patterns.cache_aside import CacheAside
from sidecar.patterns.namespace import Namespace, Namespaces
from sidecar.patterns.versions import SetItem, WriteOptions

__all__ = ["run", "run_versions"]

MEMBERS = 100_000
HITS = 5_000
BATCH = 100
ROUNDS = 50


def _commands(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        stats: dict[str, Any] = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


def _memcached(url: str) -> bool:
    return url.startswith("memcached")


async def _measure(
    url: str, calls: int, call: Callable[[], Awaitable[object]]
) -> tuple[float, float, float]:
    """(wall µs, CPU µs, Redis commands; Memcached: 0) per call, over ``calls`` calls."""
    before = 0 if _memcached(url) else _commands(url)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # The INFO call itself is one command.
    sent = 0 if _memcached(url) else _commands(url) - before - 1
    return wall / calls * 1e6, cpu / calls * 1e6, sent / calls


async def _batches(url: str, ns: Namespace, cache: CacheAside) -> dict[str, float]:
    """SetMany / GetMany of BATCH keys against BATCH single calls, per key."""
    out: dict[str, float] = {}
    keys = [f"b{i}" for i in range(BATCH)]
    items = [SetItem(k, b"x" * 100) for k in keys]

    async def singles() -> None:
        for k in keys:
            await cache.set(ns, k, b"x" * 100, None)

    async def single_gets() -> None:
        for k in keys:
            await cache.get(ns, k)

    for name, call in (
        ("set_many", lambda: cache.set_many(ns, items)),
        ("set_single", singles),
        ("get_many", lambda: cache.get_many(ns, keys)),
        ("get_single", single_gets),
    ):
        wall, cpu, sent = await _measure(url, ROUNDS, call)
        out[f"{name}_us_per_key"] = wall / BATCH
        out[f"{name}_cpu_us_per_key"] = cpu / BATCH
        out[f"{name}_commands_per_key"] = sent / BATCH
    return out


async def _run(url: str) -> dict[str, float]:
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": url},
            "namespaces": {"bench": {"backend": "main", "ttl": "1h", "ttl_jitter": 0.0}},
        }
    )
    backend = open_backend("main", settings.backends["main"])
    ns: Namespace = Namespaces(settings, {"main": backend})["bench"]
    cache = CacheAside(CallbackClients())
    out: dict[str, float] = {}
    if _memcached(url):
        try:
            return await _batches(url, ns, cache)
        finally:
            await backend.aclose()
    try:
        tagged = WriteOptions(tags=("big",))
        for start in range(0, MEMBERS, 1000):
            items = [SetItem(f"m{i}", b"x" * 100, None, tagged) for i in range(start, start + 1000)]
            await cache.set_many(ns, items)
        before = _commands(url)
        started = time.perf_counter()
        await tagging.invalidate(ns, ["big"])
        out["tag_invalidate_ms"] = (time.perf_counter() - started) * 1000
        out["tag_invalidate_commands"] = _commands(url) - before - 1
        sample = await cache.get_many(ns, [f"m{i}" for i in range(0, MEMBERS, 997)])
        out["tag_members_still_found"] = sum(1 for got in sample if got.found)

        await cache.set(ns, "plain", b"x" * 1000, None)
        await cache.set(ns, "tagged", b"x" * 1000, None, WriteOptions(tags=("t1", "t2")))
        for name in ("plain", "tagged"):

            async def hit(key: str = name) -> object:
                return await cache.get_or_load(ns, key, 5)

            _, cpu, sent = await _measure(url, HITS, hit)
            out[f"hit_{name}_cpu_us"], out[f"hit_{name}_commands"] = cpu, sent

        out.update(await _batches(url, ns, cache))
    finally:
        await backend.aclose()
    return out


def run(url: str) -> dict[str, float]:
    return asyncio.run(_run(url))


def _ratio(r: dict[str, float], op: str) -> float:
    return r[f"{op}_single_us_per_key"] / max(r[f"{op}_many_us_per_key"], 1e-9)


def run_versions(url: str) -> Section:
    """The bench table's ``versions`` section (with its own Memcached)."""
    r = run(url)
    with MemcachedServer() as memcached:
        m = run(memcached.url)
    rows = (
        (
            f"InvalidateTags, tag on {MEMBERS:,} values",
            f"{r['tag_invalidate_ms']:.2f} ms",
            f"{r['tag_invalidate_commands']:.0f} commands",
        ),
        (
            "hit, untagged value",
            f"{r['hit_plain_cpu_us']:.0f} µs CPU",
            f"{r['hit_plain_commands']:.1f}",
        ),
        (
            "hit, value with 2 tags",
            f"{r['hit_tagged_cpu_us']:.0f} µs CPU",
            f"{r['hit_tagged_commands']:.1f}",
        ),
        *(
            (
                f"{name} (100 keys), per key",
                f"{r[f'{name}_us_per_key']:.1f} µs, {r[f'{name}_cpu_us_per_key']:.1f} µs CPU",
                f"{r[f'{name}_commands_per_key']:.2f}",
            )
            for name in ("set_many", "set_single", "get_many", "get_single")
        ),
        *(
            (
                f"Memcached {name} (100 keys), per key",
                f"{m[f'{name}_us_per_key']:.1f} µs, {m[f'{name}_cpu_us_per_key']:.1f} µs CPU",
                "-",
            )
            for name in ("set_many", "set_single", "get_many", "get_single")
        ),
    )
    return Section(
        "versions",
        "versions, tags and batches (in-process, pattern layer, one Redis)",
        ("scenario", "cost", "Redis commands per call / key"),
        rows,
        (),
        (
            f"after InvalidateTags, {r['tag_members_still_found']:.0f} of a sample of "
            f"{len(range(0, MEMBERS, 997))} tagged values still read as found (must be 0)",
            "sidecar CPU is in-process (no gRPC), including the redis-py client",
            *(
                f"{store}: per key, SetMany costs 1/{_ratio(x, 'set'):.1f} of single Sets and "
                f"GetMany 1/{_ratio(x, 'get'):.1f} of single Gets (wall)"
                for store, x in (("Redis", r), ("Memcached", m))
            ),
        ),
    )


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"
    for name, value in run(target).items():
        print(f"{name}: {value:,.2f}")
