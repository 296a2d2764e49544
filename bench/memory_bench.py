"""Memory (issue #15's budget): RSS of a worker and of the ``workers:`` supervisor.

``python -m bench --only memory`` starts ``cachecar serve`` twice on the bench's
Redis — one process (``workers: 1``) and a ``workers: 2`` supervisor with its
two workers — drives 3,000 GetOrLoad hits through each, and reads VmRSS,
RssAnon and RssFile from ``/proc`` and the private (unshared) memory from
``smaps_rollup`` (no near cache). Then, in fresh
interpreters, what each import adds to RSS, so the budget is read where the
megabytes go. RssFile is mostly shared libraries (gRPC's core, libcrypto):
shared between the workers of one pod, counted in full for each here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from bench.procs import ChildFailed, sidecar_child
from bench.report import Section, verdict

__all__ = ["run_memory"]

WORKER_BUDGET_MB = 50.0
SUPERVISOR_BUDGET_MB = 25.0
HITS = 3_000
#: Imports in the order a worker meets them; each row is what it adds.
IMPORTS = (
    "grpc",
    "redis",
    "pydantic",
    "sidecar.config",
    "cachecar.v1.cache_pb2_grpc",
    "opentelemetry.sdk.trace",
    "prometheus_client",
    "sidecar.server",
)
_PROBE = """
import importlib, sys
def rss():
    return {l.split(':')[0]: int(l.split()[1]) / 1024 for l in open('/proc/self/status')
            if l.startswith(('VmRSS', 'RssAnon', 'RssFile'))}
prev = rss(); print('interpreter', prev['VmRSS'], prev['RssAnon'], prev['RssFile'])
for name in sys.argv[1:]:
    importlib.import_module(name); now = rss()
    print(name, *(now[k] - prev[k] for k in ('VmRSS', 'RssAnon', 'RssFile'))); prev = now
print('total', prev['VmRSS'], prev['RssAnon'], prev['RssFile'])
"""


def _status(pid: int) -> dict[str, float]:
    fields = ("VmRSS", "RssAnon", "RssFile")
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    sizes = {
        line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines if line.startswith(fields)
    }
    # USS: what this process alone holds (what one more worker costs the pod).
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    private = [line for line in rollup if line.startswith(("Private_Clean", "Private_Dirty"))]
    sizes["USS"] = sum(int(line.split()[1]) for line in private) / 1024
    return sizes


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _hits(address: str) -> None:
    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        cache.Set(cache_pb2.SetRequest(namespace="bench", key="k", value=os.urandom(1024)))
        request = cache_pb2.GetOrLoadRequest(namespace="bench", key="k")
        for _ in range(HITS):
            if not cache.GetOrLoad(request, timeout=5).found:
                raise ChildFailed("a memory-bench read missed")


def _measure(redis_url: str, workdir: Path, workers: int) -> dict[str, dict[str, float]]:
    config = workdir / f"memory-{workers}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "listen": "127.0.0.1:0",
                "workers": workers,
                "backends": {"main": redis_url},
                "namespaces": {"bench": {"backend": "main", "ttl": "1h"}},
            }
        )
    )
    with sidecar_child(f"memory-{workers}", config, logdir=workdir) as sidecar:
        _hits(sidecar.address)
        time.sleep(0.5)
        if workers == 1:
            return {"worker": _status(sidecar.pid)}
        kids = [pid for pid in _children(sidecar.pid) if b"sidecar.workers" in _cmdline(pid)]
        sizes = [_status(pid) for pid in kids]
        worst = max(sizes, key=lambda s: s["VmRSS"])
        return {"supervisor": _status(sidecar.pid), "worker": worst}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _imports() -> list[tuple[str, float, float, float]]:
    result = subprocess.run(  # noqa: S603  (our interpreter, a fixed probe)
        [sys.executable, "-c", _PROBE, *IMPORTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = []
    for line in result.stdout.splitlines():
        name, *figures = line.split()
        rss, anon, file = (float(f) for f in figures)
        rows.append((name, rss, anon, file))
    return rows


def run_memory(redis_url: str, workdir: Path) -> Section:
    single = _measure(redis_url, workdir, 1)["worker"]
    pair = _measure(redis_url, workdir, 2)
    rows: list[tuple[str, ...]] = []
    for label, size in (
        ("workers: 1 (one process)", single),
        ("workers: 2, a worker (the larger)", pair["worker"]),
        ("workers: 2, the supervisor", pair["supervisor"]),
    ):
        rows.append(
            (
                label,
                f"{size['VmRSS']:.1f}",
                f"{size['RssAnon']:.1f}",
                f"{size['RssFile']:.1f}",
                f"{size['USS']:.1f}",
            )
        )
    for name, rss, anon, file in _imports():
        if name in ("interpreter", "total"):
            rows.append((f"  {name}", f"{rss:.1f}", f"{anon:.1f}", f"{file:.1f}", ""))
        else:
            rows.append((f"  import {name}", f"{rss:+.1f}", f"{anon:+.1f}", f"{file:+.1f}", ""))
    worker = max(single["VmRSS"], pair["worker"]["VmRSS"])
    supervisor = pair["supervisor"]["VmRSS"]
    return Section(
        "memory",
        f"memory after {HITS:,} GetOrLoad hits, near cache off (MB; imports in fresh interpreters)",
        ("process / import", "RSS", "anon", "file-backed", "USS (private)"),
        tuple(rows),
        (
            f"worker RSS {worker:.1f} MB ≤ {WORKER_BUDGET_MB:.0f} MB → "
            f"{verdict(worker <= WORKER_BUDGET_MB)}",
            f"supervisor RSS {supervisor:.1f} MB ≤ {SUPERVISOR_BUDGET_MB:.0f} MB → "
            f"{verdict(supervisor <= SUPERVISOR_BUDGET_MB)}",
        ),
        (
            "the supervisor is an exec'd interpreter with the standard library and "
            "prometheus-client only (sidecar/workers.py); a worker's floor is the imports above",
            "USS = Private_Clean + Private_Dirty (/proc/PID/smaps_rollup): what one more worker "
            "adds to the pod; file-backed pages (gRPC's core, libcrypto) are shared",
        ),
    )
