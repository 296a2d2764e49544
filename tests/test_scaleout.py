"""``workers: 3``: one `cachecar serve` supervising three processes on one port.

The kernel (SO_REUSEPORT) hands each new TCP connection to one worker, so
the tests open many separate connections (a local subchannel pool per
channel: gRPC would otherwise share one connection between channels to the
same target) and read /proc to see which worker process holds each one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from sidecar.devmode import free_port
from tests.appfixtures import FakeApp, wait_until
from tests.test_process import write_config

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; SO_REUSEPORT")

WORKERS = 3
_LISTEN, _ESTABLISHED = "0A", "01"


# -- who holds which socket (/proc) --------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            ppid = next(line for line in status.splitlines() if line.startswith("PPid:"))
            if int(ppid.split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Not yet exited (a zombie has exited: its sockets are closed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of TCP sockets whose local port is ``port``, in ``state``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    address: str
    log: Path

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])

    def listening_workers(self) -> set[int]:
        """Worker pids holding a listening socket on the port."""
        listening = _tcp_sockets(self.port, _LISTEN)
        return {pid for pid in _children(self.proc.pid) if _socket_inodes(pid) & listening}

    def connections_per_worker(self) -> Counter[int]:
        established = _tcp_sockets(self.port, _ESTABLISHED)
        return Counter(
            {pid: len(_socket_inodes(pid) & established) for pid in _children(self.proc.pid)}
        )


def _spawn(config: Path, log: Path) -> Served:
    # stderr to a file: four processes' logs must never fill a pipe nobody reads.
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    # Bounded: the supervisor gives up (and exits, closing stdout) after 30 s.
    line = proc.stdout.readline().decode()
    if not line.startswith("cachecar listening on "):
        proc.kill()
        proc.wait()
        raise AssertionError(f"sidecar did not start: {line!r}\n{log.read_text()}")
    return Served(proc, line.removeprefix("cachecar listening on ").strip(), log)


@contextlib.contextmanager
def _running(tmp_path: Path, config: dict[str, Any]) -> Iterator[Served]:
    path = write_config(tmp_path, {"listen": "127.0.0.1:0", "workers": WORKERS, **config})
    served = _spawn(path, tmp_path / "sidecar.log")
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.proc.send_signal(signal.SIGTERM)
            try:
                served.proc.wait(30)
            except subprocess.TimeoutExpired:
                served.proc.kill()
                served.proc.wait()
        assert served.proc.stdout is not None
        served.proc.stdout.close()


@contextlib.asynccontextmanager
async def _channels(
    address: str, count: int
) -> AsyncIterator[list[cache_pb2_grpc.CacheServiceStub]]:
    # A local subchannel pool per channel: its own TCP connection, so the
    # kernel picks a worker for each.
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(count)
    ]
    try:
        yield [cache_pb2_grpc.CacheServiceStub(c) for c in channels]
    finally:
        for channel in channels:
            await channel.close()


def _items(backend_url: str, **namespace: Any) -> dict[str, Any]:
    return {
        "shutdown_grace": "5s",
        "backends": {"main": backend_url},
        "namespaces": {"items": {"backend": "main", **namespace}},
    }


async def _get(
    stub: cache_pb2_grpc.CacheServiceStub, key: str, *, wait_for_ready: bool = False
) -> cache_pb2.GetOrLoadResponse:
    response: cache_pb2.GetOrLoadResponse = await stub.GetOrLoad(
        cache_pb2.GetOrLoadRequest(namespace="items", key=key),
        timeout=20,
        wait_for_ready=wait_for_ready,
    )
    return response


def _spread(served: Served) -> Counter[int]:
    per_worker = served.connections_per_worker()
    print(f"connections per worker pid: {dict(per_worker)}")
    return per_worker


# -- the tests -------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["redis", "memcached"])
async def test_one_load_for_a_cold_key_across_workers(
    backend: str, request: pytest.FixtureRequest, fake_app: FakeApp, tmp_path: Path
) -> None:
    backend_url: str = request.getfixturevalue(f"{backend}_url")
    fake_app.rows["cold"] = b"v"
    fake_app.load_delay = 0.3
    config = _items(backend_url, loader=fake_app.target, ttl="1h")
    with _running(tmp_path, config) as served:
        assert len(served.listening_workers()) == WORKERS
        async with _channels(served.address, 50) as stubs:
            results = await asyncio.gather(*(_get(stubs[i % 50], "cold") for i in range(200)))
            per_worker = _spread(served)
        assert {(r.found, r.value) for r in results} == {(True, b"v")}
        assert fake_app.loads_of("cold") == 1
        # 50 connections hashed over 3 listeners: all on one worker has odds ~3**-49.
        assert sum(1 for n in per_worker.values() if n) >= 2, per_worker


async def test_write_behind_keeps_per_key_order_across_workers(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.write_delay = 0.01
    keys, writes_per_key = [f"k{j}" for j in range(4)], 40
    config = _items(
        redis_url,
        writer=fake_app.target,
        write_behind={"partitions": 4, "flush_interval": "100ms", "batch_size": 7},
    )
    with _running(tmp_path, config) as served:
        async with _channels(served.address, 24) as stubs:

            async def enqueue_all(j: int, key: str) -> None:
                # One key's writes in order (each acknowledged before the
                # next), each on another connection, so on changing workers.
                for seq in range(writes_per_key):
                    stub = stubs[(j * writes_per_key + seq) % len(stubs)]
                    await stub.EnqueueWrite(
                        cache_pb2.EnqueueWriteRequest(
                            namespace="items", key=key, value=str(seq).encode()
                        ),
                        timeout=10,
                    )

            await asyncio.gather(*(enqueue_all(j, key) for j, key in enumerate(keys)))
            per_worker = _spread(served)
            final = {key: str(writes_per_key - 1).encode() for key in keys}
            await wait_until(lambda: fake_app.rows == final, within=30)

            async def drained() -> int:
                queue = await stubs[0].GetWriteQueue(
                    cache_pb2.GetWriteQueueRequest(namespace="items"), timeout=5
                )
                return int(queue.pending_count + queue.dead_letter_count)

            for _ in range(100):  # bounded: the last acks follow the last write
                if await drained() == 0:
                    break
                await asyncio.sleep(0.1)
            assert await drained() == 0
    assert sum(1 for n in per_worker.values() if n) >= 2, per_worker
    seen: dict[str, list[int]] = {}
    for write in fake_app.writes:
        seen.setdefault(write.key, []).append(int(write.value))
    for key, values in seen.items():
        assert values == sorted(values), f"{key} written out of order: {values}"
        assert values[-1] == writes_per_key - 1, f"{key}: the last write did not land last"
    assert set(seen) == set(keys)


async def test_sigterm_stops_every_worker_gracefully(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.load_delay = 1.0
    fake_app.rows.update({str(i): b"v%d" % i for i in range(30)})
    with _running(tmp_path, _items(redis_url, loader=fake_app.target)) as served:
        workers = served.listening_workers()
        assert len(workers) == WORKERS
        async with _channels(served.address, 30) as stubs:
            calls = [asyncio.ensure_future(_get(stubs[i], str(i))) for i in range(30)]
            await wait_until(lambda: len(fake_app.loads) == 30)
            served.proc.send_signal(signal.SIGTERM)
            results = await asyncio.gather(*calls)
        assert [r.value for r in results] == [b"v%d" % i for i in range(30)]
        assert await asyncio.to_thread(served.proc.wait, 30) == 0
        # The supervisor reaped every worker before it exited, and the port is free.
        assert not any(_alive(pid) for pid in workers)
        assert not _tcp_sockets(served.port, _LISTEN)
        log = served.log.read_text()
        assert log.count('"worker stopped"') == WORKERS, log
        assert '"exit_code": 0' in log


async def test_a_killed_worker_is_restarted_and_the_port_keeps_serving(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.rows.update({str(i): b"v%d" % i for i in range(60)})
    with _running(tmp_path, _items(redis_url, loader=fake_app.target)) as served:
        before = served.listening_workers()
        assert len(before) == WORKERS
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        await wait_until(lambda: not _alive(victim))
        # The two survivors serve meanwhile. A connection opened within a few
        # milliseconds of the death can still be hashed to the closing
        # listener and reset (measured here: up to 5 of 20); clients retry
        # UNAVAILABLE, and wait_for_ready makes gRPC reconnect the same way.
        async with _channels(served.address, 20) as stubs:
            results = await asyncio.gather(
                *(_get(stubs[i], str(i), wait_for_ready=True) for i in range(20))
            )
        assert all(r.found for r in results)
        await wait_until(lambda: len(served.listening_workers()) == WORKERS, within=30)
        (replacement,) = served.listening_workers() - before
        async with _channels(served.address, 60) as stubs:
            results = await asyncio.gather(*(_get(stubs[i], str(i)) for i in range(60)))
            per_worker = _spread(served)
        assert [r.value for r in results] == [b"v%d" % i for i in range(60)]
        # 60 connections over 3 listeners: the new worker gets none with odds ~(2/3)**60.
        assert per_worker[replacement] > 0, per_worker
        assert served.proc.poll() is None
    assert "worker exited unexpectedly" in served.log.read_text()


def test_workers_refuse_a_unix_socket(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "listen": f"unix://{tmp_path}/cachecar.sock",
            "workers": 2,
            "backends": {"main": "redis://127.0.0.1:6379/0"},
            "namespaces": {"items": {"backend": "main"}},
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "unix socket" in result.stderr


def test_sigterm_while_workers_start_is_a_clean_stop(redis_url: str, tmp_path: Path) -> None:
    # Kubernetes may stop a pod that is still starting: a worker killed by the
    # forwarded SIGTERM before it installed its handlers has stopped as asked.
    config = write_config(
        tmp_path, {"listen": "127.0.0.1:0", "workers": WORKERS, **_items(redis_url)}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        started = 0
        for line in proc.stderr:  # bounded: the supervisor exits within its start timeout
            started += b'"worker started"' in line
            if started == WORKERS:
                break
        # Every worker process exists, none has imported grpc yet (let alone
        # installed its signal handlers).
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


async def test_one_metrics_endpoint_adds_up_every_worker(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.rows.update({str(i): b"v%d" % i for i in range(30)})
    port = free_port()
    config = {**_items(redis_url, loader=fake_app.target), "metrics_listen": f"127.0.0.1:{port}"}
    calls = "cachecar_rpc_handled_total{code=OK,method=GetOrLoad,service=cachecar.v1.CacheService}"
    with _running(tmp_path, config) as served:
        async with _channels(served.address, 60) as stubs:
            # 30 misses, then 60 hits, over 60 connections spread by the kernel.
            await asyncio.gather(*(_get(stubs[i], str(i)) for i in range(30)))
            await asyncio.gather(*(_get(stubs[i], str(i % 30)) for i in range(60)))
            per_worker = _spread(served)
        assert sum(1 for n in per_worker.values() if n) >= 2, per_worker
        metrics = await asyncio.to_thread(_scrape, port)
        # One series per label set for the pod, not one per worker.
        assert metrics[calls] == 90
        assert metrics["cachecar_cache_hits_total{namespace=items}"] == 60
        assert metrics["cachecar_cache_misses_total{namespace=items}"] == 30
        assert metrics["cachecar_loads_total{namespace=items,outcome=found}"] == 30
        assert not any("pid=" in key for key in metrics), "gauges aggregated, no pid label"
        await wait_until(lambda: "cachecar_backend_up{backend=main}" in _scrape(port), within=10)
        assert _scrape(port)["cachecar_backend_up{backend=main}"] == 1
        # A worker that dies takes its connections, not the pod's totals.
        victim = min(served.listening_workers())
        os.kill(victim, signal.SIGKILL)
        await wait_until(lambda: not _alive(victim))
        assert (await asyncio.to_thread(_scrape, port))[calls] == 90


# -- the supervisor stays small -------------------------------------------------

#: Shared objects of the data plane: gRPC's core, pydantic's validator, hiredis,
#: protobuf's upb. None may be mapped into the supervisor (issue #15's budget:
#: it supervises; it need not import the data plane).
_DATA_PLANE = ("cygrpc", "_pydantic_core", "hiredis", "_message.abi3", "_yaml")


def test_the_supervisor_loads_none_of_the_data_plane(redis_url: str, tmp_path: Path) -> None:
    with _running(tmp_path, _items(redis_url)) as served:
        workers = served.listening_workers()
        assert len(workers) == WORKERS
        maps = Path(f"/proc/{served.proc.pid}/maps").read_text()
        loaded = [name for name in _DATA_PLANE if name in maps]
        # The exec kept the PID the container runtime started (and signals).
        cmdline = Path(f"/proc/{served.proc.pid}/cmdline").read_bytes().split(b"\0")
        rss = next(
            line
            for line in Path(f"/proc/{served.proc.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        )
        print(f"supervisor {rss}")
        # Each worker does load them: the check would catch a supervisor that
        # quietly became a worker.
        worker_maps = Path(f"/proc/{min(workers)}/maps").read_text()
    assert loaded == [], f"the supervisor mapped {loaded}"
    assert b"--supervise" in cmdline, cmdline
    assert all(name in worker_maps for name in ("cygrpc", "_pydantic_core"))


def test_a_sidecar_without_iam_never_imports_botocore() -> None:
    # botocore is 8 MB of RSS (74 modules): only an IAM-authenticated backend loads it.
    code = (
        "import sys, sidecar.server, sidecar.cli, sidecar.backends.redis.credentials;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'botocore'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
