"""Drives the Node.js load generator (``bench/node/loadgen.js``).

The generator prints ``window-start`` / ``window-end`` lines; the server CPU
is sampled the moment each is read, so the figures cover exactly the window
the generator counted calls in. A watchdog kills the generator if it
overruns its own bounded schedule.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.measure import CpuWatch, Measured
from bench.procs import REPO, ChildFailed, clean_env, spawn

__all__ = ["NODE_DIR", "ensure_node_modules", "node_versions", "run_loadgen"]

NODE_DIR = REPO / "bench" / "node"
PROTO_ROOT = REPO / "protos"


def ensure_node_modules() -> None:
    """Install the generator's pinned packages (``npm ci``) if they are missing."""
    if (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ChildFailed("the benchmark's load generator needs Node.js 18+ and npm on PATH")
    print("bench: installing the load generator's packages (npm ci) ...", flush=True)
    # npm ci installs exactly package-lock.json; bounded like everything else.
    subprocess.run(  # noqa: S603
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        check=True,
        timeout=300,
    )


def node_versions() -> str:
    """``node vX, @grpc/grpc-js Y`` for the machine line."""
    node = shutil.which("node")
    version = "?"
    if node is not None:
        out = subprocess.run(  # noqa: S603
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        version = out.stdout.strip()
    package = NODE_DIR / "node_modules" / "@grpc" / "grpc-js" / "package.json"
    try:
        grpc_js = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        grpc_js = "?"
    return f"node {version}, @grpc/grpc-js {grpc_js}"


def run_loadgen(
    target: str,
    method: str,
    *,
    requests: Sequence[Mapping[str, Any]] = (),
    concurrency: int,
    warmup: float,
    duration: float,
    watch: Mapping[str, int],
    logdir: Path,
    check_hits: bool = False,
) -> Measured:
    """Run one fixed-duration load; ``watch`` names the pids whose CPU to measure."""
    argv = [
        "node",
        str(NODE_DIR / "loadgen.js"),
        "--target", target,
        "--method", method,
        "--concurrency", str(concurrency),
        "--warmup", str(warmup),
        "--duration", str(duration),
        "--proto-root", str(PROTO_ROOT),
        "--proto", "cachecar/v1/cache.proto",
    ]  # fmt: skip
    if requests:
        path = logdir / "requests.json"
        path.write_text(json.dumps(list(requests)))
        argv += ["--requests", f"@{path}"]
    if check_hits:
        argv += ["--check", "hit"]
    cpu = CpuWatch(watch)
    events: dict[str, Any] = {}
    with (logdir / "loadgen.err").open("ab") as err:
        proc = spawn(argv, env=_node_env(), stdout=subprocess.PIPE, stderr=err, cwd=NODE_DIR)
    # Warm-up + window + the generator's own drain limit (11 s) + start-up.
    watchdog = threading.Timer(warmup + duration + 20.0, proc.kill)
    try:
        watchdog.start()
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = json.loads(raw)
            event = line.get("event")
            if event == "window-start":
                cpu.start()
            elif event == "window-end":
                cpu.stop()
            elif event == "result":
                events = line
        proc.wait(timeout=5)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if not events or not cpu.machine_us:
        tail = (logdir / "loadgen.err").read_text(errors="replace")[-2000:]
        raise ChildFailed(f"load generator gave no result (exit {proc.returncode}):\n{tail}")
    return Measured(
        concurrency=concurrency,
        window_s=float(events["window_s"]),
        calls=int(events["calls"]),
        errors=int(events["errors"]),
        p50_us=events["p50_us"],
        p99_us=events["p99_us"],
        client_cores=float(events["client_cores"]),
        server_cpu_us=cpu.spent_us,
        check_failures=int(events["check_failures"]),
        first_error=events["first_error"],
        total_calls=int(events["total_calls"]),
        machine_busy_us=cpu.machine_us,
    )


def _node_env() -> dict[str, str]:
    # No proxy for loopback targets, whatever the shell says.
    return clean_env({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
