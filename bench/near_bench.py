"""The near cache (issue #15): hits from the sidecar's memory, measured.

- ``near`` (a row of the hit-path table): GetOrLoad hits served from the near
  cache, next to row b (the same hits from Redis) and the echo floor a;
- ``nearcache`` (a section): 10,000 reads of a hot key through 3 sidecars and
  the Redis GET commands they cost (INFO commandstats); the invalidation lag
  on loopback (Set on one sidecar, a reader polling Get on another); a Zipf
  workload (s = 1.1, 100k keys of 1 KB, a 16 MiB near cache): near-cache hit
  ratio, Redis commands saved, the sidecar's RSS growth against max_bytes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import redis
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.procs import Child, ChildFailed, sidecar_child
from bench.report import REDIS, SERVER, Row, Section, num, verdict
from sidecar.patterns.entry import Entry, encode
from sidecar.patterns.keys import KeyLayout

__all__ = ["ZIPF_RESULT", "run_nearcache", "scenario_near"]

NAMESPACE = "bench"
HOT_KEYS = [f"hot-{i:03d}" for i in range(100)]
VALUE_BYTES = 1024
GET_OR_LOAD = "cachecar.v1.CacheService/GetOrLoad"
_NO_PROXY = [("grpc.enable_http_proxy", 0)]
ZIPF_KEYS = 100_000
ZIPF_S = 1.1
ZIPF_READS = 30_000
ZIPF_NEAR = 16 * 2**20
LAG_SAMPLES = 300
#: Filled by run_nearcache for the HTML report: hit ratio after each 1,000 reads.
ZIPF_RESULT: dict[str, list[float]] = {}


def _config(path: Path, redis_url: str, max_bytes: int) -> Path:
    namespace: dict[str, Any] = {"backend": "main", "ttl": "1h", "ttl_jitter": 0.0}
    namespace["near_cache"] = {"max_bytes": max_bytes}
    path.write_text(
        yaml.safe_dump(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": redis_url},
                "namespaces": {NAMESPACE: namespace},
            }
        )
    )
    return path


def _populate(address: str) -> None:
    """Set the hot keys, then read each twice: the second read fills the near cache."""
    value = os.urandom(VALUE_BYTES)
    with grpc.insecure_channel(address, options=_NO_PROXY) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        for key in HOT_KEYS:
            cache.Set(cache_pb2.SetRequest(namespace=NAMESPACE, key=key, value=value), timeout=5)
        deadline = time.monotonic() + 10
        for key in HOT_KEYS:
            request = cache_pb2.GetOrLoadRequest(namespace=NAMESPACE, key=key)
            while cache.GetOrLoad(request, timeout=5).source != cache_pb2.SOURCE_NEAR_CACHE:
                if time.monotonic() > deadline:
                    raise ChildFailed("the near cache never served the hot keys")


def scenario_near(bench: Any) -> Row:
    """Row h: GetOrLoad hits from the near cache (bench: bench.run.Bench)."""
    config = _config(bench.workdir / "near.yaml", bench.redis.url, 64 * 2**20)
    watch = {REDIS: bench.redis_pid}
    with sidecar_child("sidecar-near", config, logdir=bench.workdir) as sidecar:
        _populate(sidecar.address)
        watch[SERVER] = sidecar.pid
        requests = [{"namespace": NAMESPACE, "key": key} for key in HOT_KEYS]
        loaded, seq = bench.load(sidecar.address, GET_OR_LOAD, watch, requests, check_hits=True)
    return Row("near", "h. GetOrLoad hit from the near cache", loaded, seq)


@contextlib.contextmanager
def _sidecars(config: Path, workdir: Path, count: int) -> Iterator[list[Child]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(sidecar_child(f"near-{i}", config, logdir=workdir))
            for i in range(count)
        ]


def _commands(client: redis.Redis) -> int:
    """GET + MGET calls Redis served since the last CONFIG RESETSTAT."""
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("get", "mget"))


async def _hot_reads(addresses: list[str], reads: int) -> None:
    channels = [grpc.aio.insecure_channel(a, options=_NO_PROXY) for a in addresses]
    try:
        stubs = [cache_pb2_grpc.CacheServiceStub(c) for c in channels]
        request = cache_pb2.GetOrLoadRequest(namespace=NAMESPACE, key=HOT_KEYS[0])
        per = reads // len(stubs)

        async def run(stub: cache_pb2_grpc.CacheServiceStub) -> None:
            for _ in range(per):
                got = await stub.GetOrLoad(request, timeout=5)
                if not got.found:
                    raise ChildFailed("a hot read missed")

        await asyncio.gather(*(run(s) for s in stubs))
    finally:
        for channel in channels:
            await channel.close()


async def _lag(writer: str, reader: str) -> list[float]:
    """Seconds from a Set's acknowledgement on ``writer`` until ``reader`` sees it."""
    key = HOT_KEYS[1]
    lags = []
    async with (
        grpc.aio.insecure_channel(writer, options=_NO_PROXY) as wch,
        grpc.aio.insecure_channel(reader, options=_NO_PROXY) as rch,
    ):
        w, r = cache_pb2_grpc.CacheServiceStub(wch), cache_pb2_grpc.CacheServiceStub(rch)
        get = cache_pb2.GetRequest(namespace=NAMESPACE, key=key)
        for i in range(LAG_SAMPLES):
            # The reader holds the old value in its near cache before each write.
            for _ in range(3):
                await r.Get(get, timeout=5)
            value = b"v%d" % i
            await w.Set(cache_pb2.SetRequest(namespace=NAMESPACE, key=key, value=value), timeout=5)
            acked = time.perf_counter()
            deadline = acked + 5
            while (await r.Get(get, timeout=5)).value != value:
                if time.perf_counter() > deadline:
                    raise ChildFailed("an invalidation never arrived")
            lags.append(time.perf_counter() - acked)
    return lags


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _store_zipf_keys(redis_url: str) -> None:
    layout = KeyLayout(b"cc:", NAMESPACE)
    value = encode(Entry(True, os.urandom(VALUE_BYTES), int(time.time() * 1000) + 3_600_000))
    with redis.Redis.from_url(redis_url) as client:
        for start in range(0, ZIPF_KEYS, 5000):
            pipe = client.pipeline(transaction=False)
            for i in range(start, min(ZIPF_KEYS, start + 5000)):
                pipe.set(layout.value(f"z{i}"), value, ex=3600)
            pipe.execute()


async def _zipf(address: str) -> tuple[int, list[float]]:
    rng = random.Random(15)  # noqa: S311  (a workload, not a secret)
    weights = list(itertools.accumulate(1 / (i**ZIPF_S) for i in range(1, ZIPF_KEYS + 1)))
    total = weights[-1]
    keys = [f"z{bisect.bisect(weights, rng.random() * total)}" for _ in range(ZIPF_READS)]
    near = 0
    curve: list[float] = []
    async with grpc.aio.insecure_channel(address, options=_NO_PROXY) as channel:
        stub = cache_pb2_grpc.CacheServiceStub(channel)
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            replies = []
            for part in range(0, len(batch), 50):  # 50 in flight
                replies += await asyncio.gather(
                    *(
                        stub.GetOrLoad(
                            cache_pb2.GetOrLoadRequest(namespace=NAMESPACE, key=k), timeout=10
                        )
                        for k in batch[part : part + 50]
                    )
                )
            hits = sum(r.source == cache_pb2.SOURCE_NEAR_CACHE for r in replies)
            near += hits
            curve.append(hits / len(batch))
    return near, curve


def run_nearcache(redis_url: str, workdir: Path) -> Section:
    rows: list[tuple[str, ...]] = []
    targets: list[str] = []
    notes: list[str] = []
    config = _config(workdir / "near-section.yaml", redis_url, 64 * 2**20)
    with _sidecars(config, workdir, 3) as sidecars, redis.Redis.from_url(redis_url) as client:
        addresses = [s.address for s in sidecars]
        for address in addresses:
            _populate(address)
        client.config_resetstat()
        reads = 10_000
        asyncio.run(_hot_reads(addresses, reads))
        gets = _commands(client)
        share = gets / reads * 100
        rows.append(("10,000 hot reads, 3 sidecars", f"{gets:,} Redis GET/MGET", f"{share:.2f} %"))
        targets.append(f"Redis GET commands ≤ 1 % of reads: {share:.2f} % → {verdict(share <= 1)}")
        lags = sorted(asyncio.run(_lag(addresses[0], addresses[1])))
        p50 = statistics.median(lags) * 1000
        p99 = lags[int(len(lags) * 0.99) - 1] * 1000
        rows.append(
            (
                f"invalidation lag, {LAG_SAMPLES} Sets",
                f"p50 {p50:.2f} ms",
                f"p99 {p99:.2f} ms, max {lags[-1] * 1000:.2f} ms",
            )
        )
        targets.append(f"invalidation lag p99 ≤ 5 ms: {p99:.2f} ms → {verdict(p99 <= 5)}")
        notes.append(
            "lag = from the Set's reply on sidecar 1 to the first Get on sidecar 2 that "
            "returns the new value (the reader polls Get back to back, so it includes "
            "one Get round trip)"
        )
    _store_zipf_keys(redis_url)
    config = _config(workdir / "near-zipf.yaml", redis_url, ZIPF_NEAR)
    with _sidecars(config, workdir, 1) as (sidecar,), redis.Redis.from_url(redis_url) as client:
        rss_before = _rss(sidecar.pid)
        client.config_resetstat()
        near, curve = asyncio.run(_zipf(sidecar.address))
        gets = _commands(client)
        rss_after = _rss(sidecar.pid)
    ZIPF_RESULT["curve"] = curve
    ratio = near / ZIPF_READS
    growth = (rss_after - rss_before) / 2**20
    rows.append(
        (
            f"Zipf s={ZIPF_S}, {ZIPF_KEYS // 1000}k keys x 1 KB, {ZIPF_READS:,} reads",
            f"near hit ratio {ratio:.1%}",
            f"Redis GETs {gets:,} ({1 - gets / ZIPF_READS:.1%} saved)",
        )
    )
    rows.append(
        (
            "sidecar RSS, Zipf run",
            f"{rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB",
            f"growth {growth:.1f} MiB for max_bytes {ZIPF_NEAR / 2**20:.0f} MiB",
        )
    )
    targets.append(f"Zipf near-cache hit ratio: {ratio:.1%} → reported (no target)")
    notes.append(
        "RSS growth includes the gRPC and redis-py buffers of the run, not only the near "
        "cache; the near cache's own accounting (cachecar_near_bytes) stays ≤ max_bytes"
    )
    return Section(
        "nearcache",
        "near cache: Redis commands saved, invalidation lag, Zipf hit ratio",
        ("scenario", "figure", "detail"),
        tuple(rows),
        tuple(targets),
        tuple(notes),
    )


def near_targets(floor: Row | None, near: Row | None) -> list[str]:
    """The issue's hit-path targets for row h against the echo floor a."""
    if floor is None or near is None:
        return []
    cpu_f, cpu_n = floor.server_cpu, near.server_cpu
    ratio = None if cpu_f is None or cpu_n is None or cpu_f == 0 else cpu_n / cpu_f
    p50_f, p50_n = floor.sequential.p50_us, near.sequential.p50_us
    extra = None if p50_f is None or p50_n is None else p50_n - p50_f
    return [
        f"near hit CPU ≤ 1.10x the floor: {num(ratio, '.2f')}x → "
        f"{verdict(None if ratio is None else ratio <= 1.10)}",
        f"near hit p50 ≤ floor + 15 µs: +{num(extra, '.0f')} µs → "
        f"{verdict(None if extra is None else extra <= 15)}",
    ]
