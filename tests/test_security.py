"""Who can reach the data API: private listeners, TLS/mTLS, callers by token or certificate."""

from __future__ import annotations

import asyncio
import grp
import os
import secrets
import stat
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
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
    pubsub_pb2,
    pubsub_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sidecar.config import ConfigError, settings_from_mapping
from sidecar.devmode import RedisServer
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import Tracing
from tests.appfixtures import status_of
from tests.certs import TestCA
from tests.secretscan import captured_log_lines, remember_secret

# Random per run, as real tokens are; the secret scan looks for exactly these.
CHECKOUT_TOKEN = "checkout-" + secrets.token_hex(16)
REPORTS_TOKEN = "reports-" + secrets.token_hex(16)
SPIFFE_ID = "spiffe://prod.example/ns/reports/sa/reports"
Start = Callable[..., Awaitable[Sidecar]]


def _config(redis_url: str, **top: Any) -> dict[str, Any]:
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            "products": {"backend": "main"},
            "orders": {"backend": "main"},
            "sessions": {"backend": "main"},
        },
        **top,
    }


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    running: list[Sidecar] = []

    async def run(config: dict[str, Any], environ: dict[str, str] | None = None) -> Sidecar:
        old = {k: os.environ.get(k) for k in environ or {}}
        os.environ.update(environ or {})
        try:
            sidecar = Sidecar(settings_from_mapping(config), telemetry=Telemetry())
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        await sidecar.start()
        running.append(sidecar)
        return sidecar

    yield run
    for sidecar in running:
        await sidecar.stop(grace=0.5)


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path)


# -- listeners ---------------------------------------------------------------------


@pytest.mark.parametrize("listen", ["0.0.0.0:50070", "[::]:50070", "10.1.2.3:50070", "cache:1"])
def test_a_network_listener_without_tls_is_refused(redis_url: str, listen: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(_config(redis_url, listen=listen))
    message = str(caught.value)
    assert "listen:" in message
    assert "unencrypted" in message
    assert "tls.cert_file" in message


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "[::1]:0", "localhost:0", "unix:///tmp/x"])
def test_loopback_and_unix_listeners_need_no_tls(redis_url: str, listen: str) -> None:
    assert settings_from_mapping(_config(redis_url, listen=listen)).listen == listen


async def test_tls_listener_serves_tls_and_refuses_plaintext(
    redis_url: str, ca: TestCA, start: Start
) -> None:
    server = ca.issue("server", "localhost", "127.0.0.1")
    tls = {"cert_file": str(server.cert_file), "key_file": str(server.key_file)}
    # Any interface is allowed once TLS is on.
    sidecar = await start(_config(redis_url, listen="0.0.0.0:0", tls=tls))
    target = f"localhost:{sidecar.port}"
    creds = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
    async with grpc.aio.secure_channel(target, creds) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        await cache.Set(cache_pb2.SetRequest(namespace="products", key="k", value=b"v"))
        assert (await cache.Get(cache_pb2.GetRequest(namespace="products", key="k"))).value == b"v"
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await cache_pb2_grpc.CacheServiceStub(channel).Get(
                cache_pb2.GetRequest(namespace="products", key="k"), timeout=3
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mtls_requires_a_client_certificate_from_the_client_ca(
    redis_url: str, ca: TestCA, tmp_path: Path, start: Start
) -> None:
    server = ca.issue("server", "localhost")
    client = ca.issue("client", "checkout.internal", common_name="checkout")
    other_ca = TestCA(tmp_path, "other")
    stranger = other_ca.issue("client", "checkout.internal", common_name="checkout")
    tls = {
        "cert_file": str(server.cert_file),
        "key_file": str(server.key_file),
        "client_ca_file": str(ca.cert_file),
    }
    sidecar = await start(_config(redis_url, tls=tls))
    target = f"localhost:{sidecar.port}"

    async def get(creds: grpc.ChannelCredentials) -> None:
        async with grpc.aio.secure_channel(target, creds) as channel:
            await cache_pb2_grpc.CacheServiceStub(channel).Get(
                cache_pb2.GetRequest(namespace="products", key="k"), timeout=3
            )

    await get(grpc.ssl_channel_credentials(ca.cert_pem, client.key_pem, client.cert_pem))
    for creds in (
        grpc.ssl_channel_credentials(ca.cert_pem),  # no client certificate
        grpc.ssl_channel_credentials(ca.cert_pem, stranger.key_pem, stranger.cert_pem),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await get(creds)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_unix_socket_is_owner_only_by_default(
    redis_url: str, tmp_path: Path, start: Start
) -> None:
    path = tmp_path / "cc.sock"
    await start(_config(redis_url, listen=f"unix://{path}"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_unix_socket_mode_and_group_as_configured(
    redis_url: str, tmp_path: Path, start: Start
) -> None:
    path = tmp_path / "cc.sock"
    group = grp.getgrgid(os.getgid()).gr_name
    await start(
        _config(
            redis_url, listen=f"unix://{path}", unix_socket_mode="0660", unix_socket_group=group
        )
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o660
    assert path.stat().st_gid == os.getgid()
    async with grpc.aio.insecure_channel(f"unix://{path}") as channel:
        await cache_pb2_grpc.CacheServiceStub(channel).Get(
            cache_pb2.GetRequest(namespace="products", key="k"), timeout=3
        )


# -- callers -----------------------------------------------------------------------


def _callers() -> dict[str, Any]:
    return {
        "checkout": {"token_env": "CC_TEST_CHECKOUT_TOKEN", "namespaces": ["products", "orders"]},
        "reports": {"token_env": "CC_TEST_REPORTS_TOKEN", "namespaces": ["*"]},
    }


def _tokens() -> dict[str, str]:
    remember_secret(CHECKOUT_TOKEN)
    remember_secret(REPORTS_TOKEN)
    return {"CC_TEST_CHECKOUT_TOKEN": CHECKOUT_TOKEN, "CC_TEST_REPORTS_TOKEN": REPORTS_TOKEN}


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def _first(stream: Any) -> None:
    async for _ in stream:
        return


async def test_tokens_allow_their_namespaces_only(redis_url: str, start: Start) -> None:
    sidecar = await start(_config(redis_url, callers=_callers()), _tokens())
    async with grpc.aio.insecure_channel(sidecar.address) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)

        def get(ns: str, metadata: Any = None) -> Awaitable[Any]:
            call: Awaitable[Any] = cache.Get(
                cache_pb2.GetRequest(namespace=ns, key="k"), metadata=metadata
            )
            return call

        checkout, reports = _bearer(CHECKOUT_TOKEN), _bearer(REPORTS_TOKEN)
        ok = (grpc.StatusCode.OK, "")
        assert await status_of(get("products", checkout)) == ok
        assert await status_of(get("orders", checkout)) == ok
        assert await status_of(get("sessions", checkout)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "NAMESPACE_FORBIDDEN",
        )
        # An unknown namespace is forbidden too: a restricted caller learns no names.
        assert (await status_of(get("nope", checkout)))[0] == (grpc.StatusCode.PERMISSION_DENIED)
        assert await status_of(get("sessions", reports)) == ok
        assert (await status_of(get("nope", reports)))[0] == grpc.StatusCode.NOT_FOUND
        unauthenticated = (grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNKNOWN")
        assert await status_of(get("products")) == unauthenticated
        assert await status_of(get("products", _bearer("x" * 32))) == unauthenticated
        assert await status_of(get("products", _bearer(CHECKOUT_TOKEN[:-1]))) == (unauthenticated)
        assert (
            await status_of(get("products", (("authorization", f"Basic {CHECKOUT_TOKEN}"),)))
            == unauthenticated
        )
        # Health stays open: probes carry no token.
        health = health_pb2_grpc.HealthStub(channel)
        await health.Check(health_pb2.HealthCheckRequest(service=""))


async def test_every_service_checks_the_caller(redis_url: str, start: Start) -> None:
    config = _config(redis_url, callers=_callers())
    config["namespaces"]["sessions"] = {"backend": "main"}
    sidecar = await start(config, _tokens())
    denied = (grpc.StatusCode.PERMISSION_DENIED, "NAMESPACE_FORBIDDEN")
    meta = _bearer(CHECKOUT_TOKEN)
    async with grpc.aio.insecure_channel(sidecar.address) as channel:
        sessions = session_pb2_grpc.SessionServiceStub(channel)
        boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        calls: list[Awaitable[Any]] = [
            sessions.CreateSession(
                session_pb2.CreateSessionRequest(namespace="sessions", subject="u1"),
                metadata=meta,
            ),
            boards.AddScore(
                leaderboard_pb2.AddScoreRequest(
                    namespace="sessions", board="b", member="m", score=1
                ),
                metadata=meta,
            ),
            pubsub.Publish(
                pubsub_pb2.PublishRequest(namespace="sessions", channel="c", payload=b"x"),
                metadata=meta,
            ),
            cache.GetOrLoadMany(
                cache_pb2.GetOrLoadManyRequest(namespace="sessions", keys=["a"]), metadata=meta
            ),
            cache.Invalidate(
                cache_pb2.InvalidateRequest(namespace="sessions", keys=["a"]), metadata=meta
            ),
        ]
        for call in calls:
            assert await status_of(call) == denied
        stream = pubsub.Subscribe(
            pubsub_pb2.SubscribeRequest(namespace="sessions", channels=["c"]), metadata=meta
        )
        assert await status_of(_first(stream)) == denied


async def test_mtls_identities_name_callers(redis_url: str, ca: TestCA, start: Start) -> None:
    server = ca.issue("server", "localhost")
    checkout = ca.issue("checkout", "checkout.internal", common_name="checkout")
    other = ca.issue("other", "other.internal", common_name="other")
    reports = ca.issue_uri("reports", SPIFFE_ID)  # a URI SAN only, no common name
    config = _config(
        redis_url,
        tls={
            "cert_file": str(server.cert_file),
            "key_file": str(server.key_file),
            "client_ca_file": str(ca.cert_file),
        },
        callers={
            "checkout": {"identity": "checkout.internal", "namespaces": ["products"]},
            "reports": {"identity": SPIFFE_ID, "namespaces": ["orders"]},
        },
    )
    sidecar = await start(config)

    async def get(client: Any, ns: str, metadata: Any = None) -> tuple[grpc.StatusCode, str]:
        creds = grpc.ssl_channel_credentials(ca.cert_pem, client.key_pem, client.cert_pem)
        async with grpc.aio.secure_channel(f"localhost:{sidecar.port}", creds) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            return await status_of(
                cache.Get(cache_pb2.GetRequest(namespace=ns, key="k"), metadata=metadata)
            )

    assert await get(checkout, "products") == (grpc.StatusCode.OK, "")
    # Another service's authorization scheme does not hide the certificate...
    basic = (("authorization", "Basic dXNlcjpwYXNz"),)
    assert await get(checkout, "products", basic) == (grpc.StatusCode.OK, "")
    # ...but a bearer token decides alone, and an unknown one is refused.
    assert (await get(checkout, "products", _bearer("x" * 32)))[0] == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert await get(reports, "orders") == (grpc.StatusCode.OK, "")
    assert (await get(reports, "products"))[0] == grpc.StatusCode.PERMISSION_DENIED
    assert (await get(checkout, "orders"))[0] == grpc.StatusCode.PERMISSION_DENIED
    # A certificate from the right CA but not a configured caller.
    assert (await get(other, "products"))[0] == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("caller", "environ", "expected"),
    [
        ({"token_env": "CC_TEST_MISSING", "namespaces": ["*"]}, {}, "is not set"),
        ({"token_env": "CC_TEST_SHORT", "namespaces": ["*"]}, {"CC_TEST_SHORT": "abc"}, "shorter"),
        ({"token_file": "/nonexistent/token", "namespaces": ["*"]}, {}, "cannot read"),
    ],
)
def test_unusable_tokens_stop_the_start(
    redis_url: str, caller: dict[str, Any], environ: dict[str, str], expected: str
) -> None:
    settings = settings_from_mapping(_config(redis_url, callers={"svc": caller}))
    os.environ.update(environ)
    try:
        with pytest.raises(ConfigError) as caught:
            Sidecar(settings, telemetry=Telemetry())
    finally:
        for key in environ:
            os.environ.pop(key, None)
    assert "callers.svc" in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ({"namespaces": ["*"]}, "exactly one of token_env, token_file or identity"),
        ({"token_env": "X", "identity": "a", "namespaces": ["*"]}, "exactly one"),
        ({"identity": "checkout", "namespaces": ["*"]}, "need mTLS"),
        ({"token_env": "X", "namespaces": ["missing"]}, "'missing' is not declared"),
        ({"token_env": "X", "namespaces": []}, "callers.svc.namespaces"),
    ],
)
def test_caller_config_errors_name_the_field(
    redis_url: str, caller: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(_config(redis_url, callers={"svc": caller}))
    assert expected in str(caught.value)
    assert "callers.svc" in str(caught.value)


# -- secrecy -----------------------------------------------------------------------


async def test_secrets_stay_out_of_logs_spans_metrics_and_errors(
    fresh_redis: RedisServer, start: Start
) -> None:
    password = "backend-" + secrets.token_hex(12)
    remember_secret(password)
    redis.Redis(host=fresh_redis.host, port=fresh_redis.port).config_set("requirepass", password)
    exporter = InMemorySpanExporter()
    config = _config(fresh_redis.url, callers=_callers(), metrics_listen="127.0.0.1:0")
    config["backends"] = {"main": {"url": fresh_redis.url, "password_env": "CC_TEST_REDIS_PW"}}
    lines_before = len(captured_log_lines())
    environ = {**_tokens(), "CC_TEST_REDIS_PW": password}
    old = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        telemetry = Telemetry(tracing=Tracing.with_processor(SimpleSpanProcessor(exporter)))
        sidecar = Sidecar(settings_from_mapping(config), telemetry=telemetry)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    await sidecar.start()
    seen: list[str] = []
    try:
        async with grpc.aio.insecure_channel(sidecar.address) as channel:
            cache = cache_pb2_grpc.CacheServiceStub(channel)
            sessions = session_pb2_grpc.SessionServiceStub(channel)
            good, bad = _bearer(REPORTS_TOKEN), _bearer(CHECKOUT_TOKEN + "x")
            await cache.Set(
                cache_pb2.SetRequest(namespace="products", key="k", value=b"v"), metadata=good
            )
            created = await sessions.CreateSession(
                session_pb2.CreateSessionRequest(namespace="sessions", subject="alice"),
                metadata=good,
            )
            remember_secret(created.session_id)
            failing: list[Awaitable[Any]] = [
                cache.Get(cache_pb2.GetRequest(namespace="products", key="k"), metadata=bad),
                cache.Get(
                    cache_pb2.GetRequest(namespace="sessions", key="k"),
                    metadata=_bearer(CHECKOUT_TOKEN),
                ),
                sessions.GetSession(
                    session_pb2.GetSessionRequest(
                        namespace="sessions", session_id=created.session_id + "x"
                    ),
                    metadata=good,
                ),
            ]
            await sessions.DeleteSession(
                session_pb2.DeleteSessionRequest(
                    namespace="sessions", session_id=created.session_id
                ),
                metadata=good,
            )
            failing.append(
                sessions.GetSession(
                    session_pb2.GetSessionRequest(
                        namespace="sessions", session_id=created.session_id
                    ),
                    metadata=good,
                )
            )
            for call in failing:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call
                seen.append(f"{caught.value.details()} {caught.value.trailing_metadata()}")
        url = f"http://127.0.0.1:{sidecar.metrics_port}/metrics"
        seen.append(await asyncio.to_thread(lambda: urllib.request.urlopen(url).read().decode()))
    finally:
        await sidecar.stop(grace=0.5)
    seen += [span.to_json() for span in exporter.get_finished_spans()]
    seen += captured_log_lines()[lines_before:]
    assert len(seen) > 5
    text = "\n".join(seen)
    for secret in (password, CHECKOUT_TOKEN, REPORTS_TOKEN, created.session_id):
        assert secret not in text
        assert secret[3:] not in text  # a session id minus its shard prefix
