"""Pub/Sub fan-out: 100 subscribers on one sidecar, messages/s delivered, latency.

Every party is its own process: a private redis-server, a fresh
``python -m sidecar serve --config FILE`` per scenario, and subscriber worker
processes (``python -m bench.pubsub_bench --subscriber ...``) that each hold
a share of the 100 Subscribe streams, so the subscribers' own CPU is not the
sidecar's. The bench process publishes through the sidecar; each payload
starts with the publish time (``time.time_ns()``, one clock: same host), and a
worker records ``receive time - publish time`` per delivered message.

Scenarios:

- fire-and-forget, saturated: the publisher keeps 16 Publish calls in flight;
  delivered msgs/s is the fan-out throughput, and the latency includes the
  queueing that saturation causes;
- durable, saturated: the same on a durable channel (Redis Streams);
- fire-and-forget, paced at 100 msg/s (10,000 deliveries/s): the latency of
  fan-out when it is not the bottleneck.

``run()`` returns one dict per scenario: ``name``, ``msgs_per_s`` (deliveries
per second, first publish to last delivery), ``p50_us``, ``p99_us``, plus
``published``, ``delivered``, ``missed`` and ``sidecar_cpu_us_per_delivery``.
On a 2-core machine the subscriber workers compete with the sidecar for CPU;
the figures are for comparing runs on one machine, never a pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from cachecar.v1 import pubsub_pb2 as pb
from cachecar.v1 import pubsub_pb2_grpc

from bench.measure import percentile
from bench.procs import Child, ChildFailed, clean_env, cpu_us
from sidecar.devmode import RedisServer

__all__ = ["Scenario", "run"]

NAMESPACE = "bench"
PAYLOAD_BYTES = 128
_NO_PROXY = [("grpc.enable_http_proxy", 0)]


@dataclass(frozen=True)
class Scenario:
    name: str
    channel: str
    messages: int
    in_flight: int
    #: Messages per second; None publishes as fast as ``in_flight`` allows.
    rate: float | None = None


SCENARIOS = (
    Scenario("pubsub fan-out x100, fire-and-forget, saturated", "ff", 1000, 16),
    Scenario("pubsub fan-out x100, durable, saturated", "durable", 1000, 16),
    Scenario("pubsub fan-out x100, fire-and-forget, 100 msg/s", "ff", 300, 1, rate=100.0),
)


def _config(redis_url: str) -> dict[str, Any]:
    return {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {
            NAMESPACE: {
                "backend": "main",
                # Big enough that a saturated run queues rather than drops.
                "channels": {"durable": ["durable"], "subscriber_buffer": 100_000},
            }
        },
    }


# -- the subscriber worker (a child process) ------------------------------------------


async def _subscriber(address: str, channel: str, streams: int, expected: int) -> dict[str, Any]:
    """Hold ``streams`` subscriptions until each got ``expected`` messages; what arrived."""
    async with grpc.aio.insecure_channel(address, options=_NO_PROXY) as grpc_channel:
        stub = pubsub_pb2_grpc.PubSubServiceStub(grpc_channel)
        request = pb.SubscribeRequest(namespace=NAMESPACE, channels=[channel])
        calls = [stub.Subscribe(request) for _ in range(streams)]
        for call in calls:
            first = await asyncio.wait_for(call.read(), 30)
            if not isinstance(first, pb.SubscribeResponse) or not first.HasField("subscribed"):
                raise RuntimeError(f"expected a SubscribedEvent first, got {first!r}")
        print("subscribed", flush=True)  # the bench publishes once every worker said so
        latencies: list[float] = []
        totals = {"delivered": 0, "missed": 0, "last_ns": 0}

        async def drain(call: Any) -> None:
            seen = 0
            for _ in range(expected + 1000):  # bounded: messages plus missed events
                if seen >= expected:
                    return
                response = await call.read()
                now = time.time_ns()
                if response is grpc.aio.EOF:
                    return
                if response.HasField("message"):
                    sent = int.from_bytes(response.message.payload[:8], "big")
                    latencies.append((now - sent) / 1000)
                    totals["delivered"] += 1
                    totals["last_ns"] = max(totals["last_ns"], now)
                    seen += 1
                elif response.HasField("missed"):
                    totals["missed"] += response.missed.missed_count
                    seen += response.missed.missed_count

        try:
            await asyncio.wait_for(asyncio.gather(*(drain(c) for c in calls)), 300)
        except TimeoutError:
            print("timed out waiting for messages", file=sys.stderr)  # report what arrived
        return {**totals, "latencies_us": latencies}


# -- the bench side --------------------------------------------------------------------


async def _publish(address: str, scenario: Scenario) -> int:
    """Publish the scenario's messages; the first publish time (ns)."""
    padding = b"." * (PAYLOAD_BYTES - 8)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(scenario.messages):
        queue.put_nowait(i)
    loop = asyncio.get_running_loop()
    start = loop.time()
    first_ns = time.time_ns()
    async with grpc.aio.insecure_channel(address, options=_NO_PROXY) as grpc_channel:
        stub = pubsub_pb2_grpc.PubSubServiceStub(grpc_channel)

        async def publisher() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if scenario.rate is not None:
                    await asyncio.sleep(max(0.0, start + i / scenario.rate - loop.time()))
                payload = time.time_ns().to_bytes(8, "big") + padding
                request = pb.PublishRequest(
                    namespace=NAMESPACE, channel=scenario.channel, payload=payload
                )
                await stub.Publish(request, timeout=30)

        await asyncio.gather(*(publisher() for _ in range(scenario.in_flight)))
    return first_ns


def _run_scenario(
    scenario: Scenario, config: Path, workdir: Path, subscribers: int, workers: int
) -> dict[str, Any]:
    env = clean_env()
    sidecar = Child(
        "pubsub-sidecar",
        [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
        logdir=workdir,
        env=env,
        ready_prefix="cachecar listening on ",
    )
    with sidecar:
        shares = [subscribers // workers + (i < subscribers % workers) for i in range(workers)]
        outputs = [workdir / f"subscriber-{i}.json" for i in range(workers)]
        children = [
            Child(
                f"pubsub-subscriber-{i}",
                [
                    sys.executable,
                    "-m",
                    "bench.pubsub_bench",
                    "--subscriber",
                    sidecar.address,
                    scenario.channel,
                    str(share),
                    str(scenario.messages),
                    str(out),
                ],
                logdir=workdir,
                env=env,
                ready_prefix="subscribed",
            )
            for i, (share, out) in enumerate(zip(shares, outputs, strict=True))
        ]
        try:
            for child in children:
                child.start(timeout=60)
            cpu_before = cpu_us(sidecar.pid)
            first_ns = asyncio.run(_publish(sidecar.address, scenario))
            for child in children:
                assert child.proc is not None
                if child.proc.wait(timeout=300) != 0:
                    raise ChildFailed(f"{child.name} failed:\n{child.stderr_tail()}")
            cpu_spent = cpu_us(sidecar.pid) - cpu_before
        finally:
            for child in children:
                child.stop(timeout=5)
    results = [json.loads(out.read_text()) for out in outputs]
    latencies = sorted(v for r in results for v in r["latencies_us"])
    delivered = sum(r["delivered"] for r in results)
    elapsed = (max(r["last_ns"] for r in results) - first_ns) / 1e9
    return {
        "name": scenario.name,
        "msgs_per_s": delivered / elapsed if elapsed > 0 else None,
        "p50_us": percentile(latencies, 50),
        "p99_us": percentile(latencies, 99),
        "published": scenario.messages,
        "delivered": delivered,
        "missed": sum(r["missed"] for r in results),
        "subscribers": subscribers,
        "sidecar_cpu_us_per_delivery": cpu_spent / delivered if delivered else None,
    }


def run(
    subscribers: int = 100, workers: int = 4, scenarios: tuple[Scenario, ...] = SCENARIOS
) -> list[dict[str, Any]]:
    """Run every scenario against one private Redis; one row per scenario."""
    with RedisServer() as redis_server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = workdir / "cachecar.yaml"
        config.write_text(yaml.safe_dump(_config(redis_server.url)))
        return [_run_scenario(s, config, workdir, subscribers, workers) for s in scenarios]


def _print(rows: list[dict[str, Any]]) -> None:
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f}"

    print(
        f"{'scenario':<52} {'msgs/s':>10} {'p50 µs':>9} {'p99 µs':>9} {'missed':>7} {'cpu µs':>7}"
    )
    for row in rows:
        print(
            f"{row['name']:<52} {fmt(row['msgs_per_s']):>10} {fmt(row['p50_us']):>9} "
            f"{fmt(row['p99_us']):>9} {row['missed']:>7} "
            f"{fmt(row['sidecar_cpu_us_per_delivery']):>7}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pubsub_bench", description=__doc__)
    parser.add_argument("--subscriber", nargs=5, metavar=("ADDR", "CHANNEL", "N", "MSGS", "OUT"))
    parser.add_argument("--subscribers", type=int, default=100)
    args = parser.parse_args(argv)
    if args.subscriber:
        address, channel, streams, expected, out = args.subscriber
        got = asyncio.run(_subscriber(address, channel, int(streams), int(expected)))
        Path(out).write_text(json.dumps(got))
        return 0
    _print(run(subscribers=args.subscribers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
