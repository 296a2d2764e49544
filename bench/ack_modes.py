"""EnqueueWrite per write-behind ack mode: what waiting for a replica costs.

Its own redis-server primary with one replica (``--replicaof``, on this
machine), one ``python -m sidecar serve`` with a namespace per mode, the
bench app (``bench.app_server``) as the writer. Per mode: ``CALLS``
EnqueueWrite calls, 32 in flight, over 1,000 keys; reported calls/s, p50,
p99 and errors. ``ack: leader`` answers once the primary ran the enqueue
script; ``ack: {replicas: 1}`` also waits for WAIT 1 on the same connection
(a round trip primary → replica → primary, plus the replica's apply).

    python -m bench.ack_modes
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import redis
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.app_server import app_child
from bench.procs import sidecar_child
from bench.report import Section, num
from bench.writebehind import _drive, _Run
from sidecar.devmode import RedisServer, free_port

__all__ = ["run_ack_modes"]

CALLS = 10_000
KEYS = 1_000
LIMIT_S = 300.0
MODES: dict[str, Any] = {
    "leader": "leader",
    "replicas-1": {"replicas": 1, "timeout": "1s"},
}


def _config(redis_url: str, writer: str) -> dict[str, Any]:
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            f"ack-{name}": {"backend": "main", "writer": writer, "write_behind": {"ack": ack}}
            for name, ack in MODES.items()
        },
    }


async def _measure(sidecar: str, pid: int) -> dict[str, _Run]:
    runs = {}
    async with grpc.aio.insecure_channel(sidecar) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        for name in MODES:
            ns = f"ack-{name}"

            def enqueue(i: int, ns: str = ns) -> Any:
                return cache.EnqueueWrite(
                    cache_pb2.EnqueueWriteRequest(
                        namespace=ns, key=f"k{i % KEYS:04d}", value=str(i).encode()
                    ),
                    timeout=10,
                )

            runs[name] = await _drive(CALLS, enqueue, pid, LIMIT_S)
    return runs


def _synced(replica: RedisServer) -> None:
    with redis.Redis(replica.host, replica.port, decode_responses=True) as r:
        deadline = time.monotonic() + 30
        while r.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise RuntimeError("the bench replica never synced")
            time.sleep(0.05)


def run_ack_modes() -> Section:
    """EnqueueWrite calls/s, p50, p99 per ack mode (primary + 1 local replica)."""
    with tempfile.TemporaryDirectory(prefix="cachecar-ack-") as tmp:
        workdir = Path(tmp)
        primary = RedisServer(free_port("127.0.0.1"))
        primary.start()
        replica = RedisServer(
            free_port("127.0.0.1"), extra_args=["--replicaof", "127.0.0.1", str(primary.port)]
        )
        try:
            replica.start()
            _synced(replica)
            with app_child("ack-app", logdir=workdir) as app:
                config = workdir / "ack.yaml"
                config.write_text(yaml.safe_dump(_config(primary.url, app.address)))
                with sidecar_child("ack-sidecar", config, logdir=workdir) as sidecar:
                    runs = asyncio.run(_measure(sidecar.address, sidecar.pid))
        finally:
            replica.close()
            primary.close()
    rows = tuple(
        (
            f"EnqueueWrite, ack: {name.replace('-', ': ')}",
            f"{CALLS:,}",
            num(run.rate),
            num(run.p(50), ".2f"),
            num(run.p(99), ".2f"),
            str(run.errors),
        )
        for name, run in runs.items()
    )
    return Section(
        key="ack_modes",
        title="Write-behind ack modes (EnqueueWrite, primary + 1 replica on this machine)",
        header=("scenario", "calls", "calls/s", "p50 ms", "p99 ms", "errors"),
        rows=rows,
        targets=("ack modes: cost of WAIT 1 reported side by side  → reported (no target)",),
        notes=(
            f"{CALLS:,} calls per mode, 32 in flight, {KEYS:,} keys; the replica is local, "
            "so WAIT measures the replication round trip without network distance.",
        ),
    )


if __name__ == "__main__":
    section = run_ack_modes()
    print(section.title)
    for row in section.rows:
        print("  " + " | ".join(row))
