"""The versioned-store contract (``sidecar.backends.versions.VersionedStore``).

The version rule (a write never replaces a value or tombstone with a lower
version; version 0 means "the stored version plus one"; a "not found" keeps the
stored version), conditions (absent / present / version equals), fencing of a
versioned fill, touch, and tag generation counters — the same on every
component that declares it.
"""

from __future__ import annotations

import secrets
import struct

from sidecar.backends.base import Backend
from sidecar.backends.versions import (
    FLAG_FOUND,
    FLAG_TOMBSTONE,
    RECORD_FORMAT,
    Condition,
    Put,
    PutStatus,
    VersionedStore,
    record_version,
)
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import implementation, needs

pytestmark = needs(VersionedStore)

LONG = 60_000


def record(version: int, *, found: bool = True, tombstone: bool = False) -> bytes:
    """A minimal format-2 record: the head a store reads, then an opaque body."""
    flags = (FLAG_FOUND if found else 0) | (FLAG_TOMBSTONE if tombstone else 0)
    head = struct.pack(">BBQq", RECORD_FORMAT, flags, version, 2**62)
    return head + b"body-" + secrets.token_bytes(4)


def put(keys: KeyLayout, key: str, version: int, **kw: object) -> Put:
    return Put(keys.value(key), keys.lease(key), record(version), LONG, **kw)  # type: ignore[arg-type]


async def test_versions_never_go_backwards(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    (first,) = await store.put([put(keys, "k", 5)])
    assert (first.status, first.version) == (PutStatus.STORED, 5)
    (older,) = await store.put([put(keys, "k", 4)])
    assert (older.status, older.version) == (PutStatus.STALE, 5)
    assert record_version(bytes(await component.get(keys.value("k")))) == 5  # type: ignore[arg-type]
    (same,) = await store.put([put(keys, "k", 5)])
    assert same.status is PutStatus.STORED
    (counter,) = await store.put([put(keys, "k", 0)])  # 0: the stored version plus one
    assert (counter.status, counter.version) == (PutStatus.STORED, 6)


async def test_a_tombstone_refuses_older_versions(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    tomb = Put(keys.value("t"), keys.lease("t"), record(9, found=False, tombstone=True), LONG)
    (deleted,) = await store.put([tomb])
    assert deleted.status is PutStatus.STORED
    (late,) = await store.put([put(keys, "t", 8)])
    assert late.status is PutStatus.STALE
    (newer,) = await store.put([put(keys, "t", 10)])
    assert newer.status is PutStatus.STORED


async def test_conditions(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    (present,) = await store.put([put(keys, "c", 0, condition=Condition.PRESENT)])
    assert present.status is PutStatus.UNMET
    (absent,) = await store.put([put(keys, "c", 0, condition=Condition.ABSENT)])
    assert (absent.status, absent.version) == (PutStatus.STORED, 1)
    (again,) = await store.put([put(keys, "c", 0, condition=Condition.ABSENT)])
    assert (again.status, again.version) == (PutStatus.UNMET, 1)
    (wrong,) = await store.put([put(keys, "c", 0, condition=Condition.VERSION, expected=7)])
    assert (wrong.status, wrong.version) == (PutStatus.UNMET, 1)
    (right,) = await store.put([put(keys, "c", 0, condition=Condition.VERSION, expected=1)])
    assert (right.status, right.version) == (PutStatus.STORED, 2)


async def test_a_versioned_fill_is_fenced_by_its_lease(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    fence = await component.lease(keys.value("f"), keys.lease("f"), LONG)
    assert fence is not None
    (write,) = await store.put([put(keys, "f", 3)])  # an app write breaks the lease
    assert write.status is PutStatus.STORED
    (fill,) = await store.put([put(keys, "f", 4, fence=fence)])
    assert fill.status is PutStatus.FENCED
    assert record_version(bytes(await component.get(keys.value("f")))) == 3  # type: ignore[arg-type]


async def test_a_batch_answers_per_item_in_order(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    await store.put([put(keys, "b1", 5)])
    outcomes = await store.put([put(keys, f"b{i}", 3) for i in range(5)])
    assert [o.status for o in outcomes] == [
        PutStatus.STORED,
        PutStatus.STALE,
        PutStatus.STORED,
        PutStatus.STORED,
        PutStatus.STORED,
    ]


async def test_touch_changes_the_expiry_of_live_records_only(
    component: Backend, keys: KeyLayout
) -> None:
    store = implementation(component, VersionedStore)
    assert await store.touch(keys.value("absent"), 2**40, LONG) is False
    await store.put([put(keys, "live", 2)])
    assert await store.touch(keys.value("live"), 2**40, LONG) is True
    assert record_version(bytes(await component.get(keys.value("live")))) == 2  # type: ignore[arg-type]


async def test_tag_generations(component: Backend, keys: KeyLayout) -> None:
    store = implementation(component, VersionedStore)
    tag = [keys.value("tag:a"), keys.value("tag:b")]
    assert await store.generations(tag, create=None) == [None, None]
    created = await store.generations(tag, create=100)
    assert created == [100, 100]
    await store.bump(tag[:1], seed=100)
    after = await store.generations(tag, create=None)
    assert after[0] is not None
    assert after[0] > 100
    assert after[1] == 100
    await store.bump([keys.value("tag:new")], seed=500)  # a missing counter starts past seed
    (fresh,) = await store.generations([keys.value("tag:new")], create=None)
    assert fresh is not None
    assert fresh > 500
