"""Shared pytest fixtures: real redis-server, Redis Cluster and memcached children.

Servers are session-scoped so the suite pays their startup once; the
``*_url`` fixtures flush them before every test so no data leaks between
tests. Fault tests take ``fresh_redis`` / ``fresh_memcached``, private
servers they may kill, restart or pause. A server that cannot start fails
the test with its log tail: a missing server is a broken setup, not a skip.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient

from sidecar.devmode import (
    ChildServer,
    MemcachedServer,
    MissingBinary,
    RedisServer,
    ServerStartError,
)
from tests.servers import RedisCluster

# The fake app and the in-process sidecar (fixtures shared by every test module).
# Secret scan: nothing a test registers as secret may appear in any log line of the run.
pytest_plugins = ["tests.appfixtures", "tests.secretscan"]


class _Startable(Protocol):
    def start(self) -> object: ...
    def close(self) -> None: ...


_S = TypeVar("_S", bound=_Startable)


@contextmanager
def _running(server: _S) -> Iterator[_S]:
    try:
        server.start()
    except (MissingBinary, ServerStartError) as exc:
        problem = f"could not start {type(server).__name__}: {exc}"
    else:
        problem = ""
    if problem:
        # Outside the except block so the report is not a chained traceback.
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        if isinstance(server, MemcachedServer):
            # memcached acts on SIGTERM only at its next clock tick (up to 1s)
            # and has nothing to save, so a throwaway one is simply killed.
            server.kill()
        server.close()


# -- session servers ----------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with _running(RedisServer()) as server:
        yield server


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[MemcachedServer]:
    with _running(MemcachedServer()) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    with _running(RedisCluster(masters=3)) as cluster:
        yield cluster


# -- flushed URLs -------------------------------------------------------------


def _flush_redis(server: RedisServer) -> None:
    with redis.Redis(server.host, server.port, socket_timeout=5) as client:
        client.flushall()


def _flush_memcached(server: MemcachedServer) -> None:
    client = MemcacheClient((server.host, server.port), connect_timeout=5, timeout=5)
    try:
        client.flush_all(noreply=False)
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    _flush_redis(redis_server)
    return redis_server.url


@pytest.fixture
def memcached_url(memcached_server: MemcachedServer) -> str:
    _flush_memcached(memcached_server)
    return memcached_server.url


@pytest.fixture
def cluster_url(redis_cluster: RedisCluster) -> str:
    # Replicas reject FLUSHALL and follow their master anyway.
    for node in redis_cluster.master_nodes():
        _flush_redis(node)
    return redis_cluster.url


@pytest.fixture(params=["redis", "cluster", "memcached"], ids=["redis", "cluster", "memcached"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """The flushed URL of each backend kind, for contract suites written once."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(params=["redis", "cluster"])
def queue_url(request: pytest.FixtureRequest) -> str:
    """Both backends with a durable queue (write-behind), flushed."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


# -- private servers for fault tests ------------------------------------------


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    with _running(RedisServer()) as server:
        yield server


@pytest.fixture
def fresh_memcached() -> Iterator[MemcachedServer]:
    with _running(MemcachedServer()) as server:
        yield server


# -- server logs in failure reports --------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            servers = value.nodes if isinstance(value, RedisCluster) else [value]
            for server in servers:
                if isinstance(server, ChildServer):
                    report.sections.append(
                        (f"{name} {server.host}:{server.port} log", server.log_tail())
                    )
    return report
