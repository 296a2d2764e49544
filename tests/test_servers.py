"""Checks that the test harness itself works: the child servers start, answer,
stay isolated between tests, and survive kill/restart/pause as fault tests need.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.cluster import RedisCluster as ClusterClient
from redis.retry import Retry

from sidecar.devmode import MemcachedServer, MissingBinary, RedisServer, ServerStartError
from tests.servers import RedisCluster

# redis-py retries failed commands with backoff by default; fault checks want
# the first failure, not seconds of retries.
_NO_RETRY = Retry(NoBackoff(), 0)
_PR_SET_CHILD_SUBREAPER = 36


def _get_set(url: str, key: str, value: bytes | None) -> bytes | None:
    """GET key (and SET it to value if given) on whatever backend url names."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    old: object
    if parts.scheme == "memcached":
        mc = MemcacheClient((host, port), timeout=5)
        try:
            old = mc.get(key)
            if value is not None:
                mc.set(key, value, noreply=False)
        finally:
            mc.close()
    else:
        client: redis.Redis | ClusterClient
        if parts.scheme == "redis+cluster":
            client = ClusterClient(startup_nodes=[_node(host, port)], socket_timeout=5)
        else:
            client = redis.Redis.from_url(url, socket_timeout=5)
        with client:
            old = client.get(key)
            if value is not None:
                client.set(key, value)
    assert old is None or isinstance(old, bytes)
    return old


def _node(host: str, port: int) -> ClusterNode:
    return ClusterNode(host, port)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


def test_redis_ping_set_get(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as r:
        assert r.ping()
        r.set("k", b"v")
        assert r.get("k") == b"v"


@pytest.mark.parametrize("round_", [1, 2])
def test_backend_urls_start_empty(backend_url: str, round_: int) -> None:
    # Round 2 would see round 1's key if the fixture did not flush.
    assert _get_set(backend_url, "leak-check", b"round-%d" % round_) is None
    assert _get_set(backend_url, "leak-check", None) == b"round-%d" % round_


def test_cluster_spreads_keys(redis_cluster: RedisCluster, cluster_url: str) -> None:
    assert cluster_url.startswith("redis+cluster://127.0.0.1:")
    nodes = [_node(h, p) for h, p in redis_cluster.startup_nodes]
    with ClusterClient(startup_nodes=nodes, socket_timeout=5) as rc:
        for i in range(50):
            rc.set(f"key:{i}", i)
        assert rc.get("key:7") == b"7"
    per_node = []
    for node in redis_cluster.nodes:
        with redis.Redis(node.host, node.port) as r:
            per_node.append(r.dbsize())
    assert sum(per_node) == 50
    assert sum(1 for n in per_node if n) > 1


def test_memcached_set_get(memcached_url: str) -> None:
    parts = urlsplit(memcached_url)
    assert parts.hostname
    assert parts.port
    mc = MemcacheClient((parts.hostname, parts.port), timeout=5)
    try:
        mc.set("k", b"v", noreply=False)
        assert mc.get("k") == b"v"
    finally:
        mc.close()


def test_kill_then_restart_keeps_port(fresh_redis: RedisServer) -> None:
    port = fresh_redis.port
    with redis.Redis(fresh_redis.host, port, socket_timeout=2, retry=_NO_RETRY) as r:
        r.set("k", b"v")
        fresh_redis.kill()
        assert not fresh_redis.running
        with pytest.raises(redis.ConnectionError):
            r.ping()
        fresh_redis.restart()
        assert fresh_redis.port == port
        assert fresh_redis.url == f"redis://127.0.0.1:{port}/0"
        assert r.ping()
        # No RDB, no AOF: a crash loses everything, which is what fault tests want.
        assert r.get("k") is None


def test_memcached_kill_then_restart(fresh_memcached: MemcachedServer) -> None:
    port = fresh_memcached.port
    fresh_memcached.kill()
    fresh_memcached.restart()
    assert fresh_memcached.running
    assert fresh_memcached.port == port
    assert _get_set(fresh_memcached.url, "k", b"v") is None


def test_pause_resume(fresh_redis: RedisServer) -> None:
    with redis.Redis(fresh_redis.host, fresh_redis.port, socket_timeout=0.3, retry=_NO_RETRY) as r:
        assert r.ping()
        fresh_redis.pause()
        with pytest.raises(redis.TimeoutError):
            r.ping()
        fresh_redis.resume()
    with redis.Redis(fresh_redis.host, fresh_redis.port, socket_timeout=2) as r:
        assert r.ping()


def test_context_manager_cleans_up() -> None:
    with RedisServer() as server:
        assert server.running
        workdir = server.workdir
        assert workdir.is_dir()
    assert not server.running
    assert not workdir.exists()


def test_missing_binary_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    server = RedisServer()
    try:
        with pytest.raises(MissingBinary, match="apt-get install redis-server"):
            server.start()
    finally:
        server.close()


def test_start_failure_shows_log_tail() -> None:
    server = RedisServer(extra_args=["--no-such-directive", "x"])
    try:
        with pytest.raises(ServerStartError, match="Bad directive"):
            server.start()
        assert not server.running
    finally:
        server.close()


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_with_their_parent() -> None:
    # A parent killed with SIGKILL runs no cleanup; only PDEATHSIG saves us.
    # Becoming a subreaper lets this test adopt and reap the orphan, so it can
    # tell "died" from "still running" and leaves no zombie behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    script = (
        "from sidecar.devmode import RedisServer\n"
        "server = RedisServer().start()\n"
        "print(server.pid, server.workdir, flush=True)\n"
        "input()\n"
    )
    child_pid = 0
    workdir = ""
    reaped = False
    try:
        with subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as parent:
            assert parent.stdout is not None
            pid, workdir = parent.stdout.readline().split(maxsplit=1)
            child_pid = int(pid)
            parent.kill()
        deadline = time.monotonic() + 5
        while not reaped and time.monotonic() < deadline:
            reaped = os.waitpid(child_pid, os.WNOHANG)[0] == child_pid
            time.sleep(0.02)
        assert reaped, "redis-server outlived its SIGKILLed parent"
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if child_pid and not reaped:
            os.kill(child_pid, signal.SIGKILL)
            os.waitpid(child_pid, 0)
        # The SIGKILLed parent never ran its cleanup.
        if workdir:
            shutil.rmtree(workdir.strip(), ignore_errors=True)
