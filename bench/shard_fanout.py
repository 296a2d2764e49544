"""Publish fan-out on a Redis Cluster: broadcast PUBLISH vs sharded SPUBLISH.

A private Redis Cluster (3 masters, then 3 masters x 1 replica), one
``python -m sidecar serve`` with two namespaces that differ only in
``channels.sharded``, one Subscribe stream per namespace on the sidecar (so
every message has a receiver). Per mode: ``MESSAGES`` Publish calls of
``PAYLOAD`` bytes on one channel, 32 in flight. Measured per node and summed
over the cluster, as deltas over the publishing window:

- cluster-bus messages sent (CLUSTER INFO ``cluster_stats_messages_sent``,
  all types: the pub/sub ones plus the gossip that flows anyway) and the
  pub/sub ones alone (``..._publish_sent`` + ``..._publishshard_sent``);
- Redis CPU (INFO cpu ``used_cpu_sys`` + ``used_cpu_user``), every node.

Both per publish, side by side. Never fails on the figures.

    python -m bench.shard_fanout
    python -m bench --only shard_fanout
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import redis
import yaml
from cachecar.v1 import pubsub_pb2 as pb
from cachecar.v1 import pubsub_pb2_grpc

from bench.procs import sidecar_child
from bench.report import Section, num
from tests.servers import RedisCluster

__all__ = ["run_shard_fanout"]

MESSAGES = 5_000
PAYLOAD = 256
IN_FLIGHT = 32
CHANNEL = "fanout"
MODES = {"broadcast": "bcast", "sharded": "shard"}
TOPOLOGIES = ((3, 0), (3, 1))


def _config(cluster_url: str) -> dict[str, Any]:
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": cluster_url},
        "namespaces": {
            "bcast": {"backend": "main"},
            "shard": {"backend": "main", "channels": {"sharded": True}},
        },
    }


def _node_counters(cluster: RedisCluster) -> dict[str, float]:
    totals = {"bus": 0.0, "bus_pubsub": 0.0, "cpu_s": 0.0}
    for node in cluster.nodes:
        with redis.Redis(node.host, node.port, decode_responses=True) as r:
            bus = r.cluster("INFO")
            cpu = r.info("cpu")
        totals["bus"] += float(bus.get("cluster_stats_messages_sent", 0))
        totals["bus_pubsub"] += float(bus.get("cluster_stats_messages_publish_sent", 0)) + float(
            bus.get("cluster_stats_messages_publishshard_sent", 0)
        )
        totals["cpu_s"] += float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
    return totals


async def _drain(call: Any, received: list[int]) -> None:
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
        for _ in range(MESSAGES * 2):  # bounded: the messages plus any missed notices
            response = await call.read()
            if response is grpc.aio.EOF:
                return
            if response.WhichOneof("event") == "message":
                received[0] += 1


async def _one_mode(address: str, namespace: str, cluster: RedisCluster) -> dict[str, float]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pubsub_pb2_grpc.PubSubServiceStub(channel)
        call = stub.Subscribe(pb.SubscribeRequest(namespace=namespace, channels=[CHANNEL]))
        first = await asyncio.wait_for(call.read(), 10)
        assert first.WhichOneof("event") == "subscribed", first
        received = [0]
        reader = asyncio.ensure_future(_drain(call, received))
        payload = b"x" * PAYLOAD
        errors = 0
        before = await asyncio.to_thread(_node_counters, cluster)
        started = time.perf_counter()
        for start in range(0, MESSAGES, IN_FLIGHT):
            results = await asyncio.gather(
                *(
                    stub.Publish(
                        pb.PublishRequest(namespace=namespace, channel=CHANNEL, payload=payload),
                        timeout=10,
                    )
                    for _ in range(min(IN_FLIGHT, MESSAGES - start))
                ),
                return_exceptions=True,
            )
            errors += sum(1 for r in results if isinstance(r, BaseException))
        elapsed = time.perf_counter() - started
        after = await asyncio.to_thread(_node_counters, cluster)
        for _ in range(200):  # bounded: let the last deliveries arrive (≤ 10 s)
            if received[0] >= MESSAGES - errors:
                break
            await asyncio.sleep(0.05)
        call.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    sent = MESSAGES - errors
    per = max(sent, 1)
    return {
        "rate": sent / elapsed,
        "bus": (after["bus"] - before["bus"]) / per,
        "bus_pubsub": (after["bus_pubsub"] - before["bus_pubsub"]) / per,
        "cpu_us": (after["cpu_s"] - before["cpu_s"]) * 1e6 / per,
        "delivered": received[0],
        "errors": errors,
    }


def _topology(masters: int, replicas: int, workdir: Path) -> dict[str, dict[str, float]]:
    with RedisCluster(masters=masters, replicas=replicas) as cluster:
        cluster.wait_healthy(30.0)
        config = workdir / f"shard-{masters}x{replicas}.yaml"
        config.write_text(yaml.safe_dump(_config(cluster.url)))
        with sidecar_child(f"shard-sidecar-{masters}x{replicas}", config, logdir=workdir) as sc:
            return {
                mode: asyncio.run(_one_mode(sc.address, namespace, cluster))
                for mode, namespace in MODES.items()
            }


def run_shard_fanout() -> Section:
    """Bus messages and Redis CPU per publish, broadcast vs sharded, per topology."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="cachecar-shard-") as tmp:
        for masters, replicas in TOPOLOGIES:
            runs = _topology(masters, replicas, Path(tmp))
            nodes = masters * (1 + replicas)
            for mode, run in runs.items():
                rows.append(
                    (
                        f"{mode}, {masters} masters x {replicas} replica ({nodes} nodes)",
                        num(run["rate"]),
                        num(run["bus_pubsub"], ".2f"),
                        num(run["bus"], ".2f"),
                        num(run["cpu_us"], ".1f"),
                        f"{int(run['delivered']):,} / {MESSAGES:,}",
                        str(int(run["errors"])),
                    )
                )
            bus = [runs[m]["bus"] for m in MODES]
            cpu = [runs[m]["cpu_us"] for m in MODES]
            rows.append(
                (
                    f"sharded / broadcast, {nodes} nodes",
                    "",
                    "",
                    num(bus[1] / bus[0] if bus[0] else None, ".3f") + "x",
                    num(cpu[1] / cpu[0] if cpu[0] else None, ".2f") + "x",
                    "",
                    "",
                )
            )
    return Section(
        key="shard_fanout",
        title="Pub/sub on a Redis Cluster: broadcast PUBLISH vs sharded SPUBLISH",
        header=(
            "scenario",
            "publishes/s",
            "pub/sub bus msgs / publish",
            "all bus msgs / publish",
            "Redis CPU µs / publish (all nodes)",
            "delivered / published",
            "errors",
        ),
        rows=tuple(rows),
        targets=(
            "sharded vs broadcast: cluster-bus traffic and Redis CPU  → reported (no target)",
        ),
        notes=(
            f"{MESSAGES:,} Publish calls of {PAYLOAD} B per mode, {IN_FLIGHT} in flight, one "
            "channel, one Subscribe stream on the same sidecar; deltas summed over every node. "
            "'all bus msgs' includes the cluster's gossip (ping/pong), which flows either way.",
        ),
    )


if __name__ == "__main__":
    section = run_shard_fanout()
    print(section.title)
    print(" | ".join(section.header))
    for row in section.rows:
        print(" | ".join(row))
    for line in section.notes:
        print(line)
