"""The Python client (``cachecar``) against a real sidecar over real Redis and
Memcached, with the app's Loader/Writer served by ``cachecar.serve_app``.

Covers every RPC, the error mapping (exception class + ErrorInfo reason),
deadlines and the retry policy. An UNIMPLEMENTED answer fails the test: every
RPC of the protos is served.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from cachecar import (
    Aborted,
    CacheCar,
    CacheCarError,
    DeadlineExceeded,
    ErrorReason,
    FailedPrecondition,
    InvalidArgument,
    Loaded,
    NoRetry,
    NotFound,
    SetItem,
    Unavailable,
    Write,
    serve_app,
)
from cachecar.v1 import cache_pb2, error_reason_pb2, pubsub_pb2

from sidecar.devmode import free_port
from sidecar.errors import REASONS
from tests.appfixtures import wait_until


@dataclass
class App:
    """The app's database and a record of every call cachecar made to it."""

    rows: dict[str, bytes] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    load_delay: float = 0.0
    fail_keys: dict[str, Exception] = field(default_factory=dict)

    async def load(self, namespace: str, key: str) -> bytes | Loaded | None:
        self.loads.append(key)
        if self.load_delay:
            await asyncio.sleep(self.load_delay)
        if key in self.fail_keys:
            raise self.fail_keys[key]
        if key == "short-lived":
            return Loaded(b"brief", ttl=timedelta(seconds=30))
        return self.rows.get(key)

    async def write(self, write: Write) -> None:
        if write.key in self.fail_keys:
            raise self.fail_keys[write.key]
        self.writes.append(write)
        if write.delete:
            self.rows.pop(write.key, None)
        else:
            self.rows[write.key] = write.value

    async def write_batch(self, writes: Sequence[Write]) -> None:
        self.batches.append(len(writes))
        for w in writes:
            await self.write(w)


@pytest.fixture
async def app() -> App:
    return App(rows={"42": json.dumps({"name": "tea"}).encode()})


@pytest.fixture
async def cc(app: App, sidecar_with: object) -> AsyncIterator[CacheCar]:
    async with serve_app(load=app.load, write=app.write, write_batch=app.write_batch) as server:
        sidecar = await sidecar_with(server.target)  # type: ignore[operator]
        async with CacheCar(sidecar.address, timeout=5.0) as client:
            yield client


# -- cache-aside ---------------------------------------------------------------


@pytest.mark.parametrize("ns", ["products", "products-mc"])
async def test_get_or_load_misses_once_then_hits(cc: CacheCar, app: App, ns: str) -> None:
    first = await cc.get_or_load(ns, "42")
    assert (first.found, json.loads(first.value), first.source) == (
        True,
        {"name": "tea"},
        cache_pb2.SOURCE_LOADER,
    )
    second = await cc.get_or_load(ns, "42")
    assert (second.value, second.source) == (first.value, cache_pb2.SOURCE_CACHE)
    assert app.loads == ["42"]


async def test_concurrent_misses_call_a_python_loader_once(cc: CacheCar, app: App) -> None:
    app.load_delay = 0.2
    app.rows["7"] = b"seven"
    results = await asyncio.gather(*(cc.get_or_load("products", "7") for _ in range(50)))
    assert {r.value for r in results} == {b"seven"}
    assert app.loads == ["7"]


async def test_loader_none_is_not_found_and_loaded_carries_a_ttl(cc: CacheCar, app: App) -> None:
    missing = await cc.get_or_load("products", "nope")
    assert (missing.found, missing.value) == (False, b"")
    brief = await cc.get_or_load("products", "short-lived")
    assert (brief.found, brief.value) == (True, b"brief")


async def test_get_or_load_many_reports_a_failed_key_alone(cc: CacheCar, app: App) -> None:
    app.fail_keys["bad"] = Unavailable("the database is down")
    results = await cc.get_or_load_many("products", ["42", "bad", "nope"])
    assert [r.key for r in results] == ["42", "bad", "nope"]
    assert [r.found for r in results] == [True, False, False]
    assert results[1].error.reason == "LOADER_UNAVAILABLE"
    assert not results[0].HasField("error")


async def test_a_loader_bug_reaches_the_caller_as_loader_failed(cc: CacheCar, app: App) -> None:
    app.fail_keys["boom"] = ZeroDivisionError("secret row details")
    with pytest.raises(CacheCarError) as caught:
        await cc.get_or_load("products", "boom")
    assert caught.value.reason == "LOADER_FAILED"
    assert "secret row details" not in caught.value.message


# -- plain cache -----------------------------------------------------------------


@pytest.mark.parametrize("ns", ["plain", "products-mc"])
async def test_set_get_invalidate(cc: CacheCar, ns: str) -> None:
    assert not (await cc.get(ns, "k")).found
    await cc.set(ns, "k", b"", ttl=timedelta(minutes=5))
    got = await cc.get(ns, "k")
    assert (got.found, got.value) == (True, b"")  # an empty value is a value
    await cc.set(ns, "j", b"v", ttl=60)
    assert await cc.invalidate(ns, ["k", "j", "absent"]) == 2
    assert await cc.invalidate(ns, "k") == 0  # one str is one key, not three
    assert not (await cc.get(ns, "k")).found


@pytest.mark.parametrize("ns", ["plain", "products-mc"])
async def test_versions_conditions_tags_and_batches(cc: CacheCar, ns: str) -> None:
    assert await cc.set(ns, "v", b"a", if_absent=True) == 1
    with pytest.raises(Aborted) as lost:
        await cc.set(ns, "v", b"b", if_version=7)
    assert (lost.value.reason, lost.value.metadata["current_version"]) == ("VERSION_MISMATCH", "1")
    assert await cc.set(ns, "v", b"b", if_version=1) == 2
    assert await cc.set(ns, "v", b"c", version=10) == 10
    with pytest.raises(FailedPrecondition) as stale:
        await cc.set(ns, "v", b"old", version=9)
    assert stale.value.reason == "VERSION_STALE"
    assert (await cc.get(ns, "v")).version == 10
    assert await cc.touch(ns, "v", ttl=600)
    assert not await cc.touch(ns, "absent")
    results = await cc.set_many(
        ns, [SetItem("t1", b"1", tags=["grp"]), SetItem("t2", b"2"), SetItem("v", b"x", version=1)]
    )
    assert [(r.stored, r.error.reason) for r in results] == [
        (True, ""),
        (True, ""),
        (False, "VERSION_STALE"),
    ]
    await cc.invalidate_tags(ns, "grp")
    got = await cc.get_many(ns, ["t1", "t2", "v"])
    assert [(r.key, r.found) for r in got] == [("t1", False), ("t2", True), ("v", True)]
    assert await cc.invalidate(ns, "v", version=11) == 1
    with pytest.raises(FailedPrecondition):
        await cc.set(ns, "v", b"resurrected", version=10)


# -- write-through / write-behind ----------------------------------------------


@pytest.mark.parametrize("ns", ["products", "products-mc"])
async def test_write_through_writes_then_caches(cc: CacheCar, app: App, ns: str) -> None:
    write_id = await cc.write_through(ns, "9", b"new")
    assert [(w.key, w.value, w.write_id, w.delete) for w in app.writes] == [
        ("9", b"new", write_id, False)
    ]
    got = await cc.get(ns, "9")
    assert got.value == b"new"
    assert write_id.version == got.version > 0
    await cc.write_through(ns, "9", delete=True)
    assert "9" not in app.rows
    assert app.writes[-1].delete


async def test_a_failed_write_through_leaves_the_cache_alone(cc: CacheCar, app: App) -> None:
    await cc.set("products", "9", b"old")
    app.fail_keys["9"] = Unavailable("the database is down")
    with pytest.raises(Unavailable) as caught:
        await cc.write_through("products", "9", b"new")
    assert caught.value.reason == "WRITER_UNAVAILABLE"
    assert (await cc.get("products", "9")).value == b"old"


async def test_write_behind_queues_coalesces_and_flushes(cc: CacheCar, app: App) -> None:
    ids = [await cc.enqueue_write("orders", "o1", b"v%d" % i) for i in range(5)]
    await cc.enqueue_write("orders", "o2", delete=True)
    assert len(set(ids)) == 5
    assert (await cc.get("orders", "o1")).value == b"v4"  # the cache answers at once
    queue = await cc.get_write_queue("orders")
    assert queue.pending_count == 6
    flushed = await cc.flush_writes("orders", timeout=10)
    assert flushed.pending_count == 0
    assert app.rows["o1"] == b"v4"
    assert [w.key for w in app.writes] == ["o1", "o2"]  # 5 writes of o1 became one
    assert app.writes[0].write_id == ids[-1]
    assert await cc.replay_dead_letters("orders") == 0
    assert (await cc.get_write_queue("orders")).dead_letter_count == 0


async def test_enqueue_write_versions_and_conditions(cc: CacheCar, app: App) -> None:
    five = await cc.enqueue_write("orders", "v1", b"five", version=5)
    assert isinstance(five, str)  # the write id, as before
    assert five.version == 5
    with pytest.raises(FailedPrecondition) as stale:
        await cc.enqueue_write("orders", "v1", b"three", version=3)
    assert (stale.value.reason, stale.value.metadata["current_version"]) == ("VERSION_STALE", "5")
    with pytest.raises(Aborted) as exists:
        await cc.enqueue_write("orders", "v1", b"x", if_absent=True)
    assert exists.value.reason == "VALUE_EXISTS"
    with pytest.raises(Aborted) as missing:
        await cc.enqueue_write("orders", "v2", b"x", if_present=True)
    assert missing.value.reason == "VALUE_MISSING"
    six = await cc.enqueue_write("orders", "v1", b"six", if_version=5)
    assert six.version == 6
    assert (await cc.get_write_queue("orders")).pending_count == 2
    await cc.flush_writes("orders", timeout=10)
    assert [(w.key, w.value, w.version) for w in app.writes] == [("v1", b"six", 6)]


# -- errors, deadlines, retries ------------------------------------------------


async def test_errors_are_typed_and_carry_the_reason(cc: CacheCar) -> None:
    with pytest.raises(NotFound) as unknown:
        await cc.get("no-such-namespace", "k")
    assert (unknown.value.reason, unknown.value.domain) == ("NAMESPACE_UNKNOWN", "cachecar")
    assert "no-such-namespace" in unknown.value.message
    with pytest.raises(InvalidArgument) as bad_key:
        await cc.get("plain", "")
    assert bad_key.value.reason == "KEY_INVALID"
    with pytest.raises(FailedPrecondition) as no_loader:
        await cc.get_or_load("plain", "k")
    assert no_loader.value.reason == "LOADER_NOT_CONFIGURED"
    with pytest.raises(FailedPrecondition) as no_queue:
        await cc.enqueue_write("products-mc", "k", b"v")
    assert no_queue.value.reason in {"WRITE_BEHIND_NOT_CONFIGURED", "NOT_SUPPORTED_BY_BACKEND"}
    # The same reasons as ErrorReason values, for == and match.
    assert unknown.value.error_reason == ErrorReason.NAMESPACE_UNKNOWN
    assert bad_key.value.error_reason == ErrorReason.KEY_INVALID
    assert no_loader.value.error_reason == ErrorReason.LOADER_NOT_CONFIGURED
    assert ErrorReason.Name(no_queue.value.error_reason) == no_queue.value.reason


def test_error_reason_is_the_generated_enum_the_sidecar_uses() -> None:
    assert ErrorReason is error_reason_pb2.ErrorReason
    assert set(ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"} == REASONS


def test_error_reason_of_errors_built_here_and_of_unknown_reasons() -> None:
    built = Unavailable("db down", reason=ErrorReason.BACKEND_UNAVAILABLE)
    assert (built.reason, built.error_reason) == (
        "BACKEND_UNAVAILABLE",
        ErrorReason.BACKEND_UNAVAILABLE,
    )
    assert str(built) == "UNAVAILABLE/BACKEND_UNAVAILABLE: db down"
    # None, a newer sidecar's reason, another domain's: unspecified, the string kept.
    assert Unavailable("refused").error_reason == ErrorReason.ERROR_REASON_UNSPECIFIED
    newer = NotFound("m", reason="SOMETHING_NEW", domain="cachecar")
    assert (newer.reason, newer.error_reason) == (
        "SOMETHING_NEW",
        ErrorReason.ERROR_REASON_UNSPECIFIED,
    )
    foreign = NotFound("m", reason="NOT_FOUND", domain="example.com")
    assert foreign.error_reason == ErrorReason.ERROR_REASON_UNSPECIFIED
    assert (
        NotFound("m", reason="NOT_FOUND", domain="cachecar").error_reason == ErrorReason.NOT_FOUND
    )


async def test_every_call_has_a_deadline(cc: CacheCar, app: App) -> None:
    app.load_delay = 3.0
    app.rows["slow"] = b"v"
    with pytest.raises(DeadlineExceeded):
        await cc.get_or_load("products", "slow", timeout=0.3)
    async with CacheCar(cc.target, timeout=0.3) as short:
        with pytest.raises(DeadlineExceeded):
            await short.get_or_load("products", "slow2")


@dataclass
class CountingBackoff:
    """Retries at once, up to ``attempts`` attempts, recording each question."""

    attempts: int = 3
    asked: list[int] = field(default_factory=list)

    def delay(self, failures: int) -> float | None:
        self.asked.append(failures)
        return 0.01 if failures < self.attempts else None


async def test_unavailable_is_retried_only_on_idempotent_calls() -> None:
    backoff = CountingBackoff()
    async with CacheCar(f"127.0.0.1:{free_port()}", timeout=5, backoff=backoff) as dead:
        with pytest.raises(Unavailable) as caught:
            await dead.get_or_load("products", "42")
        assert caught.value.reason == ""  # the transport's status, not the sidecar's
        assert backoff.asked == [1, 2, 3]
        backoff.asked.clear()
        with pytest.raises(Unavailable):
            await dead.write_through("products", "42", b"v")
        with pytest.raises(Unavailable):
            await dead.increment_counter("games", "c")
        with pytest.raises(Unavailable):
            await dead.add_score("games", "b", "m", 1, mode="increment")
        assert backoff.asked == []
        with pytest.raises(Unavailable):
            await dead.add_score("games", "b", "m", 1, mode="keep_greater")
        assert backoff.asked == [1, 2, 3]


async def test_retries_stop_at_the_deadline() -> None:
    class Slow:
        def delay(self, failures: int) -> float | None:
            return 10.0  # longer than the deadline: give up instead of sleeping past it

    async with CacheCar(f"127.0.0.1:{free_port()}", timeout=0.5, backoff=Slow()) as dead:
        with pytest.raises(Unavailable):
            await dead.get("plain", "k")
    async with CacheCar(f"127.0.0.1:{free_port()}", backoff=NoRetry()) as dead:
        with pytest.raises(Unavailable):
            await dead.get("plain", "k")


# -- sessions --------------------------------------------------------------------


@pytest.mark.parametrize("ns", ["sessions", "sessions-mc"])
async def test_session_lifecycle(cc: CacheCar, ns: str) -> None:
    created = await cc.create_session(ns, "alice", {"role": b"admin"}, ttl=600)
    sid = created.session_id
    assert created.version == 1
    got = await cc.get_session(ns, sid)
    assert (dict(got.data), got.subject) == ({"role": b"admin"}, "alice")
    updated = await cc.update_session(ns, sid, {"cart": b"[1]"}, ["role"], expected_version=1)
    assert (dict(updated.data), updated.version) == ({"cart": b"[1]"}, 2)
    with pytest.raises(Aborted) as stale:
        await cc.update_session(ns, sid, {"cart": b"[]"}, expected_version=1)
    assert stale.value.reason == "SESSION_VERSION_MISMATCH"
    touched = await cc.touch_session(ns, sid)
    assert touched.version == 2
    assert await cc.delete_session(ns, sid)
    assert not await cc.delete_session(ns, sid)
    with pytest.raises(NotFound) as gone:
        await cc.get_session(ns, sid)
    assert gone.value.reason == "SESSION_NOT_FOUND"


async def test_subject_revocation_on_redis_only(cc: CacheCar) -> None:
    for _ in range(3):
        await cc.create_session("sessions", "bob")
    assert await cc.delete_subject_sessions("sessions", "bob") == 3
    with pytest.raises(FailedPrecondition) as caught:
        await cc.delete_subject_sessions("sessions-mc", "bob")
    assert caught.value.reason == "NOT_SUPPORTED_BY_BACKEND"


# -- leaderboards and counters -----------------------------------------------------


async def test_leaderboard(cc: CacheCar) -> None:
    for member, score in [("ann", 30), ("bo", 10), ("cy", 20)]:
        await cc.add_score("games", "weekly", member, score)
    bumped = await cc.add_score("games", "weekly", "bo", 25, mode="increment")
    assert (bumped.score, bumped.rank) == (35, 1)
    kept = await cc.add_score("games", "weekly", "ann", 5, mode="keep_greater")
    assert (kept.updated, kept.score) == (False, 30)
    top = await cc.get_top("games", "weekly", limit=2)
    assert [(e.member, e.rank) for e in top.entries] == [("bo", 1), ("ann", 2)]
    assert top.member_count == 3
    rank = await cc.get_rank("games", "weekly", "cy")
    assert (rank.entry.rank, rank.entry.score) == (3, 20)
    around = await cc.get_around("games", "weekly", "ann", count=1)
    assert [e.member for e in around.entries] == ["bo", "ann", "cy"]
    assert await cc.remove_member("games", "weekly", "cy")
    with pytest.raises(NotFound) as missing:
        await cc.get_rank("games", "weekly", "cy")
    assert missing.value.reason == "MEMBER_NOT_FOUND"
    fastest = await cc.add_score("games", "fastest", "ann", 9.5, mode="keep_lower")
    assert fastest.rank == 1


async def test_counters(cc: CacheCar) -> None:
    assert not (await cc.get_counter("games", "logins:al")).found
    first = await cc.increment_counter("games", "logins:al", window=timedelta(minutes=1))
    second = await cc.increment_counter("games", "logins:al", 2)
    assert (first.value, second.value) == (1, 3)
    assert first.HasField("window_ends_at")
    counter = await cc.get_counter("games", "logins:al")
    assert (counter.found, counter.value) == (True, 3)
    with pytest.raises(InvalidArgument):
        await cc.increment_counter("games", "logins:al", 0)
    with pytest.raises(FailedPrecondition) as caught:
        await cc.get_counter("products-mc", "c")
    assert caught.value.reason == "NOT_SUPPORTED_BY_BACKEND"


# -- pub/sub -----------------------------------------------------------------------


async def test_publish_reaches_an_active_subscription(cc: CacheCar) -> None:
    async with cc.subscribe("events", ["news"], patterns=["alerts.*"]) as sub:
        assert sub.subscribed is not None
        assert list(sub.subscribed.channels) == ["news"]
        sent = await cc.publish("events", "news", b"hello")
        assert sent.local_receiver_count == 1
        await cc.publish("events", "alerts.fire", b"hot")
        got: list[tuple[str, str, bytes]] = []
        async for event in sub:
            assert isinstance(event, pubsub_pb2.MessageEvent)
            got.append((event.channel, event.pattern, event.payload))
            if len(got) == 2:
                break
    assert got == [("news", "", b"hello"), ("alerts.fire", "alerts.*", b"hot")]


async def test_a_durable_subscriber_resumes_after_its_last_message(cc: CacheCar) -> None:
    ids = [(await cc.publish("events", "audit.log", b"m%d" % i)).message_id for i in range(3)]
    assert all(ids)
    async with cc.subscribe("events", ["audit.log"], resume_ids={"audit.log": ids[0]}) as sub:
        got = []
        async for event in sub:
            assert isinstance(event, pubsub_pb2.MessageEvent)
            got.append((event.message_id, event.payload))
            if len(got) == 2:
                break
    assert got == [(ids[1], b"m1"), (ids[2], b"m2")]


async def test_subscription_errors_are_typed(cc: CacheCar) -> None:
    with pytest.raises(InvalidArgument):
        async with cc.subscribe("events"):
            pass  # neither channels nor patterns


async def test_serve_app_reports_app_errors_to_cachecar(app: App, sidecar_with: object) -> None:
    """A loader that is down (Unavailable) lets cachecar say LOADER_UNAVAILABLE."""
    app.fail_keys["k"] = Unavailable("db down")
    async with serve_app(load=app.load) as server:
        sidecar = await sidecar_with(server.target)  # type: ignore[operator]
        async with CacheCar(sidecar.address, backoff=NoRetry()) as client:
            with pytest.raises(Unavailable) as caught:
                await client.get_or_load("products", "k")
            assert caught.value.reason == "LOADER_UNAVAILABLE"
            with pytest.raises(CacheCarError):
                # This app serves no writer: the sidecar passes that on.
                await client.write_through("products", "k", b"v")
    await wait_until(lambda: app.loads.count("k") >= 1)
