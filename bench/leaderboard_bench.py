"""AddScore and GetTop(10) throughput on a 1,000,000-member leaderboard.

``python -m bench.leaderboard_bench`` (or ``run()`` from the bench table)
starts a private redis-server, fills one board with a million members
directly (pipelined ZADD + HSET in cachecar's stored layout, which takes
seconds instead of the minutes a million AddScore calls would), starts
``python -m sidecar serve --config FILE`` as a child process, and loads it
from a Python ``grpc.aio`` client: ``concurrency`` calls in flight for a
warm-up and a measured window, then one call at a time for the sequential
p50. Latencies are the client's (call to response). Every AddScore sets a
random existing member to a random score, so each one moves a member inside
the million-entry sorted set. Tracing is off (no ``OTEL_*`` variables).

A benchmark, not a test: it prints what it measured and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import redis
import yaml
from cachecar.v1 import leaderboard_pb2, leaderboard_pb2_grpc

from sidecar.backends.redis.boards import TIE_WIDTH, stored_member
from sidecar.devmode import RedisServer
from sidecar.patterns.keys import KeyLayout
from sidecar.patterns.leaderboard import board_keys

__all__ = ["populate", "run"]

MEMBERS = 1_000_000
NAMESPACE = "bench"
BOARD = "global"
KEY_PREFIX = "cc:"
_READY = "cachecar listening on "
_NO_PROXY = [("grpc.enable_http_proxy", 0)]
_REPO = Path(__file__).resolve().parent.parent


def populate(url: str, members: int = MEMBERS, batch: int = 10_000, seed: int = 1) -> None:
    """Fill the bench board with ``members`` members, as AddScore would have stored them.

    The board ranks the highest first, so the sorted set holds negated scores
    (see ``sidecar.backends.redis.boards``); member ``i`` arrived ``i``-th.
    """
    keys = board_keys(KeyLayout(KEY_PREFIX.encode(), NAMESPACE), BOARD)
    rng = random.Random(seed)  # noqa: S311  (reproducible bench data, not secrets)
    with redis.Redis.from_url(url) as client:
        client.delete(keys.scores, keys.ties)
        for start in range(0, members, batch):
            scores: dict[bytes, float] = {}
            ties: dict[bytes, bytes] = {}
            for seq in range(start + 1, min(start + batch, members) + 1):
                name = f"m{seq}"
                scores[stored_member(seq, name)] = -float(rng.randrange(1_000_000))
                ties[name.encode()] = b"%0*d" % (TIE_WIDTH, seq)
            pipe = client.pipeline(transaction=False)
            pipe.zadd(keys.scores, scores)
            pipe.hset(keys.ties, mapping=ties)
            pipe.execute()
        # The board's arrival counter: new scores continue after the last member.
        client.hset(keys.ties, "", members)


class _Sidecar:
    """``python -m sidecar serve --config FILE`` as a child process."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        config = workdir / "cachecar.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "listen": "127.0.0.1:0",
                    "key_prefix": KEY_PREFIX,
                    "backends": {"main": redis_url},
                    "namespaces": {NAMESPACE: {"backend": "main"}},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self._stderr = (workdir / "sidecar.err").open("wb")
        # The bench's own interpreter running the sidecar module it ships.
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
            cwd=_REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(_READY):
            self.close()
            raise RuntimeError(
                f"the sidecar did not start: {line!r}; see {workdir / 'sidecar.err'}"
            )
        self.address = line.removeprefix(_READY).strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def _percentile(sorted_us: list[float], fraction: float) -> float | None:
    if not sorted_us:
        return None
    return sorted_us[min(len(sorted_us) - 1, int(fraction * len(sorted_us)))]


async def _load(
    call: Callable[[], Any], concurrency: int, warmup: float, duration: float
) -> dict[str, Any]:
    """Keep ``concurrency`` calls in flight; latencies of those finishing in the window."""
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    stop_at = measure_from + duration
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while (started := loop.time()) < stop_at:
            try:
                await call()
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            if started >= measure_from:
                latencies.append((loop.time() - started) * 1e6)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    return {
        "ops_s": len(latencies) / duration,
        "p50_us": _percentile(latencies, 0.50),
        "p99_us": _percentile(latencies, 0.99),
        "calls": len(latencies),
        "errors": errors,
    }


async def _measure(
    address: str, members: int, concurrency: int, warmup: float, duration: float
) -> list[dict[str, Any]]:
    rng = random.Random(2)  # noqa: S311  (reproducible bench load, not secrets)
    async with grpc.aio.insecure_channel(address, options=_NO_PROXY) as channel:
        stub = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        top_request = leaderboard_pb2.GetTopRequest(namespace=NAMESPACE, board=BOARD, limit=10)
        check = await stub.GetTop(top_request, timeout=10)
        if check.member_count != members or len(check.entries) != 10:
            raise RuntimeError(f"the bench board is not filled: {check.member_count} members")

        def add_score() -> Any:
            return stub.AddScore(
                leaderboard_pb2.AddScoreRequest(
                    namespace=NAMESPACE,
                    board=BOARD,
                    member=f"m{rng.randrange(1, members + 1)}",
                    score=float(rng.randrange(1_000_000)),
                ),
                timeout=10,
            )

        def get_top() -> Any:
            return stub.GetTop(top_request, timeout=10)

        rows = []
        for name, call in (("AddScore", add_score), ("GetTop(10)", get_top)):
            loaded = await _load(call, concurrency, warmup, duration)
            sequential = await _load(call, 1, warmup / 2, duration / 2)
            rows.append(
                {
                    "name": f"{name}, {members:,}-member board",
                    **loaded,
                    "concurrency": concurrency,
                    "p50_seq_us": sequential["p50_us"],
                }
            )
        return rows


def run(
    members: int = MEMBERS, concurrency: int = 32, warmup: float = 1.0, duration: float = 5.0
) -> list[dict[str, Any]]:
    """Rows: name, ops_s, p50_us, p99_us (at ``concurrency`` in flight), p50_seq_us, calls,
    errors, concurrency."""
    server = RedisServer()
    server.start()
    try:
        started = time.perf_counter()
        populate(server.url, members)
        filled_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="cachecar-lb-bench-") as tmp:
            sidecar = _Sidecar(server.url, Path(tmp))
            try:
                rows = asyncio.run(
                    _measure(sidecar.address, members, concurrency, warmup, duration)
                )
            finally:
                sidecar.close()
        for row in rows:
            row["fill_s"] = round(filled_s, 1)
        return rows
    finally:
        server.close()


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    rows = run(args.members, args.concurrency, duration=args.duration)
    print(f"{'scenario':<36} {'ops/s':>8} {'p50 µs':>8} {'p99 µs':>8} {'p50 seq µs':>11}")
    for row in rows:
        print(
            f"{row['name']:<36} {_fmt(row['ops_s']):>8} {_fmt(row['p50_us']):>8} "
            f"{_fmt(row['p99_us']):>8} {_fmt(row['p50_seq_us']):>11}"
            + (f"  ({row['errors']} errors)" if row["errors"] else "")
        )
    print(
        f"(board filled directly in {rows[0]['fill_s']} s; {args.concurrency} calls in flight "
        "from one Python grpc.aio client, which shares the machine with the sidecar)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
