"""Versioned writes: Set/SetMany with a version, a condition and tags; deletes
that leave a tombstone; Touch; the outcome of a refused write as an error.

The store applies the version rule atomically (``backends/versions.py``):
a write or fill never replaces a value with a lower version, and a version
of 0 takes the stored one plus one. A tombstone is an entry with the
tombstone flag, kept for the namespace's ``tombstone_ttl``: readers see a
miss, while a late fill or a replayed change of an older version finds it
and is refused.

Which status for a refusal (https://grpc.io/docs/guides/status-codes/): a
failed condition is a test-and-set that lost a race, so ABORTED (re-read,
then retry the read-modify-write); a version lower than the stored one can
never succeed by retrying, so FAILED_PRECONDITION.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sidecar.backends.base import Fence
from sidecar.backends.versions import Condition, Put, PutOutcome, PutStatus, VersionedStore
from sidecar.errors import Aborted, CacheCarError, FailedPrecondition, SlotMigrating
from sidecar.patterns import tags as tagging
from sidecar.patterns.entry import Entry, decode_record, encode
from sidecar.patterns.flight import now_ms
from sidecar.patterns.namespace import Namespace

__all__ = ["WriteOptions", "check", "delete", "fill", "refusal", "set_many", "touch"]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What a caller may attach to a write."""

    #: The application's version (0: the sidecar's own per-key counter).
    version: int = 0
    condition: Condition = Condition.ALWAYS
    #: For Condition.VERSION: the version the stored value must have.
    expected: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetItem:
    key: str
    value: bytes
    ttl: timedelta | None = None
    options: WriteOptions = WriteOptions()


_UNMET = {
    Condition.ABSENT: ("VALUE_EXISTS", "a value is stored and the write asked for none"),
    Condition.PRESENT: ("VALUE_MISSING", "no value is stored and the write asked for one"),
    Condition.VERSION: ("VERSION_MISMATCH", "the stored version is not the expected one"),
}


def refusal(ns: Namespace, key: str, outcome: PutOutcome, options: WriteOptions) -> CacheCarError:
    """The error a caller sees for a write the store refused."""
    meta = {"namespace": ns.name, "current_version": str(outcome.version)}
    if outcome.status is PutStatus.STALE:
        return FailedPrecondition(
            f"namespace {ns.name!r}: version {options.version} is older than the stored "
            f"version {outcome.version}; a newer write already landed, so this one is "
            "dropped (retrying it cannot succeed)",
            reason="VERSION_STALE",
            metadata=meta,
        )
    if outcome.status is PutStatus.UNMET:
        reason, why = _UNMET[options.condition]
        return Aborted(
            f"namespace {ns.name!r}: condition not met: {why} (stored version "
            f"{outcome.version}); re-read the key and retry the read-modify-write",
            reason=reason,
            metadata=meta,
        )
    return Aborted(
        f"namespace {ns.name!r}: the key kept changing during the write; retry",
        reason="WRITE_CONTENDED",
        metadata=meta,
    )


async def _record(
    ns: Namespace, value: bytes, ttl_ms: int, options: WriteOptions, *, found: bool = True
) -> bytes:
    recorded = await tagging.snapshot(ns, options.tags)
    entry = Entry(found, value, now_ms() + ttl_ms, 0, options.version, recorded)
    return encode(entry)


async def set_many(ns: Namespace, items: list[SetItem]) -> list[int | CacheCarError]:
    """Store each item by the version rule and its condition; per item, the
    stored version or the refusal. One store round trip per slot/server."""
    puts = []
    for item in items:
        ttl_ms = ns.ttl_ms(item.ttl)
        record = await _record(ns, item.value, ttl_ms, item.options)
        puts.append(
            Put(
                ns.keys.value(item.key),
                ns.keys.lease(item.key),
                record,
                ttl_ms + ns.grace_ms,
                condition=item.options.condition,
                expected=item.options.expected,
            )
        )
    outcomes = await ns.require(VersionedStore).put(puts)
    return [
        o.version if o.status is PutStatus.STORED else refusal(ns, i.key, o, i.options)
        for i, o in zip(items, outcomes, strict=True)
    ]


async def fill(
    ns: Namespace, fence: Fence, key: str, entry: Entry, *, tags: tuple[str, ...], ttl_ms: int
) -> PutOutcome:
    """A load's fill: stored only while its lease stands and its version is not
    older than the stored one (a tombstone's included)."""
    recorded = await tagging.snapshot(ns, tags)
    record = encode(
        Entry(entry.found, entry.value, entry.stale_at_ms, entry.load_ms, entry.version, recorded)
    )
    value_key, lease_key = ns.keys.value(key), ns.keys.lease(key)
    put = Put(value_key, lease_key, record, ttl_ms, fence=fence)
    try:
        (outcome,) = await ns.require(VersionedStore).put([put])
    except SlotMigrating:
        # A Redis Cluster slot mid-migration: the core fill parks the value in
        # the lease key for waiters (unversioned: docs/consistency.md, limits).
        stored = await ns.backend.fill(fence, value_key, lease_key, record, ttl_ms)
        return PutOutcome(PutStatus.STORED if stored else PutStatus.FENCED, entry.version)
    return outcome


async def delete(ns: Namespace, keys: list[str], version: int) -> int:
    """Replace each key's value with a tombstone of ``version`` (0: the next
    version); how many had a live value. Older-version deletes are no-ops."""
    ttl_ms = max(1, int(ns.settings.tombstone_ttl.total_seconds() * 1000))
    tomb = encode(Entry(False, b"", 0, 0, version, (), tombstone=True))
    unique = list(dict.fromkeys(keys))
    store = ns.require(VersionedStore)
    before = await ns.backend.get_many([ns.keys.value(k) for k in unique])
    outcomes = await store.put(
        [Put(ns.keys.value(k), ns.keys.lease(k), tomb, ttl_ms) for k in unique]
    )
    removed = 0
    for raw, outcome in zip(before, outcomes, strict=True):
        entry = decode_record(raw) if isinstance(raw, bytes) else None
        if outcome.status is PutStatus.STORED and entry is not None and not entry.tombstone:
            removed += 1
    return removed


async def check(ns: Namespace, key: str, options: WriteOptions) -> None:
    """A write's condition and version against the stored value, before the
    app's writer is called (WriteThrough); raises the refusal."""
    if options.condition is Condition.ALWAYS and options.version == 0:
        return
    raw = await ns.backend.get(ns.keys.value(key))
    entry = decode_record(raw) if isinstance(raw, bytes) else None
    stored = 0 if entry is None else entry.version
    live = entry is not None and entry.found and not entry.tombstone
    condition = options.condition
    status = None
    if (
        (condition is Condition.ABSENT and live)
        or (condition is Condition.PRESENT and not live)
        or (condition is Condition.VERSION and (not live or stored != options.expected))
    ):
        status = PutStatus.UNMET
    elif options.version and options.version < stored:
        status = PutStatus.STALE
    if status is not None:
        raise refusal(ns, key, PutOutcome(status, stored), options)


async def touch(ns: Namespace, key: str, ttl: timedelta | None) -> bool:
    """A new TTL for a live value, without sending the value; False if none."""
    ttl_ms = ns.ttl_ms(ttl)
    return await ns.require(VersionedStore).touch(
        ns.keys.value(key), now_ms() + ttl_ms, ttl_ms + ns.grace_ms
    )
