"""Backends over TLS, with Redis ACL users: real servers, certificates made per run.

Redis listens on a TLS port only (``--port 0``), its default user is off, and
cachecar logs in as an ACL user confined to the ``cc:*`` keys and channels
and to the command list documented in docs/kubernetes.md (``ACL_RULES``).
Every pattern goes through the sidecar: the RESP fast path (GET/MGET),
redis-py's pool (scripts, streams, sorted sets), the subscriber connection
and the write-behind flusher all have to dial TLS and log in, and the
server's ACL LOG must show no denial afterwards. Memcached runs with ``-Z``.

Failures must be quick and say what to fix: a wrong CA, a missing client
certificate, a wrong password, an unknown user; the password itself never
appears in an error or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import (
    cache_pb2,
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymemcache.client.base import Client as MemcacheClient

from sidecar.config import ConfigError, settings_from_mapping
from sidecar.devmode import ServerStartError
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp, error_info
from tests.pubsubhelpers import publish, subscribe
from tests.secretscan import remember_secret
from tests.tlsservers import Certificates, TlsMemcachedServer, TlsRedisCluster, TlsRedisServer

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
BACKEND_HEALTH = "cachecar.backend.main"

#: The least an ACL user needs for every cachecar pattern (documented in
#: docs/kubernetes.md under "TLS and ACLs"; keep the two in step). Commands run
#: inside cachecar's Lua scripts are checked against it too.
ACL_RULES = (
    "~cc:* &cc:* -@all +@read +@write +@pubsub +@connection -@dangerous "
    "+eval +evalsha +script|load +time +info +cluster|slots +cluster|shards"
)
USER = "cachecar"
#: Random per run, so "never in a message" cannot pass by luck.
PASSWORD = secrets.token_urlsafe(24)
remember_secret(PASSWORD)  # the whole run's log lines are scanned for it


# -- servers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates.create(tmp_path_factory.mktemp("pki"))


def _start(server: TlsRedisServer | TlsMemcachedServer) -> None:
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001  (reported as a setup failure, not a traceback)
        pytest.fail(f"could not start {type(server).__name__}: {exc}", pytrace=False)


@pytest.fixture(scope="module", params=["tls", "mtls"])
def tls_redis_server(
    request: pytest.FixtureRequest, certs: Certificates
) -> Iterator[TlsRedisServer]:
    """A TLS-only Redis; ``mtls`` also demands a client certificate."""
    server = TlsRedisServer(
        certs,
        require_client_cert=request.param == "mtls",
        users=[f"{USER} on >{PASSWORD} {ACL_RULES}"],
    )
    _start(server)
    yield server
    server.close()


@pytest.fixture
def tls_redis(tls_redis_server: TlsRedisServer) -> TlsRedisServer:
    with redis.Redis(**tls_redis_server.admin_options()) as admin:  # type: ignore[arg-type]
        admin.flushall()
        admin.acl_log_reset()
    return tls_redis_server


def _acl_denials(server: TlsRedisServer) -> list[dict[str, Any]]:
    with redis.Redis(**server.admin_options(), decode_responses=True) as admin:  # type: ignore[arg-type]
        log: list[dict[str, Any]] = admin.acl_log()
        return log


@pytest.fixture(scope="module", params=["tls", "mtls"])
def tls_memcached(
    request: pytest.FixtureRequest, certs: Certificates
) -> Iterator[TlsMemcachedServer]:
    server = TlsMemcachedServer(certs, require_client_cert=request.param == "mtls")
    _start(server)
    yield server
    # memcached acts on SIGTERM only at its next clock tick and has nothing to save.
    server.kill()
    server.close()


# -- an in-process sidecar on one configured backend -----------------------------


@dataclass
class Running:
    sidecar: Sidecar
    channel: grpc.aio.Channel

    @property
    def cache(self) -> cache_pb2_grpc.CacheServiceStub:
        return cache_pb2_grpc.CacheServiceStub(self.channel)

    @property
    def sessions(self) -> session_pb2_grpc.SessionServiceStub:
        return session_pb2_grpc.SessionServiceStub(self.channel)

    @property
    def boards(self) -> leaderboard_pb2_grpc.LeaderboardServiceStub:
        return leaderboard_pb2_grpc.LeaderboardServiceStub(self.channel)

    async def health(self, service: str = BACKEND_HEALTH) -> int:
        stub = health_pb2_grpc.HealthStub(self.channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(reply.status)


Start = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_sidecar(fake_app: FakeApp) -> AsyncIterator[Start]:
    """``await start_sidecar(backend={...}, key_prefix=...)``: namespaces ``items``
    (loader + writer), ``queue`` (write-behind) on backend ``main``."""
    started: list[Running] = []

    async def start(backend: dict[str, Any], *, redis_only: bool = True, **top: Any) -> Running:
        app = {"loader": fake_app.target, "writer": fake_app.target}
        namespaces: dict[str, Any] = {"items": {"backend": "main", "ttl": "1h", **app}}
        if redis_only:
            namespaces["queue"] = {
                "backend": "main",
                **app,
                "write_behind": {"flush_interval": "50ms", "retry_backoff": "10ms"},
            }
        settings = settings_from_mapping(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": backend},
                "namespaces": namespaces,
                **top,
            }
        )
        sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=0.2)
        await sidecar.start()
        running = Running(sidecar, grpc.aio.insecure_channel(sidecar.address))
        started.append(running)
        return running

    yield start
    for running in started:
        await running.channel.close()
        await running.sidecar.stop(grace=1.0)


def _redis_backend(
    server: TlsRedisServer, *, password_file: Path, **overrides: Any
) -> dict[str, Any]:
    backend: dict[str, Any] = {
        "url": server.url,
        "username": USER,
        "password_file": str(password_file),
        "tls_ca_file": str(server.certs.ca),
        "timeout": "2s",
        "connect_timeout": "2s",
    }
    if server.require_client_cert:
        backend["tls_cert_file"] = str(server.certs.client_cert)
        backend["tls_key_file"] = str(server.certs.client_key)
    backend.update(overrides)
    return {k: v for k, v in backend.items() if v is not None}


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "redis-password"
    path.write_text(PASSWORD + "\n")  # a trailing newline, as `echo` or a Secret mount leaves
    return path


async def _wait_health(running: Running, want: int, within: float = 10.0) -> None:
    for _ in range(int(within / 0.1)):
        if await running.health() == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{BACKEND_HEALTH} never became {want}")


async def _failed_get(running: Running) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await running.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"), timeout=10)
    return failed.value


# -- Redis: every pattern over TLS as a restricted ACL user ---------------------


async def test_every_pattern_over_tls_as_an_acl_user(
    tls_redis: TlsRedisServer,
    start_sidecar: Start,
    fake_app: FakeApp,
    password_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sc = await start_sidecar(_redis_backend(tls_redis, password_file=password_file))
    assert await sc.health() == SERVING
    await _exercise_every_pattern(sc, fake_app)
    # The hand-written RESP connection (GET/MGET) was used and is up, over TLS:
    # the server has no plaintext port and no anonymous user.
    fast = sc.sidecar.backends["main"]._fast  # type: ignore[attr-defined]
    assert any(conn is not None and not conn.closed for conn in fast._slots)

    # The ACL above was enough for all of it, and nothing reached outside cc:*.
    assert _acl_denials(tls_redis) == []
    with redis.Redis(**tls_redis.admin_options()) as admin:  # type: ignore[arg-type]
        assert all(key.startswith(b"cc:") for key in admin.scan_iter())
    assert PASSWORD not in caplog.text


async def _exercise_every_pattern(sc: Running, fake_app: FakeApp) -> None:
    """One call of each pattern through the sidecar, each checked."""
    cache = sc.cache

    # Cache-aside: a miss loads once, then the GET fast path answers.
    fake_app.rows["p1"] = b"tea"
    first = await cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p1"))
    again = await cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p1"))
    assert (first.value, first.source) == (b"tea", cache_pb2.SOURCE_LOADER)
    assert (again.value, again.source) == (b"tea", cache_pb2.SOURCE_CACHE)
    assert fake_app.loads_of("p1") == 1

    # Plain cache: Set / Get / GetOrLoadMany (MGET) / Invalidate.
    await cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"))
    got = await cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
    assert (got.found, got.value) == (True, b"v")
    many = await cache.GetOrLoadMany(
        cache_pb2.GetOrLoadManyRequest(namespace="items", keys=["k", "p1"])
    )
    assert [r.value for r in many.results] == [b"v", b"tea"]
    await cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=["k"]))
    assert not (await cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))).found

    # Write-through.
    await cache.WriteThrough(cache_pb2.WriteThroughRequest(namespace="items", key="w", value=b"1"))
    assert fake_app.rows["w"] == b"1"

    # Sessions: create, read, revoke every session of the subject.
    created = await sc.sessions.CreateSession(
        session_pb2.CreateSessionRequest(namespace="items", subject="ann", data={"r": b"admin"})
    )
    read = await sc.sessions.GetSession(
        session_pb2.GetSessionRequest(namespace="items", session_id=created.session_id)
    )
    assert read.data["r"] == b"admin"
    revoked = await sc.sessions.DeleteSubjectSessions(
        session_pb2.DeleteSubjectSessionsRequest(namespace="items", subject="ann")
    )
    assert revoked.deleted_count == 1

    # Leaderboards and counters.
    await sc.boards.AddScore(
        leaderboard_pb2.AddScoreRequest(namespace="items", board="b", member="ann", score=120)
    )
    top = await sc.boards.GetTop(leaderboard_pb2.GetTopRequest(namespace="items", board="b"))
    assert [(e.member, e.score) for e in top.entries] == [("ann", 120.0)]
    counted = await sc.boards.IncrementCounter(
        leaderboard_pb2.IncrementCounterRequest(namespace="items", counter="hits", delta=2)
    )
    assert counted.value == 2

    # Pub/sub on the dedicated subscriber connection.
    subscriber = await subscribe(sc.channel, ["prices"])
    published = await publish(sc.channel, "prices", b"42")
    assert published.local_receiver_count == 1
    assert await subscriber.read_one() == "message"
    assert subscriber.payloads == [b"42"]
    subscriber.call.cancel()

    # Write-behind: queued in Redis Streams, flushed to the fake writer.
    queued = await cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace="queue", key="o1", value=b"paid")
    )
    await cache.FlushWrites(cache_pb2.FlushWritesRequest(namespace="queue"), timeout=20)
    assert [(w.key, w.write_id) for w in fake_app.writes if w.key == "o1"] == [
        ("o1", queued.write_id)
    ]


async def test_every_pattern_on_a_tls_cluster_as_an_acl_user(
    certs: Certificates, start_sidecar: Start, fake_app: FakeApp, password_file: Path
) -> None:
    cluster = TlsRedisCluster(certs, users=[f"{USER} on >{PASSWORD} {ACL_RULES}"])
    try:
        cluster.start()
    except ServerStartError as exc:
        pytest.fail(f"could not start a TLS Redis Cluster: {exc}", pytrace=False)
    try:
        backend = _redis_backend(cluster.nodes[0], password_file=password_file)
        sc = await start_sidecar({**backend, "url": cluster.url})
        assert await sc.health() == SERVING
        await _exercise_every_pattern(sc, fake_app)
        for node in cluster.nodes:
            assert _acl_denials(node) == [], f"{node.host}:{node.port}"
    finally:
        cluster.close()


async def test_password_from_the_environment(
    tls_redis: TlsRedisServer,
    start_sidecar: Start,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CACHECAR_TEST_REDIS_PASSWORD", PASSWORD)
    backend = _redis_backend(tls_redis, password_file=tmp_path)
    del backend["password_file"]
    backend["password_env"] = "CACHECAR_TEST_REDIS_PASSWORD"  # noqa: S105  (a variable's name)
    sc = await start_sidecar(backend)
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"))
    assert (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))).value == b"v"
    assert await sc.health() == SERVING


# -- Redis: failures are quick, clear, and never show the password ---------------


@pytest.mark.parametrize(
    ("username", "password"),
    [(USER, "not-the-password"), ("nobody", PASSWORD), (USER, None)],
    ids=["wrong-password", "unknown-user", "no-password"],
)
async def test_a_refused_login_is_a_clear_backend_error(
    tls_redis: TlsRedisServer,
    start_sidecar: Start,
    fake_app: FakeApp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    username: str,
    password: str | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_file = tmp_path / "password"
    if password is not None:
        secret_file.write_text(password)
    backend = _redis_backend(
        tls_redis,
        password_file=secret_file,
        username=username,
    )
    if password is None:
        del backend["password_file"]
    sc = await start_sidecar(backend)
    assert await sc.health() == NOT_SERVING

    error = await _failed_get(sc)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(error).reason == "BACKEND_UNAVAILABLE"
    message = error.details() or ""
    assert "refused the login" in message, message
    assert f"ACL user {username!r}" in message, message
    if password is None:
        assert "none is configured (set password_env or password_file)" in message, message
    else:
        assert f"the password in password_file ({secret_file})" in message, message
    for secret in (PASSWORD, "not-the-password"):
        assert secret not in message
        assert secret not in caplog.text
    # A cache outage stays invisible to GetOrLoad: the loader answers.
    fake_app.rows["p"] = b"row"
    loaded = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p"))
    assert (loaded.value, loaded.source) == (b"row", cache_pb2.SOURCE_LOADER)


async def test_a_key_prefix_outside_the_acl_is_named(
    tls_redis: TlsRedisServer, start_sidecar: Start, password_file: Path
) -> None:
    sc = await start_sidecar(
        _redis_backend(tls_redis, password_file=password_file), key_prefix="app:"
    )
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"), timeout=10)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(failed.value).reason == "BACKEND_UNAVAILABLE"
    message = failed.value.details() or ""
    assert f"ACL user {USER!r} lacks a permission" in message, message
    assert "TLS and ACLs" in message, message


async def test_a_wrong_ca_fails_fast_with_a_tls_hint(
    tls_redis: TlsRedisServer,
    start_sidecar: Start,
    fake_app: FakeApp,
    password_file: Path,
) -> None:
    sc = await start_sidecar(
        _redis_backend(
            tls_redis, password_file=password_file, tls_ca_file=str(tls_redis.certs.other_ca)
        )
    )
    assert await sc.health() == NOT_SERVING
    error = await _failed_get(sc)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(error).reason == "BACKEND_UNAVAILABLE"
    assert "certificate was not accepted; check tls_ca_file" in (error.details() or "")
    fake_app.rows["p"] = b"row"
    loaded = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p"))
    assert loaded.source == cache_pb2.SOURCE_LOADER


async def test_mutual_tls_without_a_client_certificate_is_refused(
    certs: Certificates, start_sidecar: Start, password_file: Path
) -> None:
    server = TlsRedisServer(
        certs, require_client_cert=True, users=[f"{USER} on >{PASSWORD} {ACL_RULES}"]
    )
    _start(server)
    try:
        backend = _redis_backend(
            server, password_file=password_file, tls_cert_file=None, tls_key_file=None
        )
        sc = await start_sidecar(backend)
        assert await sc.health() == NOT_SERVING
        error = await _failed_get(sc)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(error).reason == "BACKEND_UNAVAILABLE"
        assert "client certificate" in (error.details() or ""), error.details()
    finally:
        server.close()


async def test_health_recovers_once_the_tls_server_is_back(
    certs: Certificates, start_sidecar: Start, password_file: Path
) -> None:
    server = TlsRedisServer(certs, users=[f"{USER} on >{PASSWORD} {ACL_RULES}"])
    _start(server)
    try:
        sc = await start_sidecar(_redis_backend(server, password_file=password_file))
        await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"))
        server.stop()
        await _wait_health(sc, NOT_SERVING)
        server.start()
        await _wait_health(sc, SERVING)
        # Both pools re-dial with TLS and log in again (the fast path's GET too).
        await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"w"))
        got = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"), timeout=10)
        assert got.value == b"w"
    finally:
        server.close()


# -- Memcached over TLS ------------------------------------------------------------


def _memcached_backend(server: TlsMemcachedServer, **overrides: Any) -> dict[str, Any]:
    backend: dict[str, Any] = {
        "url": server.url,
        "tls_ca_file": str(server.certs.ca),
        "timeout": "2s",
        "connect_timeout": "2s",
    }
    if server.require_client_cert:
        backend["tls_cert_file"] = str(server.certs.client_cert)
        backend["tls_key_file"] = str(server.certs.client_key)
    backend.update(overrides)
    return backend


@pytest.fixture
def memcached_tls(tls_memcached: TlsMemcachedServer) -> TlsMemcachedServer:
    client = MemcacheClient(
        (tls_memcached.host, tls_memcached.port),
        connect_timeout=5,
        timeout=5,
        tls_context=tls_memcached.certs.client_context(),
    )
    try:
        client.flush_all(noreply=False)
    finally:
        client.close()
    return tls_memcached


async def test_memcached_patterns_over_tls(
    memcached_tls: TlsMemcachedServer, start_sidecar: Start, fake_app: FakeApp
) -> None:
    sc = await start_sidecar(_memcached_backend(memcached_tls), redis_only=False)
    assert await sc.health() == SERVING
    fake_app.rows["p1"] = b"tea"
    first = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p1"))
    again = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="p1"))
    assert (first.source, again.source) == (cache_pb2.SOURCE_LOADER, cache_pb2.SOURCE_CACHE)
    assert fake_app.loads_of("p1") == 1
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"))
    assert (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))).value == b"v"
    await sc.cache.WriteThrough(
        cache_pb2.WriteThroughRequest(namespace="items", key="w", value=b"1")
    )
    assert fake_app.rows["w"] == b"1"
    created = await sc.sessions.CreateSession(
        session_pb2.CreateSessionRequest(namespace="items", subject="ann", data={"r": b"x"})
    )
    read = await sc.sessions.GetSession(
        session_pb2.GetSessionRequest(namespace="items", session_id=created.session_id)
    )
    assert read.data["r"] == b"x"


async def test_memcached_with_a_wrong_ca_is_not_serving(
    memcached_tls: TlsMemcachedServer, start_sidecar: Start
) -> None:
    sc = await start_sidecar(
        _memcached_backend(memcached_tls, tls_ca_file=str(memcached_tls.certs.other_ca)),
        redis_only=False,
    )
    assert await sc.health() == NOT_SERVING
    error = await _failed_get(sc)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(error).reason == "BACKEND_UNAVAILABLE"
    assert "certificate was not accepted; check tls_ca_file" in (error.details() or "")


# -- config ------------------------------------------------------------------------


def _backend_settings(backend: dict[str, Any]) -> Any:
    return settings_from_mapping(
        {"backends": {"main": backend}, "namespaces": {"items": {"backend": "main"}}}
    ).backends["main"]


def test_memcacheds_is_a_tls_memcached_url() -> None:
    settings = _backend_settings({"url": "memcacheds://10.0.0.1:11211,10.0.0.2:11211"})
    assert (settings.kind, settings.tls) == ("memcached", True)
    assert _backend_settings({"url": "rediss+cluster://h:6379"}).tls


@pytest.mark.parametrize(
    ("url", "fix"), [("redis://h:6379/0", "rediss://"), ("memcached://h:11211", "memcacheds://")]
)
def test_tls_files_on_a_plaintext_url_are_refused(url: str, fix: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _backend_settings({"url": url, "tls_ca_file": "/etc/ca.pem"})
    assert "backends.main" in str(refused.value)
    assert "tls_ca_file set" in str(refused.value)
    assert fix in str(refused.value)


def test_a_client_key_needs_its_certificate() -> None:
    with pytest.raises(ConfigError, match="tls_key_file needs tls_cert_file"):
        _backend_settings({"url": "rediss://h:6379/0", "tls_key_file": "/etc/client.key"})


def test_the_documented_acl_is_the_tested_one() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "kubernetes.md").read_text()
    assert f"ACL SETUSER cachecar on >PASSWORD {ACL_RULES}\n" in docs
    assert f"`on {ACL_RULES}`" in docs
