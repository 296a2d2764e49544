"""SessionService against real Redis, Redis Cluster and Memcached: create, read,
per-field updates, compare-and-set, deletion, revocation, bad input, secrecy.

Expiry (sliding and absolute) is in ``test_sessions_expiry.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import session_pb2
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sidecar.config import ConfigError
from sidecar.devmode import RedisServer, free_port
from sidecar.telemetry import Telemetry, Tracing
from tests import calls
from tests.appfixtures import SidecarFactory, error_info, make_settings
from tests.calls import NS

# -- the basics -----------------------------------------------------------------


async def test_create_then_get(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url, session_max_lifetime="2h")
    stub = calls.sessions(sc)
    data = {"role": b"admin", "cart": b'{"items":[1,2]}', "empty": b""}
    created = await calls.create(stub, data=data, ttl=600)
    assert re.fullmatch(r"[A-Za-z0-9_-]{35}", created.session_id)
    assert (created.subject, dict(created.data), created.version) == ("alice", data, 1)
    created_ms = calls.ms(created.created_at)
    assert calls.ms(created.expires_at) == created_ms + 600_000
    assert calls.ms(created.absolute_expires_at) == created_ms + 7_200_000

    got = await calls.get(stub, created.session_id)
    assert (dict(got.data), got.subject, got.version) == (data, "alice", 1)
    assert calls.ms(got.created_at) == created_ms
    assert calls.ms(got.absolute_expires_at) == created_ms + 7_200_000
    assert calls.ms(got.expires_at) >= calls.ms(created.expires_at)  # slid by the read

    # No TTL asked for: the namespace's ttl (1h in these tests), capped by the lifetime.
    plain = await calls.create(stub, subject="")
    assert calls.ms(plain.expires_at) == calls.ms(plain.created_at) + 3_600_000
    assert (await calls.get(stub, plain.session_id)).subject == ""


async def test_ids_are_unique_random_and_never_stored(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url)
    stub = calls.sessions(sc)
    ids = [(await calls.create(stub, subject=f"user-{i % 3}")).session_id for i in range(60)]
    assert len(set(ids)) == 60
    # After the 3-character shard, 32 characters carry 192 random bits.
    assert len({sid[3:] for sid in ids}) == 60
    assert all(len(base64.urlsafe_b64decode(sid[3:] + "==")) == 24 for sid in ids)
    # The same subject always lands in the same shard (its revocation slot).
    assert len({sid[:3] for sid in ids}) <= 3
    with redis.Redis.from_url(redis_url) as client:
        stored = b" ".join(client.keys("*"))
        for sid in ids:
            assert sid.encode() not in stored
            assert sid[3:].encode() not in stored
            for key in client.keys(b"*s{*"):
                assert sid.encode() not in b"".join(client.hvals(key))


async def test_update_sets_and_deletes_fields(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url)
    stub = calls.sessions(sc)
    sid = (await calls.create(stub, data={"a": b"1", "b": b"2", "c": b"3"})).session_id
    updated = await stub.UpdateSession(
        session_pb2.UpdateSessionRequest(
            namespace=NS,
            session_id=sid,
            set_fields={"a": b"one", "d": b"4"},
            delete_fields=["b", "never-there"],
        )
    )
    assert dict(updated.data) == {"a": b"one", "c": b"3", "d": b"4"}
    assert updated.version == 2
    got = await calls.get(stub, sid)
    assert (dict(got.data), got.version) == ({"a": b"one", "c": b"3", "d": b"4"}, 2)


async def test_concurrent_updates_of_different_fields_all_survive(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    first, second = await sidecar_for(backend_url), await sidecar_for(backend_url)
    sid = (await calls.create(calls.sessions(first), data={"base": b"x"})).session_id

    async def update(i: int) -> None:
        sc = first if i % 2 else second
        await calls.sessions(sc).UpdateSession(
            session_pb2.UpdateSessionRequest(
                namespace=NS, session_id=sid, set_fields={f"f{i}": b"%d" % i}
            )
        )

    await asyncio.gather(*(update(i) for i in range(24)))
    got = await calls.get(calls.sessions(first), sid)
    assert dict(got.data) == {"base": b"x", **{f"f{i}": b"%d" % i for i in range(24)}}
    assert got.version == 25


async def test_compare_and_set_on_the_version(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url)
    stub = calls.sessions(sc)
    sid = (await calls.create(stub, data={"n": b"0"})).session_id

    def cas(expected: int, value: bytes) -> Any:
        return stub.UpdateSession(
            session_pb2.UpdateSessionRequest(
                namespace=NS, session_id=sid, set_fields={"n": value}, expected_version=expected
            )
        )

    ok = await cas(1, b"1")
    assert (ok.version, ok.data["n"]) == (2, b"1")
    error = await calls.fails(cas(1, b"lost"), grpc.StatusCode.ABORTED, "SESSION_VERSION_MISMATCH")
    assert error_info(error).metadata["current_version"] == "2"
    got = await calls.get(stub, sid)
    assert (got.version, got.data["n"]) == (2, b"1")  # nothing changed

    # Of concurrent compare-and-sets at one version, exactly one wins.
    outcomes = await asyncio.gather(*(cas(2, b"%d" % i) for i in range(8)), return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(
        isinstance(o, grpc.aio.AioRpcError) and o.code() == grpc.StatusCode.ABORTED
        for o in outcomes
        if isinstance(o, BaseException)
    )
    assert (await calls.get(stub, sid)).version == 3


async def test_delete_session(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url)
    stub = calls.sessions(sc)
    sid = (await calls.create(stub)).session_id
    other = (await calls.create(stub)).session_id
    request = session_pb2.DeleteSessionRequest(namespace=NS, session_id=sid)
    assert (await stub.DeleteSession(request)).deleted
    assert not (await stub.DeleteSession(request)).deleted  # idempotent
    await calls.gone(stub, sid)
    assert (await calls.get(stub, other)).subject == "alice"


# -- revocation ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["redis", "cluster"])
async def test_delete_subject_sessions_revokes_them_all(
    kind: str, request: pytest.FixtureRequest, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(request.getfixturevalue(f"{kind}_url"))
    stub = calls.sessions(sc)
    alice = [(await calls.create(stub, subject="alice")).session_id for _ in range(5)]
    bob = (await calls.create(stub, subject="bob")).session_id
    anonymous = (await calls.create(stub, subject="")).session_id
    await stub.DeleteSession(session_pb2.DeleteSessionRequest(namespace=NS, session_id=alice[0]))

    revoke = session_pb2.DeleteSubjectSessionsRequest(namespace=NS, subject="alice")
    assert (await stub.DeleteSubjectSessions(revoke)).deleted_count == 4  # the live ones
    for sid in alice:
        await calls.gone(stub, sid)
    assert (await calls.get(stub, bob)).subject == "bob"
    assert (await calls.get(stub, anonymous)).subject == ""
    assert (await stub.DeleteSubjectSessions(revoke)).deleted_count == 0
    # A session started after the revocation is unaffected by it, and revocable.
    fresh = (await calls.create(stub, subject="alice")).session_id
    assert (await calls.get(stub, fresh)).subject == "alice"
    assert (await stub.DeleteSubjectSessions(revoke)).deleted_count == 1


async def test_revocation_skips_expired_sessions(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url)
    stub = calls.sessions(sc)
    await calls.create(stub, subject="carol", ttl=0.3)
    live = (await calls.create(stub, subject="carol")).session_id
    await asyncio.sleep(0.4)
    revoke = session_pb2.DeleteSubjectSessionsRequest(namespace=NS, subject="carol")
    assert (await stub.DeleteSubjectSessions(revoke)).deleted_count == 1
    await calls.gone(stub, live)


async def test_memcached_cannot_revoke_by_subject(
    memcached_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(memcached_url)
    stub = calls.sessions(sc)
    sid = (await calls.create(stub, subject="alice")).session_id
    error = await calls.fails(
        stub.DeleteSubjectSessions(
            session_pb2.DeleteSubjectSessionsRequest(namespace=NS, subject="alice")
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_SUPPORTED_BY_BACKEND",
    )
    assert "memcached" in error.details()
    assert NS in error.details()
    assert error_info(error).metadata["kind"] == "memcached"
    assert error_info(error).metadata["capability"] == "SubjectRevocation"
    assert (await calls.get(stub, sid)).subject == "alice"  # nothing was touched


# -- bad input --------------------------------------------------------------------------

_MALFORMED = ["", "short", "x" * 34, "x" * 36, "a" * 34 + "!", "a" * 34 + "=", " " + "a" * 34]


async def test_malformed_ids_are_refused_without_touching_the_backend(
    sidecar_for: SidecarFactory,
) -> None:
    # Nothing listens on this port: any backend call would be UNAVAILABLE.
    sc = await sidecar_for(f"redis://127.0.0.1:{free_port()}/0")
    stub = calls.sessions(sc)
    for sid in _MALFORMED:
        for call in (
            stub.GetSession(session_pb2.GetSessionRequest(namespace=NS, session_id=sid)),
            stub.TouchSession(session_pb2.TouchSessionRequest(namespace=NS, session_id=sid)),
            stub.DeleteSession(session_pb2.DeleteSessionRequest(namespace=NS, session_id=sid)),
            stub.UpdateSession(
                session_pb2.UpdateSessionRequest(
                    namespace=NS, session_id=sid, set_fields={"a": b"1"}
                )
            ),
        ):
            error = await calls.fails(call, grpc.StatusCode.INVALID_ARGUMENT, "SESSION_ID_INVALID")
            if sid:
                assert sid not in error.details()
    await calls.fails(
        calls.create(stub),
        grpc.StatusCode.UNAVAILABLE,
        "BACKEND_UNAVAILABLE",  # the control: the backend really is down
    )


async def test_unknown_sessions_are_not_found(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url)
    stub = calls.sessions(sc)
    sid = "abc" + "A" * 32  # well-formed, never issued
    await calls.gone(stub, sid)
    await calls.fails(
        stub.TouchSession(session_pb2.TouchSessionRequest(namespace=NS, session_id=sid)),
        grpc.StatusCode.NOT_FOUND,
        "SESSION_NOT_FOUND",
    )
    await calls.fails(
        stub.UpdateSession(
            session_pb2.UpdateSessionRequest(namespace=NS, session_id=sid, set_fields={"a": b""})
        ),
        grpc.StatusCode.NOT_FOUND,
        "SESSION_NOT_FOUND",
    )
    deleted = await stub.DeleteSession(
        session_pb2.DeleteSessionRequest(namespace=NS, session_id=sid)
    )
    assert not deleted.deleted
    await calls.fails(
        stub.GetSession(session_pb2.GetSessionRequest(namespace="nope", session_id=sid)),
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_UNKNOWN",
    )


async def test_size_limit(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url, max_value_size="1KiB")
    stub = calls.sessions(sc)
    # Field names count too: 1 + 1023 bytes is exactly the limit.
    sid = (await calls.create(stub, data={"a": b"x" * 1023})).session_id
    await calls.fails(
        calls.create(stub, data={"a": b"x" * 1024}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALUE_TOO_LARGE",
    )

    def update(set_fields: dict[str, bytes], delete_fields: list[str] | None = None) -> Any:
        return stub.UpdateSession(
            session_pb2.UpdateSessionRequest(
                namespace=NS, session_id=sid, set_fields=set_fields, delete_fields=delete_fields
            )
        )

    # Small on its own, too large with what the session already holds.
    error = await calls.fails(
        update({"b": b"y"}), grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LARGE"
    )
    assert "1026" in error.details()
    got = await calls.get(stub, sid)
    assert (dict(got.data), got.version) == ({"a": b"x" * 1023}, 1)
    # Replacing a field counts its new size only; deleting frees its bytes.
    assert (await update({"a": b"z" * 1023})).version == 2
    swapped = await update({"b": b"w" * 1000}, ["a"])
    assert dict(swapped.data) == {"b": b"w" * 1000}
    await calls.fails(
        update({"c": b"v" * 1024}), grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LARGE"
    )


async def test_bad_fields_subjects_and_ttls(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url, max_key_length=16)
    stub = calls.sessions(sc)
    sid = (await calls.create(stub)).session_id
    await calls.fails(
        calls.create(stub, data={"": b"x"}), grpc.StatusCode.INVALID_ARGUMENT, "FIELD_INVALID"
    )
    await calls.fails(
        stub.UpdateSession(
            session_pb2.UpdateSessionRequest(
                namespace=NS, session_id=sid, set_fields={"a": b"1"}, delete_fields=["a"]
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIELD_INVALID",
    )
    await calls.fails(
        calls.create(stub, subject="s" * 17), grpc.StatusCode.INVALID_ARGUMENT, "SUBJECT_INVALID"
    )
    await calls.fails(
        stub.DeleteSubjectSessions(session_pb2.DeleteSubjectSessionsRequest(namespace=NS)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
    )
    await calls.fails(calls.create(stub, ttl=-1), grpc.StatusCode.INVALID_ARGUMENT, "TTL_INVALID")


def test_session_settings_are_validated() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("redis://127.0.0.1:1/0", None, session_max_lifetime="0s")
    assert "namespaces.items.session_max_lifetime" in str(caught.value)
    settings = make_settings("redis://127.0.0.1:1/0", None).namespaces["items"]
    assert (settings.session_max_lifetime.total_seconds(), settings.session_sliding) == (
        86400,
        True,
    )


# -- secrecy ------------------------------------------------------------------------------


async def test_session_ids_never_reach_spans_logs_or_errors(
    redis_url: str, sidecar_for: SidecarFactory, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = InMemorySpanExporter()
    telemetry = Telemetry(tracing=Tracing.with_processor(SimpleSpanProcessor(exporter)))
    sc = await sidecar_for(redis_url, telemetry=telemetry, trace_keys=True)
    stub = calls.sessions(sc)
    caplog.set_level(logging.DEBUG)
    created = await calls.create(stub, subject="alice", data={"a": b"1"})
    sid = created.session_id
    digest = base64.urlsafe_b64encode(hashlib.sha256(sid.encode()).digest()).rstrip(b"=")
    await calls.get(stub, sid)
    await stub.TouchSession(session_pb2.TouchSessionRequest(namespace=NS, session_id=sid))
    errors = [
        await calls.fails(
            stub.UpdateSession(
                session_pb2.UpdateSessionRequest(
                    namespace=NS, session_id=sid, set_fields={"a": b"2"}, expected_version=9
                )
            ),
            grpc.StatusCode.ABORTED,
            "SESSION_VERSION_MISMATCH",
        ),
        await calls.fails(
            calls.get(stub, sid + "x"), grpc.StatusCode.INVALID_ARGUMENT, "SESSION_ID_INVALID"
        ),
    ]
    await stub.DeleteSession(session_pb2.DeleteSessionRequest(namespace=NS, session_id=sid))
    errors.append(
        await calls.fails(calls.get(stub, sid), grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")
    )

    spans = exporter.get_finished_spans()
    assert {s.name for s in spans} >= {
        "cachecar.v1.SessionService/CreateSession",
        "cachecar.v1.SessionService/GetSession",
        "SESSION READ",
    }
    dumped = "\n".join(span.to_json() for span in spans)
    for secret in (sid, sid[3:], digest.decode()):
        assert secret not in dumped
        assert secret not in caplog.text
        for error in errors:
            assert secret not in error.details()
            assert secret not in str(dict(error_info(error).metadata))


async def test_redis_down_is_unavailable(sidecar_for: SidecarFactory) -> None:
    server = RedisServer()
    server.start()
    try:
        sc = await sidecar_for(server.url)
        stub = calls.sessions(sc)
        sid = (await calls.create(stub)).session_id
    finally:
        server.close()
    await calls.fails(calls.get(stub, sid), grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")
