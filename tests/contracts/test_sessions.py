"""The session contracts: SessionStore (Redis, Redis Cluster, Memcached) and
SubjectRevocation (Redis, Redis Cluster).

Keys are built as ``patterns/sessions.py`` builds them: a session's record
and its subject's index share a shard, hence a cluster slot. ``now_ms`` is
the real clock (Redis expires keys by its own), moved ahead only a second or
two to see sliding, never past an expiry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
import time

from sidecar.backends.base import MISSING, Backend
from sidecar.backends.capabilities import (
    FieldChanges,
    SessionKeys,
    SessionRecord,
    SessionStore,
    SubjectRevocation,
    TooLarge,
    VersionMismatch,
)
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import eventually, implementation, needs

pytestmark = needs(SessionStore)

TTL = 60_000
BIG = 1 << 20  # a max_size no test reaches


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def shard(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()[:3]


def session_keys(keys: KeyLayout, subject: str = "alice") -> SessionKeys:
    """A new session's keys: a fresh digest in the subject's shard."""
    digest = secrets.token_hex(16).encode()
    prefix = keys.tagged(b"s", shard(subject))
    return SessionKeys(
        key=prefix + digest,
        member=digest,
        index_prefix=keys.tagged(b"u", shard(subject)),
        session_prefix=prefix,
    )


def new_record(
    now: int,
    subject: str = "alice",
    data: dict[str, bytes] | None = None,
    *,
    ttl_ms: int = TTL,
    lifetime_ms: int = 10 * TTL,
) -> SessionRecord:
    absolute = now + lifetime_ms
    return SessionRecord(
        subject=subject,
        data=data or {},
        version=1,
        created_ms=now,
        expires_ms=min(now + ttl_ms, absolute),
        absolute_ms=absolute,
        ttl_ms=ttl_ms,
    )


def changes(
    set_fields: dict[str, bytes] | None = None,
    delete: tuple[str, ...] = (),
    *,
    expected: int = 0,
    max_size: int = BIG,
) -> FieldChanges:
    return FieldChanges(set_fields or {}, list(delete), expected, max_size)


async def created(
    store: SessionStore, keys: KeyLayout, record: SessionRecord, now: int
) -> SessionKeys:
    where = session_keys(keys, record.subject)
    assert await store.session_create(where, record, now) is True
    return where


# -- SessionStore ---------------------------------------------------------------------


async def test_a_created_session_reads_back_whole(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    data = {"a": b"1", "empty": b"", "bin": bytes(range(256)), "ünï": b"\r\n"}
    record = new_record(now, data=data)
    where = await created(store, keys, record, now)
    assert await store.session_read(where, now, slide=False, with_data=True) == record
    # Without data: the metadata only.
    bare = await store.session_read(where, now, slide=False, with_data=False)
    assert bare == dataclasses.replace(record, data={})


async def test_create_refuses_a_taken_key(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    first = new_record(now, data={"who": b"first"})
    where = await created(store, keys, first, now)
    second = new_record(now, "mallory", {"who": b"second"})
    assert await store.session_create(where, second, now) is False
    assert await store.session_read(where, now, slide=False, with_data=True) == first


async def test_an_unknown_session_is_missing(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    where, now = session_keys(keys), now_ms()
    assert await store.session_read(where, now, slide=True, with_data=True) is MISSING
    assert await store.session_update(where, now, changes({"a": b"1"}), slide=True) is MISSING
    assert await store.session_delete(where, now) is False


async def test_a_read_slides_the_idle_expiry_when_asked(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now)
    where = await created(store, keys, record, now)
    unslid = await store.session_read(where, now + 1000, slide=False, with_data=False)
    assert isinstance(unslid, SessionRecord)
    assert unslid.expires_ms == record.expires_ms
    slid = await store.session_read(where, now + 1000, slide=True, with_data=False)
    assert isinstance(slid, SessionRecord)
    assert (slid.expires_ms, slid.version) == (now + 1000 + TTL, 1)
    again = await store.session_read(where, now + 1500, slide=False, with_data=True)
    assert isinstance(again, SessionRecord)
    assert again.expires_ms == now + 1000 + TTL
    assert again.absolute_ms == record.absolute_ms


async def test_sliding_stops_at_the_absolute_expiry(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now, lifetime_ms=TTL + 500)
    where = await created(store, keys, record, now)
    slid = await store.session_read(where, now + 1000, slide=True, with_data=False)
    assert isinstance(slid, SessionRecord)
    assert slid.expires_ms == slid.absolute_ms == now + TTL + 500


async def test_an_update_sets_and_deletes_fields_together(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now, data={"a": b"1", "b": b"2"})
    where = await created(store, keys, record, now)
    after = await store.session_update(
        where, now, changes({"b": b"20", "c": b""}, ("a", "never-set")), slide=False
    )
    expected = dataclasses.replace(record, data={"b": b"20", "c": b""}, version=2)
    assert after == expected
    assert await store.session_read(where, now, slide=False, with_data=True) == expected


async def test_an_update_at_the_wrong_version_changes_nothing(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now, data={"a": b"1"})
    where = await created(store, keys, record, now)
    refused = await store.session_update(where, now, changes({"a": b"2"}, expected=5), slide=True)
    assert refused == VersionMismatch(current=1)
    assert await store.session_read(where, now, slide=False, with_data=True) == record
    applied = await store.session_update(where, now, changes({"a": b"2"}, expected=1), slide=False)
    assert isinstance(applied, SessionRecord)
    assert (applied.version, dict(applied.data)) == (2, {"a": b"2"})


async def test_an_update_past_the_size_limit_changes_nothing(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now, data={"a": b"x" * 10, "é": b"y" * 5})  # 11 + 7 bytes
    where = await created(store, keys, record, now)
    # Names count in bytes; a replaced field counts once; deleted fields not at all.
    grown = changes({"a": b"x" * 12, "b": b"z" * 9}, max_size=31)  # 13 + 7 + 10 = 30
    too_big = changes({"c": b"w" * 40}, ("a",), max_size=31)  # 7 + 41 = 48
    assert await store.session_update(where, now, too_big, slide=True) == TooLarge(size=48)
    assert await store.session_read(where, now, slide=False, with_data=True) == record
    applied = await store.session_update(where, now, grown, slide=False)
    assert isinstance(applied, SessionRecord)
    assert applied.data == {"a": b"x" * 12, "é": b"y" * 5, "b": b"z" * 9}
    exact = changes({"b": b"z" * 10}, max_size=31)  # 31: at the limit is allowed
    assert isinstance(await store.session_update(where, now, exact, slide=False), SessionRecord)
    over = changes({"b": b"z" * 11}, max_size=31)
    assert await store.session_update(where, now, over, slide=False) == TooLarge(size=32)


async def test_an_update_slides_only_when_asked(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    record = new_record(now)
    where = await created(store, keys, record, now)
    kept = await store.session_update(where, now + 1000, changes({"a": b"1"}), slide=False)
    assert isinstance(kept, SessionRecord)
    assert kept.expires_ms == record.expires_ms
    slid = await store.session_update(where, now + 1000, changes({"a": b"2"}), slide=True)
    assert isinstance(slid, SessionRecord)
    assert slid.expires_ms == now + 1000 + TTL
    assert slid.version == 3


async def test_concurrent_updates_of_different_fields_all_survive(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    where = await created(store, keys, new_record(now), now)
    results = await asyncio.gather(
        *(
            store.session_update(where, now, changes({f"f{i}": b"%d" % i}), slide=True)
            for i in range(8)
        )
    )
    assert all(isinstance(r, SessionRecord) for r in results), results
    final = await store.session_read(where, now, slide=False, with_data=True)
    assert isinstance(final, SessionRecord)
    assert final.version == 9
    assert final.data == {f"f{i}": b"%d" % i for i in range(8)}


async def test_delete_ends_the_session(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    where = await created(store, keys, new_record(now), now)
    other = await created(store, keys, new_record(now), now)
    assert await store.session_delete(where, now) is True
    assert await store.session_read(where, now, slide=True, with_data=True) is MISSING
    assert await store.session_delete(where, now) is False
    assert await store.session_read(other, now, slide=False, with_data=False) is not MISSING


async def test_a_session_expires_after_its_idle_ttl(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    now = now_ms()
    brief = await created(store, keys, new_record(now, ttl_ms=300), now)
    lasting = await created(store, keys, new_record(now), now)

    async def gone() -> bool:
        got = await store.session_read(brief, now_ms(), slide=False, with_data=False)
        return got is MISSING

    await eventually(gone, "a session with a 300 ms idle TTL to expire")
    assert await store.session_read(lasting, now_ms(), slide=False, with_data=False) is not MISSING


# -- SubjectRevocation ----------------------------------------------------------------


def index_of(keys: KeyLayout, subject: str) -> tuple[bytes, bytes]:
    """The subject's index key and its sessions' key prefix."""
    return keys.tagged(b"u", shard(subject), subject.encode()), keys.tagged(b"s", shard(subject))


@needs(SessionStore, SubjectRevocation)
async def test_revoking_a_subject_ends_every_session_of_it(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, SessionStore)
    revocation = implementation(component, SubjectRevocation)
    now = now_ms()
    alice = [await created(store, keys, new_record(now, "alice"), now) for _ in range(3)]
    bob = await created(store, keys, new_record(now, "bob"), now)
    assert await revocation.session_revoke_subject(*index_of(keys, "alice"), now) == 3
    for where in alice:
        assert await store.session_read(where, now, slide=False, with_data=False) is MISSING
    assert await store.session_read(bob, now, slide=False, with_data=False) is not MISSING
    assert await revocation.session_revoke_subject(*index_of(keys, "alice"), now) == 0
    assert await revocation.session_revoke_subject(*index_of(keys, "nobody"), now) == 0


@needs(SessionStore, SubjectRevocation)
async def test_revocation_counts_live_sessions_only(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, SessionStore)
    revocation = implementation(component, SubjectRevocation)
    now = now_ms()
    expiring = await created(store, keys, new_record(now, "carol", ttl_ms=300), now)
    deleted = await created(store, keys, new_record(now, "carol"), now)
    live = await created(store, keys, new_record(now, "carol"), now)
    assert await store.session_delete(deleted, now)

    async def expired() -> bool:
        return await store.session_read(expiring, now_ms(), slide=False, with_data=False) is MISSING

    await eventually(expired, "a session with a 300 ms idle TTL to expire")
    assert await revocation.session_revoke_subject(*index_of(keys, "carol"), now_ms()) == 1
    assert await store.session_read(live, now_ms(), slide=False, with_data=False) is MISSING
