"""The core contract (``sidecar.backends.base.Backend``), for every component.

Get, get_many, the load lease and its fencing (a fill stores only while its
lease stands: never after an overwrite, a clear, or the lease's expiry and
someone else's re-lease), clear, TTLs, ping and stats. Key and lease key of
one app key share a hash tag, as the pattern layer's KeyLayout makes them.
"""

from __future__ import annotations

import secrets

import pytest

from sidecar.backends.base import MISSING, Backend, Fence, Missing
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import eventually

LONG = 60_000  # ms: a TTL no test outlives
SHORT = 200  # ms: a TTL the test waits out (Memcached rounds it up to 1 s)


def pair(keys: KeyLayout, key: str) -> tuple[bytes, bytes]:
    return keys.value(key), keys.lease(key)


async def leased(component: Backend, keys: KeyLayout, key: str, ttl_ms: int = LONG) -> Fence:
    fence = await component.lease(*pair(keys, key), ttl_ms)
    assert fence is not None, f"the lease of a fresh key {key!r} was refused"
    return fence


# -- get ------------------------------------------------------------------------------


async def test_a_miss_is_missing_and_an_empty_value_is_a_value(
    component: Backend, keys: KeyLayout
) -> None:
    value, lease = pair(keys, "empty")
    assert await component.get(value) is MISSING
    await component.overwrite(value, lease, b"", LONG)
    got = await component.get(value)
    assert got == b""
    assert not isinstance(got, Missing)
    assert await component.get_many([value, keys.value("absent")]) == [b"", MISSING]
    # A load that found an empty value stores it as such.
    fence = await leased(component, keys, "filled-empty")
    assert await component.fill(fence, *pair(keys, "filled-empty"), b"", LONG)
    assert await component.get(keys.value("filled-empty")) == b""


async def test_binary_keys_and_values_round_trip(component: Backend, keys: KeyLayout) -> None:
    tag = keys.value("bin")  # the tails below all keep this key's hash tag
    tails = [
        bytes(range(256)),
        bytes(range(255)) + b"\x00",  # differs from the first in its last byte only
        b" \r\n\x00\t",  # whitespace and control bytes (illegal in a Memcached key)
        b"x" * 300,  # longer than a Memcached key may be
        "ключ 🙂 {}".encode(),
    ]
    values = [bytes(range(256)) * 3, b"\x00", b"\r\nEND\r\n", b"\xff" * 1000, "✓".encode()]
    stored = [tag + tail for tail in tails]
    for key, value in zip(stored, values, strict=True):
        await component.overwrite(key, keys.lease("bin") + key, value, LONG)
    for key, value in zip(stored, values, strict=True):
        assert await component.get(key) == value
    assert await component.get_many(stored) == values


async def test_get_many_keeps_order_duplicates_and_misses(
    component: Backend, keys: KeyLayout
) -> None:
    # Different app keys: in a cluster, different slots (the batch is split).
    names = [f"k{i}" for i in range(6)]
    for i, name in enumerate(names):
        await component.overwrite(*pair(keys, name), b"v%d" % i, LONG)
    asked = [keys.value(n) for n in ["k3", "nope", "k0", "k3", "k5", "nope", "k1"]]
    assert await component.get_many(asked) == [b"v3", MISSING, b"v0", b"v3", b"v5", MISSING, b"v1"]
    assert await component.get_many([]) == []


# -- the lease ------------------------------------------------------------------------


async def test_a_lease_is_exclusive(component: Backend, keys: KeyLayout) -> None:
    await leased(component, keys, "a")
    assert await component.lease(*pair(keys, "a"), LONG) is None
    # Another key's lease is another lease.
    await leased(component, keys, "b")


async def test_a_lease_stores_no_value(component: Backend, keys: KeyLayout) -> None:
    await leased(component, keys, "a")
    assert await component.get(keys.value("a")) is MISSING
    assert await component.get_many([keys.value("a")]) == [MISSING]
    assert await component.parked(*pair(keys, "a")) is MISSING


async def test_an_expired_lease_lets_a_new_one_in(component: Backend, keys: KeyLayout) -> None:
    first = await leased(component, keys, "a", SHORT)
    taken: list[Fence] = []

    async def retaken() -> bool:
        fence = await component.lease(*pair(keys, "a"), LONG)
        if fence is not None:
            taken.append(fence)
        return fence is not None

    await eventually(retaken, "a new lease after the first one's TTL")
    assert taken[0].token != first.token


async def test_a_fill_stores_and_releases_the_lease(component: Backend, keys: KeyLayout) -> None:
    fence = await leased(component, keys, "a")
    assert await component.fill(fence, *pair(keys, "a"), b"loaded", LONG) is True
    assert await component.get(keys.value("a")) == b"loaded"
    assert await component.parked(*pair(keys, "a")) is MISSING
    # Released: the next load (after this value expires, say) can lease at once.
    await leased(component, keys, "a")


async def test_release_gives_the_lease_back_without_storing(
    component: Backend, keys: KeyLayout
) -> None:
    fence = await leased(component, keys, "a")
    await component.release(fence, *pair(keys, "a"))
    assert await component.get(keys.value("a")) is MISSING
    await leased(component, keys, "a")


async def test_a_release_by_a_non_holder_leaves_the_lease(
    component: Backend, keys: KeyLayout
) -> None:
    holder = await leased(component, keys, "a")
    stranger = Fence(secrets.token_bytes(16), holder.version)
    await component.release(stranger, *pair(keys, "a"))
    assert await component.lease(*pair(keys, "a"), LONG) is None
    assert await component.fill(holder, *pair(keys, "a"), b"mine", LONG) is True
    assert await component.get(keys.value("a")) == b"mine"


# -- fencing --------------------------------------------------------------------------


async def test_a_fill_after_an_overwrite_is_refused(component: Backend, keys: KeyLayout) -> None:
    fence = await leased(component, keys, "a")
    await component.overwrite(*pair(keys, "a"), b"set", LONG)
    assert await component.fill(fence, *pair(keys, "a"), b"stale load", LONG) is False
    assert await component.get(keys.value("a")) == b"set"


async def test_an_overwrite_breaks_the_lease(component: Backend, keys: KeyLayout) -> None:
    await leased(component, keys, "a")
    await component.overwrite(*pair(keys, "a"), b"set", LONG)
    # The load in flight can no longer store (above), and the lease is gone:
    # the next load of this key need not wait out the broken one.
    await leased(component, keys, "a")


async def test_a_fill_after_a_clear_is_refused(component: Backend, keys: KeyLayout) -> None:
    await component.overwrite(*pair(keys, "a"), b"old", LONG)
    fence = await leased(component, keys, "a")
    assert await component.clear([keys.value("a")], [keys.lease("a")]) == 1
    assert await component.fill(fence, *pair(keys, "a"), b"stale load", LONG) is False
    assert await component.get(keys.value("a")) is MISSING
    # A clear of a key that was only being loaded (no value yet) fences that load too.
    fence = await leased(component, keys, "b")
    await component.clear([keys.value("b")], [keys.lease("b")])
    assert await component.fill(fence, *pair(keys, "b"), b"stale load", LONG) is False
    assert await component.get(keys.value("b")) is MISSING


@pytest.mark.parametrize("cached", [False, True], ids=["miss", "refresh"])
async def test_a_stale_fence_is_refused_after_a_re_lease(
    component: Backend, keys: KeyLayout, cached: bool
) -> None:
    # "refresh": a value is cached while the key is reloaded (a background
    # refresh within grace leases a key that holds a value).
    if cached:
        await component.overwrite(*pair(keys, "a"), b"cached", LONG)
    stale = await leased(component, keys, "a", SHORT)
    fresh: list[Fence] = []

    async def re_leased() -> bool:
        fence = await component.lease(*pair(keys, "a"), LONG)
        if fence is not None:
            fresh.append(fence)
        return fence is not None

    await eventually(re_leased, "a new lease after the first one's TTL")
    assert await component.fill(stale, *pair(keys, "a"), b"slow load", LONG) is False
    assert await component.fill(fresh[0], *pair(keys, "a"), b"new load", LONG) is True
    assert await component.get(keys.value("a")) == b"new load"


# -- clear ----------------------------------------------------------------------------


async def test_clear_counts_the_values_that_existed_and_breaks_leases(
    component: Backend, keys: KeyLayout
) -> None:
    for name in ("a", "b", "empty"):
        await component.overwrite(*pair(keys, name), b"" if name == "empty" else b"x", LONG)
    await leased(component, keys, "b")  # a value being refreshed
    await leased(component, keys, "loading")  # no value yet: not counted
    names = ["a", "b", "empty", "loading", "absent"]
    removed = await component.clear([keys.value(n) for n in names], [keys.lease(n) for n in names])
    assert removed == 3
    assert await component.get_many([keys.value(n) for n in names]) == [MISSING] * len(names)
    for name in ("b", "loading"):
        await leased(component, keys, name)
    assert await component.clear([], []) == 0


# -- TTLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["overwrite", "fill"])
async def test_a_value_expires_after_its_ttl(component: Backend, keys: KeyLayout, how: str) -> None:
    value, lease = pair(keys, "a")
    if how == "overwrite":
        await component.overwrite(value, lease, b"brief", SHORT)
    else:
        fence = await leased(component, keys, "a")
        assert await component.fill(fence, value, lease, b"brief", SHORT)
    # Next to it, a value with a long TTL outlives the short one.
    await component.overwrite(*pair(keys, "long"), b"lasting", LONG)

    async def expired() -> bool:
        return await component.get(value) is MISSING

    await eventually(expired, f"a value stored by {how} with a {SHORT} ms TTL to expire")
    assert await component.get(keys.value("long")) == b"lasting"


# -- health ---------------------------------------------------------------------------


async def test_ping_and_stats(component: Backend, keys: KeyLayout) -> None:
    await component.ping()  # raises BackendUnavailable if the backend does not answer
    await component.overwrite(*pair(keys, "big"), b"x" * 20_000, LONG)
    stats = await component.stats()
    assert stats, "stats names no server"
    for server, figures in stats.items():
        assert {"memory_bytes", "memory_limit_bytes", "evictions"} <= figures.keys(), server
        assert all(isinstance(v, float) and v >= 0 for v in figures.values()), figures
    # What is stored shows in the memory figures (summed: in a cluster it is on one node).
    assert sum(f["memory_bytes"] for f in stats.values()) >= 20_000
