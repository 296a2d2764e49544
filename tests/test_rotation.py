"""Credential rotation and connection recycling under load, against a TLS redis-server.

The sidecar runs in-process on a TLS-only Redis whose default user is off;
workers keep Set/Get/GetOrLoad calls going through gRPC (both of redis-py's
pool and the RESP fast path are in use) while the test rotates what the ACL
user may log in with. ``max_connection_age`` is short here, so connections
are dialled — and log in — all through every rotation: a login that is
refused fails a call, so "0 failed calls" means every login found a password
(or token) Redis accepted at that moment.

IAM: the test plays ElastiCache's token issuer. botocore's clock is fixed
and the AWS credentials are static (environment variables, read through
botocore's default chain); each rotation the issuer signs the next token with
the sidecar's own signer at the next clock value, adds it to the user's ACL
passwords, moves the clock, and later removes the previous token.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.auth
import grpc
import pytest
import redis
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.backends.redis.connections import connection_class
from sidecar.backends.redis.credentials import Credentials
from sidecar.backends.redis.iam import IamTokenSigner
from sidecar.config import settings_from_mapping
from sidecar.config_auth import IamSettings
from sidecar.devmode import ServerStartError
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp, error_info
from tests.secretscan import remember_secret
from tests.tlsservers import Certificates, TlsRedisCluster, TlsRedisServer

USER = "rotor"
RULES = "~cc:* &cc:* +@all -@dangerous +info"
ROTATIONS = 10
WORKERS = 12


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates.create(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def server(certs: Certificates) -> Iterator[TlsRedisServer]:
    first = secrets.token_urlsafe(18)
    remember_secret(first)
    tls = TlsRedisServer(certs, users=[f"{USER} on >{first} {RULES}"])
    tls.initial_password = first  # type: ignore[attr-defined]
    try:
        tls.start()
    except ServerStartError as exc:
        pytest.fail(f"could not start a TLS redis-server: {exc}", pytrace=False)
    yield tls
    tls.close()


def _admin(server: TlsRedisServer) -> redis.Redis:
    return redis.Redis(**server.admin_options())  # type: ignore[arg-type]


def _backend(server: TlsRedisServer, **auth: Any) -> dict[str, Any]:
    return {
        "url": server.url,
        "username": USER,
        "tls_ca_file": str(server.certs.ca),
        "timeout": "3s",
        "connect_timeout": "3s",
        "pool_size": 8,
        "max_connection_age": "300ms",
        **auth,
    }


@dataclass
class Load:
    """Workers calling the sidecar until stopped; every failure is kept."""

    channel: grpc.aio.Channel
    fake_app: FakeApp
    calls: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        for n in range(WORKERS):
            self.fake_app.rows[f"row{n}"] = f"loaded{n}".encode()
            self._tasks.append(asyncio.create_task(self._work(n)))

    async def _work(self, n: int) -> None:
        cache = cache_pb2_grpc.CacheServiceStub(self.channel)
        i = 0
        while not self._stop.is_set() and i < 100_000:
            i += 1
            value = f"{n}:{i}".encode()
            try:
                await cache.Set(
                    cache_pb2.SetRequest(namespace="items", key=f"k{n}", value=value), timeout=10
                )
                got = await cache.Get(
                    cache_pb2.GetRequest(namespace="items", key=f"k{n}"), timeout=10
                )
                loaded = await cache.GetOrLoad(
                    cache_pb2.GetOrLoadRequest(namespace="items", key=f"row{n}"), timeout=10
                )
                if got.value != value or loaded.value != f"loaded{n}".encode():
                    self.failures.append(f"worker {n}: wrong value {got.value!r} {loaded.value!r}")
            except grpc.aio.AioRpcError as exc:
                self.failures.append(f"worker {n}: {exc.code().name}: {exc.details()}")
            self.calls += 3

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


@pytest.fixture
async def run(fake_app: FakeApp) -> AsyncIterator[Any]:
    started: list[tuple[Sidecar, grpc.aio.Channel]] = []

    async def start(backend: dict[str, Any]) -> tuple[Sidecar, Load]:
        settings = settings_from_mapping(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": backend},
                "namespaces": {
                    "items": {"backend": "main", "ttl": "1h", "loader": fake_app.target}
                },
            }
        )
        sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=0.5)
        await sidecar.start()
        channel = grpc.aio.insecure_channel(sidecar.address)
        started.append((sidecar, channel))
        load = Load(channel, fake_app)
        load.start()
        return sidecar, load

    yield start
    for sidecar, channel in started:
        await channel.close()
        await sidecar.stop(grace=1.0)


def _acl(admin: redis.Redis, *rules: str) -> None:
    # Raw ACL SETUSER: only the password rules change (redis-py's helper also
    # switches the user on/off).
    admin.execute_command("ACL", "SETUSER", USER, *rules)  # type: ignore[no-untyped-call]


def _client_ids(admin: redis.Redis) -> set[int]:
    return {int(c["id"]) for c in admin.client_list() if c.get("user") == USER}


async def _until(predicate: Any, what: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened within {within}s: {what}")


def _link(sidecar: Sidecar) -> Any:
    return sidecar.backends["main"]._link  # type: ignore[attr-defined]


# -- password_file ---------------------------------------------------------------


def _write_secret(path: Path, value: str) -> None:
    # As kubelet updates a mounted Secret: a new file swapped in atomically.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value + "\n")
    os.replace(tmp, path)


async def test_password_file_rotation_under_load_fails_no_call(
    server: TlsRedisServer, run: Any, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    current: str = server.initial_password  # type: ignore[attr-defined]
    _write_secret(password_file, current)
    sidecar, load = await run(_backend(server, password_file=str(password_file)))
    admin = _admin(server)
    logins_before = 0
    try:
        for _ in range(ROTATIONS):
            new = secrets.token_urlsafe(18)
            remember_secret(new)
            # The operator's rotation: both valid, the Secret updated, the old one dropped.
            _acl(admin, f">{new}")
            _write_secret(password_file, new)
            logins_before = _link(sidecar).credentials.logins
            # Proof the new password is in use: fresh logins after the file changed.
            await _until(
                lambda before=logins_before: _link(sidecar).credentials.logins > before + 8,
                "logins with the new password",
            )
            _acl(admin, f"<{current}")
            current = new
            await asyncio.sleep(0.5)  # connections keep being dialled with only `new` valid
    finally:
        await load.stop()
        admin.close()
    assert load.failures == [], load.failures[:5]
    assert load.calls > ROTATIONS * 10


async def test_a_password_dropped_before_the_file_changes_falls_to_the_next_one(
    server: TlsRedisServer, run: Any, tmp_path: Path
) -> None:
    # The rotation done in the "wrong" order: the ACL keeps only the new password
    # while the current-password file still holds the old one. next_password_file
    # (written first) saves every login.
    current_file, next_file = tmp_path / "current", tmp_path / "next"
    current: str = server.initial_password  # type: ignore[attr-defined]
    _write_secret(current_file, current)
    _write_secret(next_file, current)
    sidecar, load = await run(
        _backend(server, password_file=str(current_file), next_password_file=str(next_file))
    )
    admin = _admin(server)
    try:
        for _ in range(3):
            new = secrets.token_urlsafe(18)
            remember_secret(new)
            _write_secret(next_file, new)
            await asyncio.sleep(1.5)  # the file poll sees it
            _acl(admin, "resetpass", f">{new}")
            refusals = _link(sidecar).credentials.refusals
            await _until(
                lambda r=refusals: _link(sidecar).credentials.refusals > r,
                "a refused login of the old password",
            )
            await asyncio.sleep(0.5)
            _write_secret(current_file, new)
            current = new
            await asyncio.sleep(1.5)
    finally:
        await load.stop()
        admin.close()
    assert load.failures == [], load.failures[:5]
    assert current != server.initial_password  # type: ignore[attr-defined]


# -- max_connection_age ------------------------------------------------------------


async def test_connections_recycle_by_age_under_load_without_a_failed_call(
    server: TlsRedisServer, run: Any, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    _write_secret(password_file, server.initial_password)  # type: ignore[attr-defined]
    # A pool the 12 workers keep busy: redis-py hands out the most recently
    # released connection first, so with spare connections one could sit idle
    # (and unretired: retiring happens on use) for the whole wait.
    sidecar, load = await run(_backend(server, password_file=str(password_file), pool_size=2))
    admin = _admin(server)
    try:
        await _until(lambda: load.calls > 200, "load running")
        first = _client_ids(admin)
        assert first, "no connection of the sidecar's user"
        # Every connection seen under load is replaced, none by a failure.
        await _until(lambda: not (first & _client_ids(admin)), "every connection recycled")
    finally:
        await load.stop()
        admin.close()
    assert load.failures == [], load.failures[:5]
    managed = type(_link(sidecar).client.connection_pool.connection_class)
    assert managed is not None
    assert _link(sidecar).client.connection_pool.connection_class.retired > 0


def test_without_a_login_or_age_limit_connections_are_redis_pys_own() -> None:
    from redis.asyncio.connection import Connection, SSLConnection  # noqa: PLC0415

    assert connection_class(tls=False, login=None, max_age=None) is Connection
    assert connection_class(tls=True, login=None, max_age=None) is SSLConnection
    assert issubclass(connection_class(tls=True, login=None, max_age=1.0), SSLConnection)


# -- IAM: the test plays the token issuer -----------------------------------------


class FixedClock:
    """botocore's clock, fixed; the issuer may sign at another time on its own thread."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self._local = threading.local()

    def __call__(self, *_args: Any, **_kwargs: Any) -> datetime.datetime:
        override: datetime.datetime | None = getattr(self._local, "override", None)
        return override or self.now

    def sign_at(self, when: datetime.datetime, signer: IamTokenSigner) -> str:
        self._local.override = when
        try:
            return signer.sign()
        finally:
            self._local.override = None


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    # Static credentials through botocore's default chain (its environment provider).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clock = FixedClock(datetime.datetime(2026, 3, 1, 12, 0, 0))
    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    return clock


#: Both IAM runs: a token signed every 200ms, so rotations are quick.
IAM: dict[str, Any] = {
    "region": "us-east-1",
    "cache_name": "cachecar-test",
    "token_refresh": "200ms",
}


class TokenIssuer:
    """The test's ElastiCache: signs tokens with the sidecar's own signer at the
    clock's next value and sets them as the user's ACL passwords on every node
    (ElastiCache applies a user group to every node of a cluster)."""

    def __init__(self, clock: FixedClock, admins: list[redis.Redis]) -> None:
        self.clock = clock
        self.admins = admins
        self.signer = IamTokenSigner(USER, IamSettings.model_validate(IAM))
        self.token = clock.sign_at(clock.now, self.signer)
        self._acl("resetpass", f">{self.token}")

    def _acl(self, *rules: str) -> None:
        for admin in self.admins:
            _acl(admin, *rules)

    async def rotate(self, sidecar: Sidecar) -> list[int]:
        """ROTATIONS times: allow the next token, move the clock, wait for the
        sidecar's logins with it, drop the old one. The login count after each."""
        logins: list[int] = []
        for _ in range(ROTATIONS):
            later = self.clock.now + datetime.timedelta(minutes=5)
            new = self.clock.sign_at(later, self.signer)
            assert new != self.token
            self._acl(f">{new}")
            self.clock.now = later  # the sidecar's next token is `new`
            before = _link(sidecar).credentials.logins
            await _until(
                lambda b=before: _link(sidecar).credentials.logins > b + 8,
                "logins after the clock moved",
            )
            self._acl(f"<{self.token}")  # the old token is no more
            self.token = new
            logins.append(_link(sidecar).credentials.logins)
            await asyncio.sleep(0.5)
        return logins

    def close(self) -> None:
        for admin in self.admins:
            admin.close()


async def test_iam_tokens_rotating_under_load_fail_no_call(
    server: TlsRedisServer, run: Any, aws_env: FixedClock
) -> None:
    issuer = TokenIssuer(aws_env, [_admin(server)])
    sidecar, load = await run(_backend(server, auth="iam", iam=IAM))
    try:
        logins = await issuer.rotate(sidecar)
    finally:
        await load.stop()
        issuer.close()
    assert load.failures == [], load.failures[:5]
    assert len(logins) == ROTATIONS
    # The user's only password at the end is the last token: the sidecar used it.
    assert _link(sidecar).credentials.logins > logins[-1] - 1


async def test_iam_live_connections_reauth_with_each_token_instead_of_redialling(
    server: TlsRedisServer, run: Any, aws_env: FixedClock
) -> None:
    # No age recycling inside the run: every fresh token must reach the live
    # connections as an AUTH on them (ElastiCache extends an IAM connection
    # by 12 hours on each), while the old tokens are removed under load.
    admin = _admin(server)
    issuer = TokenIssuer(aws_env, [admin])
    sidecar, load = await run(_backend(server, auth="iam", iam=IAM, max_connection_age="11h"))
    link = _link(sidecar)
    pooled = link.client.connection_pool.connection_class
    try:
        await _until(lambda: load.calls > 200, "load running")
        first = _client_ids(admin)
        dialled = int(admin.info("stats")["total_connections_received"])
        await issuer.rotate(sidecar)
        still = _client_ids(admin)
        dialled = int(admin.info("stats")["total_connections_received"]) - dialled
    finally:
        await load.stop()
        issuer.close()
    assert load.failures == [], load.failures[:5]
    # The connections of the start served to the end, re-AUTHed on the way:
    # the user's only valid password by then was a token signed mid-run.
    assert first & still, (first, still)
    assert pooled.reauths >= ROTATIONS, pooled.reauths
    assert link.fast is not None
    assert link.fast.reauths >= ROTATIONS, link.fast.reauths
    # Nearly no connection was dialled meanwhile (the pool may still grow).
    assert dialled < len(first), (dialled, len(first))


@pytest.fixture
def tls_cluster(certs: Certificates) -> Iterator[TlsRedisCluster]:
    """A TLS 3-master Cluster, one replica each; the ACL user starts with a throwaway password."""
    first = secrets.token_urlsafe(18)
    remember_secret(first)
    cluster = TlsRedisCluster(certs, users=[f"{USER} on >{first} {RULES}"], replicas=1)
    try:
        cluster.start()
    except ServerStartError as exc:
        pytest.fail(f"could not start a TLS redis cluster: {exc}", pytrace=False)
    yield cluster
    cluster.close()


async def test_iam_tokens_rotating_on_a_tls_cluster_with_replicas_fail_no_call(
    tls_cluster: TlsRedisCluster, run: Any, aws_env: FixedClock
) -> None:
    issuer = TokenIssuer(aws_env, [_admin(node) for node in tls_cluster.nodes])
    backend = {**_backend(tls_cluster.nodes[0], auth="iam", iam=IAM), "url": tls_cluster.url}
    sidecar, load = await run(backend)
    try:
        logins = await issuer.rotate(sidecar)
        # Who is connected to each node at the end of the run.
        users = [{c.get("user") for c in admin.client_list()} for admin in issuer.admins]
    finally:
        await load.stop()
        issuer.close()
    assert load.failures == [], load.failures[:5]
    assert len(logins) == ROTATIONS
    assert load.calls > ROTATIONS * 10
    # The load ran on every master (and only masters: read_from is primary),
    # each connection logged in as the IAM user.
    assert sum(USER in u for u in users) >= 3, users


# -- the sources themselves ----------------------------------------------------------


def _password_settings(**backend: Any) -> Any:
    settings = settings_from_mapping(
        {"backends": {"main": {"url": "redis://127.0.0.1:1", **backend}}, "namespaces": {}}
    )
    return settings.backends["main"]


async def test_sighup_rereads_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_ROTATE_PW", "first")
    credentials = Credentials(_password_settings(password_env="CC_ROTATE_PW"))  # noqa: S106  # a variable name
    assert await credentials.candidates() == ["first"]  # also installs the SIGHUP handler
    monkeypatch.setenv("CC_ROTATE_PW", "second")
    assert await credentials.candidates() == ["first"]  # read at start, not per login
    os.kill(os.getpid(), signal.SIGHUP)
    await _until(lambda: credentials._environ == {}, "the SIGHUP handler ran", within=5)
    assert await credentials.candidates() == ["second"]


async def test_a_changed_password_file_is_picked_up_without_a_refusal(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    _write_secret(path, "first")
    credentials = Credentials(_password_settings(password_file=str(path)))
    assert await credentials.candidates() == ["first"]
    _write_secret(path, "second")
    for _ in range(30):  # polled about once a second
        if await credentials.candidates() == ["second"]:
            break
        await asyncio.sleep(0.1)
    assert await credentials.candidates() == ["second"]
    assert credentials.refusals == 0


# -- the near cache's invalidation link -------------------------------------------


async def _near_sidecar(backend: dict[str, Any], ping_interval: str) -> Sidecar:
    """A started sidecar with one near-cache namespace on ``backend``."""
    backend = {**backend, "invalidation": {"ping_interval": ping_interval}}
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": backend},
            "namespaces": {"items": {"backend": "main", "near_cache": {"max_bytes": "1MiB"}}},
        }
    )
    sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=60.0)
    await sidecar.start()
    return sidecar


async def test_the_invalidation_link_redials_with_the_rotated_password(
    server: TlsRedisServer, tmp_path: Path
) -> None:
    # The tracking connection logs in like every other connection: after a
    # rotation that dropped the start-time password, a lost link must come
    # back (or the near cache stays emptied and never serves again).
    password_file = tmp_path / "password"
    old: str = server.initial_password  # type: ignore[attr-defined]
    _write_secret(password_file, old)
    sidecar = await _near_sidecar(_backend(server, password_file=str(password_file)), "200ms")
    admin = _admin(server)
    try:
        near = sidecar.namespaces["items"].near
        assert near is not None
        await _until(lambda: near.serving, "the near cache serving")
        new = secrets.token_urlsafe(18)
        remember_secret(new)
        _acl(admin, f">{new}")
        _write_secret(password_file, new)
        _acl(admin, f"<{old}")
        tracking = [c for c in admin.client_list() if c.get("name") == "cachecar-tracking"]
        assert len(tracking) == 1, tracking
        admin.client_kill_filter(_id=tracking[0]["id"])
        await _until(lambda: not near.serving, "the near cache emptied by the lost link")
        await _until(lambda: near.serving, "the link back, logged in with the new password")
        again = [c for c in admin.client_list() if c.get("name") == "cachecar-tracking"]
        assert [c["user"] for c in again] == [USER]
        assert again[0]["id"] != tracking[0]["id"]
    finally:
        admin.close()
        await sidecar.stop(grace=1.0)


async def test_the_invalidation_link_reauths_with_fresh_iam_tokens(
    server: TlsRedisServer, aws_env: FixedClock
) -> None:
    # An idle sidecar with a near cache: nothing but its tracking link talks to
    # Redis, and that link must keep its IAM login fresh (AUTH on the live
    # connection every token_refresh), not wait for the 12-hour cut.
    admin = _admin(server)
    issuer = TokenIssuer(aws_env, [admin])
    backend = _backend(server, auth="iam", iam=IAM, max_connection_age="11h")
    sidecar = await _near_sidecar(backend, "100ms")
    try:
        near = sidecar.namespaces["items"].near
        assert near is not None
        await _until(lambda: near.serving, "the near cache serving")

        def link_and_auths() -> tuple[list[int], int]:
            ids = [int(c["id"]) for c in admin.client_list() if c["name"] == "cachecar-tracking"]
            auths = admin.info("commandstats").get("cmdstat_auth", {}).get("calls", 0)
            return ids, int(auths)

        link, auths = link_and_auths()
        await asyncio.sleep(2.0)
        link_after, auths_after = link_and_auths()
    finally:
        issuer.close()
        await sidecar.stop(grace=1.0)
    assert link == link_after, "the tracking link was redialled instead of re-AUTHed"
    assert auths_after - auths >= 4, (auths, auths_after)


async def test_a_refused_iam_token_is_one_clear_error_not_a_login_loop(
    server: TlsRedisServer, aws_env: FixedClock
) -> None:
    # The ACL user never gets the token (a wrong IAM user or policy). Each
    # call fails with BACKEND_UNAVAILABLE naming the user, after a bounded
    # number of logins: a handshake must never start a re-AUTH of itself
    # (that recursed once per refusal, to a RecursionError).
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": _backend(server, auth="iam", iam=IAM)},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=60.0)
    await sidecar.start()
    channel = grpc.aio.insecure_channel(sidecar.address)
    cache = cache_pb2_grpc.CacheServiceStub(channel)
    try:
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await cache.Set(
                    cache_pb2.SetRequest(namespace="items", key="k", value=b"v"), timeout=10
                )
            assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_info(failed.value).reason == "BACKEND_UNAVAILABLE"
            assert USER in (failed.value.details() or "")
        credentials = _link(sidecar).credentials
        pooled = _link(sidecar).client.connection_pool.connection_class
    finally:
        await channel.close()
        await sidecar.stop(grace=1.0)
    assert pooled.reauths == 0
    # A refused login is retried once with a freshly signed token, per dial.
    assert credentials.refusals <= 3 * 2 * 3, credentials.refusals
