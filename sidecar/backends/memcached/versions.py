"""Versioned writes on Memcached: gets, the version rule, then cas (or add).

Memcached has no scripts, so the version rule of ``backends/versions.py``
runs here between a ``gets`` and a ``cas`` on the value key: the cas stores
only if nobody changed the key in between, else the whole step is retried
(a few times, then CONTENDED). A load's fill is fenced as the core fill is:
its cas uses the CAS version pinned when the lease was taken.

A batch of writes (SetMany, a delete's tombstones) runs in one hop to the
thread pool and costs two round trips per server, not two per key: one
``gets_many`` reads every key of a server, then every ``cas`` (or ``add``
for an absent key) of a server goes in one pipelined send (``pipeline.py``).
A store that lost a race is decided again from a fresh read; a key gives up
(CONTENDED) after ``_TRIES`` lost races. A fenced fill (one key) keeps the
single gets/cas.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from sidecar.backends.breaker import CircuitBreaker, guarded
from sidecar.backends.memcached.pipeline import Store, store_many
from sidecar.backends.versions import (
    Put,
    PutOutcome,
    PutStatus,
    decide,
    record_live,
    record_version,
    restale,
    stamp,
)
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["MemcachedVersions"]

# Attempts of one gets/cas step before giving up as CONTENDED.
_TRIES = 8


class MemcachedVersions:
    """VersionedStore over the Memcached backend's client and thread pool."""

    def __init__(
        self,
        client: Any,
        *,
        run: Callable[..., Coroutine[Any, Any, Any]],
        encode_key: Callable[[bytes], bytes],
        expiry: Callable[[int], int],
        observer: CommandObserver,
        breaker: CircuitBreaker,
    ) -> None:
        self._client = client
        self._run = run
        self._key = encode_key
        self._expiry = expiry
        self.observer = observer
        self.breaker = breaker

    @observed("vput")
    @guarded
    async def put(self, puts: Sequence[Put]) -> list[PutOutcome]:
        if not puts:
            return []
        if any(p.fence is not None for p in puts):
            outcomes: list[PutOutcome] = await self._run(lambda: [self._put(p) for p in puts])
        else:
            outcomes = await self._run(self._put_batch, puts)
        return outcomes

    def _put_batch(self, puts: Sequence[Put]) -> list[PutOutcome]:
        """Unfenced puts, all keys at once: gets_many, decide, pipelined cas/add.

        One put per key per round, in item order: a later item of the same key
        waits for the next round and decides against what the earlier one
        stored (one gets/cas pair per key and round cannot carry two stores).
        A key gives up (CONTENDED, with its later items) after _TRIES stores of
        its own lost a race; waiting behind an earlier item is no lost race."""
        keys = [self._key(p.key) for p in puts]
        outcomes: list[PutOutcome | None] = [None] * len(puts)
        current: dict[bytes, tuple[bytes, bytes]] = {}
        losses: dict[bytes, int] = {}
        waiting = list(range(len(puts)))
        while waiting:
            now: list[int] = []
            later: list[int] = []
            seen: set[bytes] = set()
            for i in waiting:
                (later if keys[i] in seen else now).append(i)
                seen.add(keys[i])
            current = self._client.gets_many([keys[i] for i in now])
            stores: list[tuple[int, int, Store]] = []
            for i in now:
                value, cas = current.get(keys[i], (None, None))
                decided = decide(value, puts[i])
                if isinstance(decided, PutOutcome):
                    outcomes[i] = decided
                    continue
                record = stamp(puts[i].record, decided)
                expire = self._expiry(puts[i].ttl_ms)
                stores.append((i, decided, Store(keys[i], record, expire, cas)))
            stored = store_many(self._client, [store for _, _, store in stores])
            lost: list[int] = []
            for (i, version, _), ok in zip(stores, stored, strict=True):
                if ok:
                    outcomes[i] = PutOutcome(PutStatus.STORED, version)
                else:
                    lost.append(i)  # changed under us: read and decide again
                    losses[keys[i]] = losses.get(keys[i], 0) + 1
            waiting = []
            for i in sorted(lost + later):
                if losses.get(keys[i], 0) >= _TRIES:
                    value, _ = current.get(keys[i], (None, None))
                    outcomes[i] = PutOutcome(PutStatus.CONTENDED, record_version(value))
                else:
                    waiting.append(i)
        return [o for o in outcomes if o is not None]

    def _put(self, put: Put) -> PutOutcome:
        client = self._client
        key = self._key(put.key)
        current: bytes | None = None
        for _ in range(_TRIES):
            current, cas = client.gets(key)
            if put.fence is not None and (
                put.fence.version is None or cas is None or int(cas) != put.fence.version
            ):
                self._release(put)
                return PutOutcome(PutStatus.FENCED, record_version(current))
            decided = decide(current, put)
            if isinstance(decided, PutOutcome):
                if put.fence is not None:
                    self._release(put)
                return decided
            record = stamp(put.record, decided)
            expire = self._expiry(put.ttl_ms)
            if current is None:
                stored = client.add(key, record, expire, noreply=False)
            else:
                stored = client.cas(key, record, cas, expire, noreply=False)
            if stored:
                if put.fence is not None:
                    self._release(put)
                return PutOutcome(PutStatus.STORED, decided)
            if put.fence is not None:  # the key changed since the lease: fenced
                self._release(put)
                return PutOutcome(PutStatus.FENCED, record_version(current))
        return PutOutcome(PutStatus.CONTENDED, record_version(current))

    def _release(self, put: Put) -> None:
        assert put.fence is not None
        lease = self._key(put.lease_key)
        held, _ = self._client.gets(lease)
        if held == put.fence.token:
            self._client.delete(lease, noreply=False)

    @observed("vtouch")
    @guarded
    async def touch(self, key: bytes, stale_at_ms: int, ttl_ms: int) -> bool:
        encoded = self._key(key)

        def touch() -> bool:
            for _ in range(_TRIES):
                current, cas = self._client.gets(encoded)
                if not record_live(current):
                    return False
                changed = restale(current, stale_at_ms)
                if changed is None:
                    return False
                # Memcached's own `touch` cannot change the stale-at time in
                # the header, so the record is rewritten (sidecar to server only).
                if self._client.cas(encoded, changed, cas, self._expiry(ttl_ms), noreply=False):
                    return True
            return False

        done: bool = await self._run(touch)
        return done

    @observed("get_multi")
    @guarded
    async def generations(self, keys: Sequence[bytes], *, create: int | None) -> list[int | None]:
        if not keys:
            return []
        encoded = [self._key(k) for k in keys]

        def read() -> list[int | None]:
            found = self._client.get_many(encoded)
            if create is not None and len(found) < len(encoded):
                for k in encoded:
                    if k not in found:
                        self._client.add(k, b"%d" % create, 0, noreply=False)
                found = self._client.get_many(encoded)
            return [None if (v := found.get(k)) is None else int(v) for k in encoded]

        values: list[int | None] = await self._run(read)
        return values

    @observed("incr")
    @guarded
    async def bump(self, keys: Sequence[bytes], seed: int) -> None:
        encoded = [self._key(k) for k in keys]

        def bump_all() -> None:
            for k in encoded:
                if self._client.incr(k, 1, noreply=False) is None and not self._client.add(
                    k, b"%d" % (seed + 1), 0, noreply=False
                ):
                    # Another sidecar created it in between: advance that one.
                    self._client.incr(k, 1, noreply=False)

        await self._run(bump_all)
