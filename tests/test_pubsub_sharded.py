"""Sharded pub/sub (``channels.sharded``) on a real 3-master Redis Cluster.

What it must show: a publish costs only the shard that owns the channel
(per node: INFO commandstats, CLUSTER INFO's bus messages, PUBSUB
SHARDNUMSUB), where a broadcast publish reaches every node; subscribers on
two sidecars get every message in order; when the owner fails over or the
channel's slot migrates, subscribers follow it and their stream carries a
MissedEvent (RESUBSCRIBED) for the gap, then the new messages. And what is
refused: patterns in a sharded namespace, ``sharded`` on Memcached.

No timing assertions; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import pubsub_pb2 as pb
from redis.crc import key_slot

from sidecar.config import ConfigError, settings_from_mapping
from sidecar.devmode import RedisServer
from tests.appfixtures import RunningSidecar, SidecarFactory, error_info, wait_until
from tests.pubsubhelpers import Subscriber, numbered, ordinals, publish, publish_all, subscribe
from tests.servers import RedisCluster, replicated_cluster
from tests.test_slot_migration import migrating

SHARDED = {"sharded": True}


def _redis_channel(channel: str) -> bytes:
    # The key layout's name of a fire-and-forget channel of namespace "items".
    return f"cc:p{{items:{channel}}}".encode()


def _slot_owners(cluster: RedisCluster) -> list[tuple[int, int, tuple[str, int]]]:
    first = cluster.master_nodes()[0]
    with redis.Redis(first.host, first.port) as r:
        ranges = r.execute_command("CLUSTER SLOTS")
    return [(start, end, (m[0].decode(), int(m[1]))) for start, end, m, *_ in ranges]


def _owner(cluster: RedisCluster, channel: str) -> tuple[str, int]:
    """The master that owns ``channel``'s slot, asked of the cluster itself."""
    slot = key_slot(_redis_channel(channel))
    return next(owner for start, end, owner in _slot_owners(cluster) if start <= slot <= end)


def _one_channel_per_master(cluster: RedisCluster) -> list[str]:
    ranges = _slot_owners(cluster)
    found: dict[tuple[str, int], str] = {}
    for i in range(1000):  # bounded: three masters are found within a few names
        name = f"ch{i}"
        slot = key_slot(_redis_channel(name))
        owner = next(o for start, end, o in ranges if start <= slot <= end)
        found.setdefault(owner, name)
        if len(found) == len(cluster.master_nodes()):
            return list(found.values())
    raise AssertionError(f"not every master owns one of the names: {found}")


def _node_stats(address: tuple[str, int]) -> dict[str, int]:
    """The per-node traffic a publish can cause."""
    with redis.Redis(*address, decode_responses=True) as r:
        commands = r.info("commandstats")
        bus = r.cluster("INFO")
    return {
        "publish_calls": int(commands.get("cmdstat_publish", {}).get("calls", 0)),
        "spublish_calls": int(commands.get("cmdstat_spublish", {}).get("calls", 0)),
        "bus_publish_received": int(bus.get("cluster_stats_messages_publish_received", 0)),
        "bus_publishshard_received": int(
            bus.get("cluster_stats_messages_publishshard_received", 0)
        ),
    }


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def _shardnumsub(address: tuple[str, int], channel: str) -> int:
    with redis.Redis(*address) as r:
        reply = r.pubsub_shardnumsub(_redis_channel(channel))
    return int(dict(reply)[_redis_channel(channel)])


async def _read_through(subscriber: Subscriber, last: int, within: float = 10.0) -> None:
    """Read until the message numbered ``last`` arrived (bounded)."""
    for _ in range(1000):
        if subscriber.messages and int(subscriber.messages[-1].payload) >= last:
            return
        await subscriber.read_one(within)
    raise AssertionError(f"message {last} never arrived")


def _masters(cluster: RedisCluster) -> list[tuple[str, int]]:
    return [(n.host, n.port) for n in cluster.master_nodes()]


# -- (1) traffic stays on the owning shard ------------------------------------------


async def test_a_sharded_publish_costs_only_the_owning_shard_a_broadcast_one_every_node(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    sharded = await sidecar_for(cluster_url, channels=SHARDED)
    broadcast = await sidecar_for(cluster_url)
    owner = _owner(redis_cluster, "news")
    others = [a for a in _masters(redis_cluster) if a != owner]
    listener = await subscribe(sharded.channel, ["news"])
    # The subscription lives on the owner only.
    assert _shardnumsub(owner, "news") == 1
    assert [_shardnumsub(a, "news") for a in others] == [0, 0]

    count = 50
    s0 = {a: _node_stats(a) for a in _masters(redis_cluster)}
    sent = await publish_all(sharded.channel, "news", numbered(count))
    s1 = {a: _node_stats(a) for a in _masters(redis_cluster)}
    await listener.take(count)
    assert listener.payloads == numbered(count)
    assert {(r.receiver_count, r.local_receiver_count) for r in sent} == {(1, 1)}
    assert _delta(s0[owner], s1[owner])["spublish_calls"] == count
    for address in others:
        # Nothing at all reached the other shards: no command, no bus message.
        assert _delta(s0[address], s1[address]) == dict.fromkeys(s0[address], 0), address

    # The same publishes in broadcast mode: every other node gets each one
    # over the cluster bus, whether or not anyone there listens.
    await publish_all(broadcast.channel, "news", numbered(count))
    for address, base in s1.items():  # bus messages arrive a little after the publish returns

        def arrived(address: tuple[str, int] = address, base: dict[str, int] = base) -> bool:
            got = _delta(base, _node_stats(address))
            # The node redis-py sent PUBLISH to ran it; every other one got it by bus.
            return got["publish_calls"] + got["bus_publish_received"] >= count

        await wait_until(arrived, within=20)
    s2 = {a: _node_stats(a) for a in _masters(redis_cluster)}
    broadcast_delta = {a: _delta(s1[a], s2[a]) for a in s1}
    assert sum(d["publish_calls"] for d in broadcast_delta.values()) == count
    assert sum(d["bus_publish_received"] for d in broadcast_delta.values()) >= 2 * count
    for address in others:
        # And still no sharded traffic ever reached them (the late bus messages included).
        late = _delta(s0[address], s2[address])
        assert late["bus_publishshard_received"] == late["spublish_calls"] == 0
    assert listener.missed == []


# -- (2) order across sidecars --------------------------------------------------------------


async def test_subscribers_on_two_sidecars_get_every_message_in_order_on_every_shard(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    first = await sidecar_for(cluster_url, channels=SHARDED)
    second = await sidecar_for(cluster_url, channels=SHARDED)
    channels = _one_channel_per_master(redis_cluster)
    subscribers = [
        await subscribe(first.channel, channels),
        await subscribe(second.channel, channels),
        await subscribe(second.channel, channels[:1]),
    ]
    for channel in channels:
        owner = _owner(redis_cluster, channel)
        assert _shardnumsub(owner, channel) == 2  # one connection per sidecar, on the owner
    count = 300
    readers = [
        asyncio.ensure_future(subscribers[0].take(count * len(channels), within=60)),
        asyncio.ensure_future(subscribers[1].take(count * len(channels), within=60)),
        asyncio.ensure_future(subscribers[2].take(count, within=60)),
    ]
    # Both sidecars publish, each on its own channels, interleaved.
    for i in range(count):
        for n, channel in enumerate(channels):
            publisher = first if n % 2 == 0 else second
            await publish(publisher.channel, channel, str(i).encode())
    await asyncio.gather(*readers)
    for subscriber in subscribers[:2]:
        for channel in channels:
            got = [m.payload for m in subscriber.messages if m.channel == channel]
            assert got == numbered(count), channel
        assert subscriber.missed == []
    assert subscribers[2].payloads == numbered(count)


async def test_unsubscribing_and_subscribing_again_at_once_is_no_gap(
    cluster_url: str,
    redis_cluster: RedisCluster,
    sidecar_for: SidecarFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The reply to our own SUNSUBSCRIBE may arrive after the next SSUBSCRIBE
    # went out: it must not be taken for the node dropping the channel.
    caplog.set_level(logging.INFO, logger="cachecar.pubsub")
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    keeper = await subscribe(sc.channel, ["other"])
    for _ in range(50):
        churn = await subscribe(sc.channel, ["churn"])
        churn.cancel()
    last = await subscribe(sc.channel, ["churn"])
    owner = _owner(redis_cluster, "churn")
    await wait_until(lambda: _shardnumsub(owner, "churn") == 1, within=20)
    await publish_all(sc.channel, "churn", numbered(10))
    await publish_all(sc.channel, "other", numbered(3))
    assert (last.payloads, [m.payload for m in await last.take(10)]) == ([], numbered(10))
    assert [m.payload for m in await keeper.take(3)] == numbered(3)
    assert last.missed == keeper.missed == []
    # Not even a silent resubscribe: no reply was mistaken for a drop.
    assert not [r for r in caplog.records if "dropped a sharded channel" in r.getMessage()]
    shards = sc.sidecar.pubsub._backends["main"].sharded
    assert shards is not None
    assert set(shards[1].owners().values()) <= {f"{h}:{p}" for h, p in _masters(redis_cluster)}


# -- (3) failover -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failover_cluster() -> Iterator[RedisCluster]:
    # node_timeout 1 s: a dead master is noticed, and its replica elected, in ~2 s.
    with replicated_cluster(node_timeout_ms=1000) as cluster:
        yield cluster


async def _until_delivered(
    publisher: RunningSidecar, channel: str, subscribers: list[Subscriber], start: int
) -> int:
    """Publish numbered messages until every subscriber received one; the next number."""
    # Readers in the background: cancelling a read would cancel the stream.
    readers = [asyncio.ensure_future(_read_through(s, start, within=60)) for s in subscribers]
    n = start
    codes: set[grpc.StatusCode] = set()
    try:
        for _ in range(600):  # bounded: a resubscribe takes a few backoff rounds at most
            try:
                await publish(publisher.channel, channel, str(n).encode())
            except grpc.aio.AioRpcError as exc:
                codes.add(exc.code())  # mid-failover: a clean error
            n += 1
            if all(r.done() for r in readers):
                break
            await asyncio.sleep(0.05)
        for reader in readers:
            reader.result()  # raises if a reader failed or never finished
    finally:
        for reader in readers:
            reader.cancel()
    assert codes <= {grpc.StatusCode.UNAVAILABLE}, codes
    return n


async def test_a_failover_of_the_owner_resubscribes_and_reports_the_gap(
    failover_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    url = failover_cluster.url
    first = await sidecar_for(url, channels=SHARDED)
    second = await sidecar_for(url, channels=SHARDED)
    owner = _owner(failover_cluster, "news")
    subscribers = [
        await subscribe(first.channel, ["news"]),
        await subscribe(second.channel, ["news"]),
    ]
    await publish_all(first.channel, "news", numbered(20))
    for s in subscribers:
        await s.take(20)

    victim = next(n for n in failover_cluster.nodes if (n.host, n.port) == owner)
    victim.kill()
    try:
        await asyncio.to_thread(failover_cluster.wait_healthy, 30.0)
        promoted = _owner(failover_cluster, "news")
        assert promoted != owner
        after = await _until_delivered(first, "news", subscribers, start=1000)
        await wait_until(lambda: _shardnumsub(promoted, "news") == 2, within=20)
        await publish_all(
            first.channel, "news", [str(i).encode() for i in range(after, after + 20)]
        )
        for s in subscribers:
            await _read_through(s, after + 19)
            got = ordinals(s.payloads)
            # Before the kill: everything, in order; then a reported gap; then
            # in order again (fire-and-forget: what was published in the gap is lost).
            assert got[:20] == list(range(20))
            assert got[20:] == sorted(got[20:])
            assert got[-20:] == list(range(after, after + 20))
            assert [(m.reason, m.missed_count) for m in s.missed] == [
                (pb.MISSED_REASON_RESUBSCRIBED, 0)
            ]
            gap = s.events.index("missed")
            assert s.events[:gap].count("message") == 20  # the gap sits where it happened
    finally:
        victim.restart()  # it rejoins as a replica of the promoted one
        await asyncio.to_thread(failover_cluster.wait_healthy, 30.0)


# -- (4) slot migration ---------------------------------------------------------------------


async def test_a_slot_migration_moves_the_subscription_to_the_new_owner(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    other = await sidecar_for(cluster_url, channels=SHARDED)
    channel = "moving"
    owner = _owner(redis_cluster, channel)
    subscribers = [
        await subscribe(sc.channel, [channel]),
        await subscribe(other.channel, [channel]),
    ]
    await publish_all(sc.channel, channel, numbered(10))
    for s in subscribers:
        await s.take(10)

    with migrating(redis_cluster, key_slot(_redis_channel(channel))):
        pass  # no keys in a channel's slot: the move is the hand-over itself
    moved_to = _owner(redis_cluster, channel)
    assert moved_to != owner
    # The old owner dropped its shard subscribers (sunsubscribe); both
    # sidecars follow the channel to its new owner.
    await wait_until(lambda: _shardnumsub(moved_to, channel) == 2, within=20)
    assert _shardnumsub(owner, channel) == 0
    after = await _until_delivered(sc, channel, subscribers, start=100)
    await publish_all(sc.channel, channel, [str(i).encode() for i in range(after, after + 10)])
    for s in subscribers:
        await _read_through(s, after + 9)
        got = ordinals(s.payloads)
        assert got[:10] == list(range(10))
        assert got[-10:] == list(range(after, after + 10))
        assert [(m.reason, m.missed_count) for m in s.missed] == [
            (pb.MISSED_REASON_RESUBSCRIBED, 0)
        ]
        assert s.events.index("missed") == 10


# -- (5) what is refused, and the standalone fallback -----------------------------------------


async def test_patterns_are_refused_in_a_sharded_namespace(
    cluster_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await subscribe(sc.channel, ["news"], ["news.*"])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == "PATTERN_INVALID"
    assert "SPSUBSCRIBE" in (caught.value.details() or "")
    assert sc.sidecar.pubsub.active_subscriptions() == 0
    # Channels by name still work, and durable channels stay on streams.
    durable = await sidecar_for(cluster_url, channels={**SHARDED, "durable": ["audit"]})
    audit = await subscribe(durable.channel, ["audit"])
    sent = await publish(durable.channel, "audit", b"kept")
    assert sent.message_id
    assert (await audit.take(1))[0].payload == b"kept"


def test_sharded_is_refused_at_start_on_memcached() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(
            {
                "backends": {"mc": "memcached://127.0.0.1:11211"},
                "namespaces": {"items": {"backend": "mc", "channels": SHARDED}},
            }
        )
    assert "namespaces.items.channels.sharded" in str(caught.value)
    assert "Memcached" in str(caught.value)


async def test_on_a_standalone_redis_sharded_falls_back_to_plain_publish(
    redis_url: str, redis_server: RedisServer, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url, channels=SHARDED)
    news = await subscribe(sc.channel, ["news"], ["news.*"])  # patterns work here
    address = (redis_server.host, redis_server.port)
    with redis.Redis(*address, decode_responses=True) as r:
        before = r.info("commandstats")
    await publish_all(sc.channel, "news", numbered(5))
    await news.take(5)
    with redis.Redis(*address, decode_responses=True) as r:
        after = r.info("commandstats")

    def calls(stats: dict[str, dict[str, int]], name: str) -> int:
        return int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))

    assert calls(after, "publish") - calls(before, "publish") >= 5
    assert calls(after, "spublish") == calls(before, "spublish")


async def test_a_second_subscriber_of_a_sharded_channel_hears_of_the_gap(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    first = await subscribe(sc.channel, ["news"])
    second = await subscribe(sc.channel, ["news"])
    await publish(sc.channel, "news", b"0")
    await first.take(1)
    await second.take(1)
    owner = _owner(redis_cluster, "news")
    with redis.Redis(*owner) as r:
        r.client_kill_filter(_type="pubsub")
    await asyncio.sleep(0.5)
    await wait_until(lambda: _shardnumsub(owner, "news") == 1, within=10)
    await publish(sc.channel, "news", b"1")
    await first.take(1)
    await second.take(1)
    assert first.events == ["message", "missed", "message"]
    assert second.events == ["message", "missed", "message"]


async def test_two_shards_lost_together_each_gap_is_reported(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    # One Subscribe over channels on two shards; a network blip drops both
    # subscriber connections, and B's node reconnects later than A's. A
    # message published on B before B is back must be followed by a
    # MissedEvent: one gap flag per Subscribe reported only A's return.
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    a, b = _one_channel_per_master(redis_cluster)[:2]
    sub = await subscribe(sc.channel, [a, b])
    await publish(sc.channel, a, b"a0")
    await publish(sc.channel, b, b"b0")
    await sub.take(2)
    owner_a, owner_b = _owner(redis_cluster, a), _owner(redis_cluster, b)
    # Fault injection inside the sidecar: hold B's reconnect until released.
    pair = sc.sidecar.pubsub._backends["main"].sharded
    assert pair is not None
    hub_b = pair[1]._hubs[f"{owner_b[0]}:{owner_b[1]}"]
    gate = asyncio.Event()
    connect = hub_b._connect

    async def late() -> Any:
        await gate.wait()
        return await connect()

    hub_b._connect = late
    for host, port in (owner_a, owner_b):
        with redis.Redis(host, port) as r:
            r.client_kill_filter(_type="pubsub")
    await wait_until(lambda: _shardnumsub(owner_a, a) == 1, within=10)
    await publish(sc.channel, a, b"a1")
    while b"a1" not in [m.payload for m in sub.messages]:
        await sub.read_one(5)
    await publish(sc.channel, b, b"b-lost")  # B's node has no subscriber yet
    gate.set()
    await wait_until(lambda: _shardnumsub(owner_b, b) == 1, within=10)
    await publish(sc.channel, b, b"b2")
    while b"b2" not in [m.payload for m in sub.messages]:
        await sub.read_one(5)
    # Nothing missing may follow the last MissedEvent: after it, only b2.
    last = len(sub.events) - 1 - sub.events[::-1].index("missed")
    assert sub.events[last + 1 :] == ["message"], sub.events
    assert sub.messages[-1].payload == b"b2"


class _Quiet:
    """A hub listener that records nothing (the test watches Redis instead)."""

    def on_message(self, incoming: Any) -> None:
        pass

    def on_subscribed(self, topic: Any) -> None:
        pass

    def on_lost(self, topic: Any) -> None:
        pass


async def test_a_channel_wanted_again_while_others_unsubscribe_stays_subscribed(
    cluster_url: str, redis_cluster: RedisCluster, sidecar_for: SidecarFactory
) -> None:
    # Three channels of one node released together: a sharded hub unsubscribes
    # them one command at a time, from a list made before the first await. A
    # Subscribe to the third while the first SUNSUBSCRIBE was in flight found
    # it still confirmed, and the list then unsubscribed it anyway: wanted,
    # not subscribed, nothing reported. Driven on the node's hub directly, with
    # the first SUNSUBSCRIBE held, so the interleaving is certain.
    sc = await sidecar_for(cluster_url, channels=SHARDED)
    owner = _owner(redis_cluster, "ch0")
    names = [n for n in (f"ch{i}" for i in range(1000)) if _owner(redis_cluster, n) == owner][:3]
    topics = [_redis_channel(n) for n in names]  # what the hub subscribes
    first = await subscribe(sc.channel, names)  # creates the node's hub
    pair = sc.sidecar.pubsub._backends["main"].sharded
    assert pair is not None
    hub = pair[1]._hubs[f"{owner[0]}:{owner[1]}"]
    listener, newcomer = _Quiet(), _Quiet()
    for topic in topics:
        hub.watch("channel", topic, listener)
    first.cancel()

    def only_ours() -> bool:
        return all(hub._wanted["channel"][t].listeners == {listener} for t in topics)

    await wait_until(only_ours, within=10)
    conn = hub._conn
    assert conn is not None
    held, release = asyncio.Event(), asyncio.Event()
    send = conn.send

    async def slow_send(command: Any, *args: bytes) -> None:
        if command == "SUNSUBSCRIBE" and not held.is_set():
            held.set()
            await release.wait()
        await send(command, *args)

    conn.send = slow_send  # type: ignore[method-assign]
    for topic in topics:  # one tick: the reconciler sees all three released
        hub.unwatch("channel", topic, listener)
    await asyncio.wait_for(held.wait(), 10)
    hub.watch("channel", topics[2], newcomer)  # wanted again, still confirmed
    release.set()

    def released() -> bool:
        return _shardnumsub(owner, names[0]) == 0 and _shardnumsub(owner, names[1]) == 0

    await wait_until(released, within=10)
    await asyncio.sleep(0.5)  # any later reconcile would have run by now
    assert _shardnumsub(owner, names[2]) == 1
    hub.unwatch("channel", topics[2], newcomer)
