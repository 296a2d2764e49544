"""A Memcached node leaving the pool moves only its own keys (rendezvous hashing).

Measured two ways on real memcached children: through the backend's own
server choice (the pymemcache HashClient it builds picks the node of every
command) for 10,000 keys, and end to end: keys filled through a sidecar,
one node stopped, the keys read back through a sidecar whose pool no longer
lists it. The fractions are printed (``pytest -s``); the assertions are the
structural property only: no key moves between surviving nodes, so exactly
the removed node's keys miss.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from cachecar.v1 import cache_pb2
from pymemcache.client.base import Client as MemcacheClient
from pymemcache.client.murmur3 import murmur3_32

from sidecar.backends.memcached import MemcachedBackend, memcached_key
from sidecar.config import BackendSettings
from sidecar.devmode import MemcachedServer, MissingBinary, ServerStartError
from sidecar.patterns.keys import KeyLayout
from tests.appfixtures import SidecarFactory

Node = tuple[str, int]
KEYS = 10_000
#: The namespace and key prefix of tests.appfixtures.make_settings.
LAYOUT = KeyLayout(prefix=b"cc:", namespace="items")


@pytest.fixture
def memcached_nodes() -> Iterator[list[MemcachedServer]]:
    nodes: list[MemcachedServer] = []
    try:
        for _ in range(5):
            nodes.append(MemcachedServer().start())
    except (MissingBinary, ServerStartError) as exc:
        for node in nodes:
            node.kill()
            node.close()
        pytest.fail(f"could not start memcached: {exc}", pytrace=False)
    yield nodes
    for node in nodes:
        # Nothing to save: SIGTERM would wait for memcached's next clock tick.
        node.kill()
        node.close()


def _url(nodes: list[MemcachedServer]) -> str:
    return "memcached://" + ",".join(f"{n.host}:{n.port}" for n in nodes)


def _stored(key: str) -> bytes:
    """The key a namespace-``items`` value is stored under in Memcached."""
    return memcached_key(LAYOUT.value(key))


def _placement(url: str, keys: list[str]) -> dict[str, Node]:
    """Which server the backend sends each key to, by its own HashClient."""
    backend = MemcachedBackend("mc", BackendSettings(url=url))
    try:
        # _get_client is the call every HashClient command makes to pick the
        # node; building clients opens no connection.
        client = backend._client  # the choice under test
        return {k: tuple(client._get_client(_stored(k)).server) for k in keys}
    finally:
        backend._pool.shutdown()  # no event loop here for aclose


@pytest.mark.parametrize("count", [3, 5])
def test_removing_a_node_moves_only_its_keys(
    count: int, memcached_nodes: list[MemcachedServer]
) -> None:
    nodes = memcached_nodes[:count]
    removed = nodes[count // 2]
    keys = [f"product-{i}" for i in range(KEYS)]
    before = _placement(_url(nodes), keys)
    after = _placement(_url([n for n in nodes if n is not removed]), keys)
    gone: Node = (removed.host, removed.port)
    moved = [k for k in keys if before[k] != after[k]]
    between_survivors = [k for k in moved if before[k] != gone]
    on_removed = sum(1 for k in keys if before[k] == gone)
    # What a modulo hash (hash(key) % servers) would have moved, for contrast.
    hashes = [murmur3_32(_stored(k).decode()) for k in keys]
    modulo_moved = sum(1 for h in hashes if h % count != h % (count - 1))
    shares = Counter(before.values())
    print(
        f"\nrendezvous, {count} -> {count - 1} nodes: moved {len(moved) / KEYS:.4f} of "
        f"{KEYS} keys (1/N = {1 / count:.4f}), between survivors {len(between_survivors)}; "
        f"modulo hashing would move {modulo_moved / KEYS:.4f}; "
        f"shares {sorted(n / KEYS for n in shares.values())}"
    )
    assert between_survivors == []
    assert len(moved) == on_removed
    # Every moved key left the removed node, and no key is still sent there.
    assert gone not in set(after.values())
    # A sanity bound, not a tolerance: 1/N +- 0.5/N is ~25 standard
    # deviations at 10,000 keys, so only a broken hash fails it.
    assert 0.5 / count < len(moved) / KEYS < 1.5 / count


def _on_node(node: MemcachedServer, keys: list[str]) -> set[str]:
    """The keys ``node`` itself holds (asked directly, not through the hashing)."""
    client = MemcacheClient((node.host, node.port), connect_timeout=5, timeout=5)
    try:
        held: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found = client.get_many([_stored(k) for k in chunk])
            held.update(k for k in chunk if _stored(k) in found)
        return held
    finally:
        client.close()


@pytest.mark.parametrize("count", [3, 5])
async def test_keys_of_surviving_nodes_still_hit_end_to_end(
    count: int, memcached_nodes: list[MemcachedServer], sidecar_for: SidecarFactory
) -> None:
    nodes = memcached_nodes[:count]
    removed = nodes[count // 2]
    keys = [f"product-{i}" for i in range(2000)]
    filler = await sidecar_for(_url(nodes))
    for start in range(0, len(keys), 200):
        await asyncio.gather(
            *(
                filler.cache.Set(
                    cache_pb2.SetRequest(namespace="items", key=k, value=k.encode()), timeout=10
                )
                for k in keys[start : start + 200]
            )
        )
    held = {id(n): await asyncio.to_thread(_on_node, n, keys) for n in nodes}
    assert sum(len(h) for h in held.values()) == len(keys)  # each key on exactly one node
    lost = held[id(removed)]
    removed.kill()  # the node leaves; the pool is reconfigured without it
    reader = await sidecar_for(_url([n for n in nodes if n is not removed]))
    hits: set[str] = set()
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        got = await asyncio.gather(
            *(
                reader.cache.Get(cache_pb2.GetRequest(namespace="items", key=k), timeout=10)
                for k in chunk
            )
        )
        hits.update(k for k, r in zip(chunk, got, strict=True) if r.found and r.value == k.encode())
    print(
        f"\nend to end, {count} -> {count - 1} nodes: {len(hits) / len(keys):.4f} of "
        f"{len(keys)} keys still hit; the removed node held {len(lost) / len(keys):.4f}"
    )
    assert hits == set(keys) - lost
