"""Test-only server topologies built from devmode children: a real Redis Cluster.

Standalone redis-server and memcached come straight from ``sidecar.devmode``;
a cluster is only ever needed by tests, so it lives here rather than in the
shipped package.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import pytest
import redis

from sidecar.devmode import (
    MissingBinary,
    RedisServer,
    ServerStartError,
    free_port,
    require_binary,
)

__all__ = ["RedisCluster", "replicated_cluster"]

# Every cluster node also listens on its cluster bus, at port + 10000.
_BUS_OFFSET = 10000


def _free_cluster_port(host: str) -> int:
    """A free port whose cluster-bus twin (port + 10000) is free as well."""
    for _ in range(100):
        port = free_port(host)
        if port + _BUS_OFFSET > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port + _BUS_OFFSET))
            except OSError:
                continue
        return port
    raise ServerStartError(f"no port pair (p, p + {_BUS_OFFSET}) free on {host}")


class RedisCluster:
    """``masters`` x (1 + ``replicas``) redis-server children joined into one cluster."""

    def __init__(
        self,
        masters: int = 3,
        replicas: int = 0,
        *,
        host: str = "127.0.0.1",
        node_timeout_ms: int = 2000,
        ready_timeout: float = 30.0,
    ) -> None:
        if masters < 3:
            # redis-cli --cluster create refuses fewer than three masters.
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self.masters = masters
        self.replicas = replicas
        self.host = host
        self.node_timeout_ms = node_timeout_ms
        self.ready_timeout = ready_timeout
        self._nodes: list[RedisServer] = []

    @property
    def nodes(self) -> list[RedisServer]:
        return list(self._nodes)

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(n.host, n.port) for n in self._nodes]

    @property
    def url(self) -> str:
        first = self._nodes[0]
        return f"redis+cluster://{first.host}:{first.port}"

    def master_nodes(self) -> list[RedisServer]:
        """Running nodes that are masters right now (roles move on failover)."""
        found = []
        for node in self._nodes:
            if not node.running:
                continue
            with redis.Redis(node.host, node.port, socket_timeout=2, decode_responses=True) as r:
                if r.execute_command("ROLE")[0] == "master":
                    found.append(node)
        return found

    def wait_healthy(self, timeout: float = 30.0) -> float:
        """Block until every running node says cluster_state:ok, every slot is
        served by a running master (after a master dies: its replica was promoted
        and everyone agrees) and every replica's link to its master is up.
        Returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        problem = "not checked"
        while time.monotonic() < deadline:
            problem = self._unhealthy()
            if not problem:
                return time.monotonic() - started
            time.sleep(0.05)
        raise ServerStartError(f"cluster not healthy within {timeout}s: {problem}")

    def _unhealthy(self) -> str:
        running = {(n.host, n.port) for n in self._nodes if n.running}
        for host, port in sorted(running):
            try:
                with redis.Redis(host, port, socket_timeout=2, decode_responses=True) as r:
                    info = r.cluster("INFO")
                    slots = r.execute_command("CLUSTER SLOTS")
                    replication = r.info("replication")
            except (redis.RedisError, OSError) as exc:
                return f"{host}:{port}: {exc}"
            if info.get("cluster_state") != "ok":
                return f"{host}:{port}: cluster_state {info.get('cluster_state')}"
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                # A replica that never finished its first sync cannot be promoted.
                return f"{host}:{port}: replica link {replication.get('master_link_status')}"
            served = 0
            for start, end, master, *_ in slots:
                if (str(master[0]), int(master[1])) not in running:
                    return f"{host}:{port}: slots {start}-{end} still on dead {master[:2]}"
                served += int(end) - int(start) + 1
            if served != 16384:
                return f"{host}:{port}: {served} of 16384 slots served"
        return ""

    def start(self) -> Self:
        # Debian ships redis-cli in redis-tools, which redis-server depends on.
        cli = require_binary("redis-cli", "redis-tools")
        try:
            for _ in range(self.masters * (1 + self.replicas)):
                port = _free_cluster_port(self.host)
                node = RedisServer(
                    port,
                    host=self.host,
                    extra_args=[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{port}.conf",
                        "--cluster-node-timeout",
                        str(self.node_timeout_ms),
                    ],
                )
                self._nodes.append(node)
                node.start()
            self._create(cli)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self._nodes:
            node.close()
        self._nodes = []

    def close(self) -> None:
        """Same as stop(): every node's workdir goes with it."""
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _create(self, cli: str) -> None:
        cmd = [
            cli,
            "--cluster",
            "create",
            *(f"{host}:{port}" for host, port in self.startup_nodes),
            "--cluster-replicas",
            str(self.replicas),
            "--cluster-yes",
        ]
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=self.ready_timeout,
            check=False,
        )
        if done.returncode != 0:
            raise ServerStartError(
                f"redis-cli --cluster create failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )

    def _wait_ready(self) -> None:
        # redis-cli returns once slots are assigned, but other nodes may not
        # have gossiped their way to cluster_state:ok yet.
        deadline = time.monotonic() + self.ready_timeout
        pending = list(self._nodes)
        info: dict[str, object] = {}
        while pending and time.monotonic() < deadline:
            node = pending[0]
            with redis.Redis(node.host, node.port, socket_timeout=2, decode_responses=True) as r:
                info = r.cluster("INFO")
            if info.get("cluster_state") == "ok" and int(
                str(info.get("cluster_known_nodes"))
            ) == len(self._nodes):
                pending.pop(0)
            else:
                time.sleep(0.05)
        if pending:
            node = pending[0]
            raise ServerStartError(
                f"cluster node {node.host}:{node.port} not ready within "
                f"{self.ready_timeout}s; CLUSTER INFO: {info}\nlog:\n{node.log_tail()}"
            )


@contextmanager
def replicated_cluster(node_timeout_ms: int = 2000) -> Iterator[RedisCluster]:
    """A private 3 masters x 1 replica cluster, healthy and synced, for one test
    module (the session-wide one has no replicas)."""
    cluster = RedisCluster(masters=3, replicas=1, node_timeout_ms=node_timeout_ms)
    try:
        cluster.start()
        cluster.wait_healthy(30.0)  # replicas synced: only then can one be promoted
    except (MissingBinary, ServerStartError) as exc:
        cluster.close()
        pytest.fail(f"could not start a 3x2 Redis Cluster: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.close()
