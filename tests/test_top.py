"""``cachecar top`` in a real terminal: tmux runs it against a real sidecar with traffic.

The sidecar is a child process (``cachecar serve``) on a real Redis; a thread
calls it (Set once, then GetOrLoad hits and misses of an unloadable key) until
the test ends. tmux gives ``cachecar top`` a terminal; the test reads the
pane as a person would see it, then presses ``q``. tmux comes from Debian's
package (scripts/setup.sh installs it). The arithmetic behind the view
(rates, hit ratio, quantiles) is checked directly in the second half.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.devmode import free_port
from sidecar.ops.top import targets
from sidecar.ops.topview import Snapshot, quantile, view
from tests.test_process import spawn_sidecar, write_config

#: Every wait below is bounded by this many seconds.
WAIT = 30.0


def _tmux() -> list[str]:
    tool = shutil.which("tmux")
    assert tool, "tmux is missing: scripts/setup.sh installs it (apt-get install tmux)"
    # A private server socket: nothing of the user's tmux is touched.
    return [tool, "-L", f"cachecar-test-{uuid.uuid4().hex[:8]}", "-f", os.devnull]


@pytest.fixture
def sidecar(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "metrics_listen": f"127.0.0.1:{port}",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main", "ttl": "1h"}},
        },
    )
    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    try:
        yield address, port
    finally:
        proc.terminate()
        proc.communicate(timeout=WAIT)


@pytest.fixture
def traffic(sidecar: tuple[str, int]) -> Iterator[None]:
    address, _ = sidecar
    stop = threading.Event()

    def run() -> None:
        with grpc.insecure_channel(address) as channel:
            stub = cache_pb2_grpc.CacheServiceStub(channel)
            stub.Set(cache_pb2.SetRequest(namespace="items", key="hot", value=b"v"), timeout=5)
            deadline = time.monotonic() + WAIT * 2
            for i in range(200_000):  # bounded in count and in time
                if stop.is_set() or time.monotonic() > deadline:
                    return
                key = "hot" if i % 4 else "cold"  # no loader: a cold read fails
                with contextlib.suppress(grpc.RpcError):
                    stub.GetOrLoad(
                        cache_pb2.GetOrLoadRequest(namespace="items", key=key), timeout=5
                    )
                time.sleep(0.002)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=WAIT)


def _pane(tmux: list[str]) -> str:
    result = subprocess.run(
        [*tmux, "capture-pane", "-p", "-t", "top"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("traffic")
def test_top_in_tmux_shows_a_live_sidecar(sidecar: tuple[str, int]) -> None:
    _, port = sidecar
    tmux = _tmux()
    command = f"{sys.executable} -m sidecar top --target 127.0.0.1:{port}"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "top", "-x", "110", "-y", "45", command],
        check=True,
        timeout=10,
    )
    try:
        screen = ""
        deadline = time.monotonic() + WAIT
        # Until a refresh has rates in it (the first frame shows totals).
        while time.monotonic() < deadline:
            screen = _pane(tmux)
            if "(last " in screen and "items" in screen and "GetOrLoad" in screen:
                break
            time.sleep(0.2)
        assert "cachecar top" in screen, screen
        assert f"127.0.0.1:{port}/metrics" in screen, screen
        lines = screen.splitlines()
        (method,) = [line for line in lines if "GetOrLoad" in line]
        assert "ms" in method, method  # p50 / p99 of a method that is being called
        (namespace,) = [line for line in lines if "items" in line]
        assert "%" in namespace, namespace  # its hit ratio
        (backend,) = [line for line in lines if line.strip("│ ").startswith("main")]
        assert "yes" in backend, backend  # up
        summary = next(line for line in lines if line.startswith("calls/s"))
        assert not summary.startswith("calls/s 0 "), summary
        assert "errors/s 0 " not in summary, summary  # the cold reads fail
        # `q` quits: the session ends with the program.
        subprocess.run([*tmux, "send-keys", "-t", "top", "q"], check=True, timeout=10)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            alive = subprocess.run(
                [*tmux, "has-session", "-t", "top"], capture_output=True, timeout=10, check=False
            )
            if alive.returncode != 0:
                break
            time.sleep(0.1)
        assert alive.returncode != 0, "cachecar top did not quit on q:\n" + _pane(tmux)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10, check=False)


def test_once_without_a_sidecar_says_so() -> None:
    port = free_port()
    args = ["top", "--once", "--interval", "0.1", "--target", f"127.0.0.1:{port}"]
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", *args],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"cachecar top: http://127.0.0.1:{port}/metrics: ")
    assert result.stderr.count("\n") == 1, "one line, no traceback"


@pytest.mark.parametrize(
    ("target", "workers", "message"),
    [("nonsense", 1, "give host:port"), ("127.0.0.1:9464", 0, "--workers must be 1")],
)
def test_bad_targets_are_refused(target: str, workers: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        targets(target, workers)


def test_targets_cover_every_worker() -> None:
    assert targets("10.0.0.5:9464", 3) == [
        "http://10.0.0.5:9464/metrics",
        "http://10.0.0.5:9465/metrics",
        "http://10.0.0.5:9466/metrics",
    ]


# -- the arithmetic -----------------------------------------------------------


def _snapshot(at: float, samples: dict[str, float]) -> Snapshot:
    snap = Snapshot(at)
    for key, value in samples.items():
        name, _, rest = key.partition("{")
        labels = dict(pair.split("=") for pair in rest.rstrip("}").split(",") if pair)
        snap.add(name, labels, value)
    return snap


def test_rates_ratios_and_quantiles_over_one_interval() -> None:
    before = _snapshot(
        10.0,
        {
            "cachecar_rpc_handled_total{method=GetOrLoad,code=OK}": 100,
            "cachecar_rpc_handled_total{method=GetOrLoad,code=NOT_FOUND}": 10,
            "cachecar_cache_hits_total{namespace=items}": 50,
            "cachecar_cache_misses_total{namespace=items}": 50,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=0.001}": 100,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=0.01}": 110,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=+Inf}": 110,
        },
    )
    now = _snapshot(
        12.0,
        {
            "cachecar_rpc_handled_total{method=GetOrLoad,code=OK}": 280,
            "cachecar_rpc_handled_total{method=GetOrLoad,code=NOT_FOUND}": 30,
            "cachecar_cache_hits_total{namespace=items}": 230,
            "cachecar_cache_misses_total{namespace=items}": 70,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=0.001}": 200,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=0.01}": 310,
            "cachecar_rpc_duration_seconds_bucket{method=GetOrLoad,le=+Inf}": 310,
        },
    )
    frame = view(now, before)
    assert frame.calls == pytest.approx(100.0)  # 200 calls in 2 s
    assert frame.errors == pytest.approx(10.0)
    (ns,) = frame.namespaces
    assert ns.figures["hit ratio"] == pytest.approx(0.9)  # 180 of 200 reads in the interval
    # 100 of 200 calls in the interval took <= 1 ms, the rest <= 10 ms.
    assert frame.p50 == pytest.approx(0.001)
    assert frame.p99 == pytest.approx(0.001 + 0.009 * 98 / 100)


def test_two_workers_are_summed_and_a_restart_is_not_negative() -> None:
    snap = Snapshot(1.0)
    snap.add("cachecar_rpc_handled_total", {"method": "Get", "code": "OK"}, 5)
    snap.add("cachecar_rpc_handled_total", {"method": "Get", "code": "OK"}, 7)
    snap.add("cachecar_writebehind_pending", {"namespace": "w"}, 3)
    snap.add("cachecar_writebehind_pending", {"namespace": "w"}, 3)
    frame = view(snap, None)
    assert frame.calls == 12
    assert frame.namespaces[0].figures["wb pending"] == 3  # one shared queue, not 6
    later = Snapshot(2.0)
    later.add("cachecar_rpc_handled_total", {"method": "Get", "code": "OK"}, 2)  # restarted
    assert view(later, snap).calls == pytest.approx(2.0)


def test_quantile_edges() -> None:
    assert quantile(0.5, {}) is None
    assert quantile(0.5, {1.0: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.99, {0.1: 1.0, float("inf"): 100.0}) == 0.1  # past the last bound
