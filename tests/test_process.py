"""Process-level tests: `cachecar serve` as a real child process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.devmode import free_port
from tests.appfixtures import FakeApp, wait_until


def spawn_sidecar(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m sidecar ARGS`; (process, address) once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("cachecar listening on "):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"sidecar did not start: {line!r}\n{err}")
    return proc, line.removeprefix("cachecar listening on ").strip()


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "cachecar.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_sigterm_completes_calls_in_flight(
    redis_url: str, fake_app: FakeApp, tmp_path: Path
) -> None:
    fake_app.load_delay = 1.0
    fake_app.rows.update({str(i): b"v%d" % i for i in range(20)})
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main", "loader": fake_app.target}},
        },
    )
    proc, address = spawn_sidecar(["serve", "--config", str(config)])
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            calls = [
                asyncio.ensure_future(
                    cache.GetOrLoad(
                        cache_pb2.GetOrLoadRequest(namespace="items", key=str(i)), timeout=10
                    )
                )
                for i in range(20)
            ]
            await wait_until(lambda: len(fake_app.loads) == 20)
            proc.send_signal(signal.SIGTERM)
            results = await asyncio.gather(*calls)
        assert [r.value for r in results] == [b"v%d" % i for i in range(20)]
        assert await asyncio.to_thread(proc.wait, 15) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_dev_mode_serves_and_cleans_up(tmp_path: Path) -> None:
    port = free_port()
    proc, address = spawn_sidecar(["serve"], {"CACHECAR_LISTEN": f"127.0.0.1:{port}"})
    try:
        probe = subprocess.run(
            [sys.executable, "-m", "sidecar", "probe", "--target", address],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
        assert "SERVING" in probe.stdout
        for backend in ("redis", "memcached"):
            probe = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sidecar",
                    "probe",
                    "--target",
                    address,
                    "--service",
                    f"cachecar.backend.{backend}",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert probe.returncode == 0, probe.stderr
        with grpc.insecure_channel(address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            cache.Set(cache_pb2.SetRequest(namespace="products-mc", key="k", value=b"v"))
            assert cache.Get(cache_pb2.GetRequest(namespace="products-mc", key="k")).found
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "development mode" in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    announced = next(line for line in lines if "development mode" in line["event"])
    for url in (announced["redis"], announced["memcached"]):  # the children died with it
        child_port = int(url.split(":")[-1].split("/")[0])
        assert not _port_open(child_port), url


def test_probe_fails_when_nothing_listens() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-m",
            "sidecar",
            "probe",
            "--target",
            f"127.0.0.1:{free_port()}",
            "--timeout",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert probe.returncode == 1
    assert "UNAVAILABLE" in probe.stderr or "DEADLINE_EXCEEDED" in probe.stderr


def test_bad_config_exits_with_the_field(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"backends": {}, "namespaces": {"a": {"backend": "x"}}})
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "namespaces.a.backend" in result.stderr


@pytest.mark.parametrize("missing", ["redis-server", "memcached"])
def test_dev_mode_without_binaries_says_how_to_install(tmp_path: Path, missing: str) -> None:
    # A PATH holding only the other server's binary.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    other = "memcached" if missing == "redis-server" else "redis-server"
    found = subprocess.run(["which", other], capture_output=True, text=True, check=True)
    (bindir / other).symlink_to(found.stdout.strip())
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve"],
        env={**os.environ, "PATH": str(bindir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert missing in result.stderr
    assert "apt-get install" in result.stderr
