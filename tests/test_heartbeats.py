"""Heartbeats on Subscribe: an idle stream carries HeartbeatEvents; a client that
hears nothing for two intervals reports the stream stalled (a SIGSTOPped sidecar)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import grpc
import pytest
from cachecar import CacheCar, StreamStalled
from cachecar.v1 import pubsub_pb2, pubsub_pb2_grpc

from tests.test_process import spawn_sidecar, write_config

INTERVAL = 0.2  # short, so the test is quick; the default is 15 s


def _serve(tmp_path: Path, redis_url: str) -> tuple[subprocess.Popen[str], str]:
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "heartbeat_interval": f"{int(INTERVAL * 1000)}ms",
            "backends": {"main": redis_url},
            "namespaces": {"events": {"backend": "main"}},
        },
    )
    return spawn_sidecar(["serve", "--config", str(config)])


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.slow
async def test_an_idle_stream_carries_heartbeats_only_when_asked(
    redis_url: str, tmp_path: Path
) -> None:
    proc, address = _serve(tmp_path, redis_url)
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = pubsub_pb2_grpc.PubSubServiceStub(channel)
            call = stub.Subscribe(
                pubsub_pb2.SubscribeRequest(namespace="events", channels=["quiet"], heartbeats=True)
            )
            first = await asyncio.wait_for(call.read(), 10)
            assert first.WhichOneof("event") == "subscribed"
            assert first.subscribed.heartbeat_interval.ToTimedelta().total_seconds() == INTERVAL
            kinds = [
                (await asyncio.wait_for(call.read(), 10)).WhichOneof("event") for _ in range(3)
            ]
            assert kinds == ["heartbeat"] * 3
            call.cancel()
            # Without the opt-in (a client older than heartbeats): the first event
            # after the confirmation is a message, not a heartbeat it cannot read.
            old = stub.Subscribe(pubsub_pb2.SubscribeRequest(namespace="events", channels=["q2"]))
            confirmed = await asyncio.wait_for(old.read(), 10)
            assert not confirmed.subscribed.HasField("heartbeat_interval")
            await asyncio.sleep(3 * INTERVAL)
            await stub.Publish(
                pubsub_pb2.PublishRequest(namespace="events", channel="q2", payload=b"m"),
                timeout=5,
            )
            assert (await asyncio.wait_for(old.read(), 10)).WhichOneof("event") == "message"
            old.cancel()
    finally:
        _stop(proc)


@pytest.mark.slow
async def test_the_client_reports_a_frozen_sidecar_as_a_stalled_stream(
    redis_url: str, tmp_path: Path
) -> None:
    proc, address = _serve(tmp_path, redis_url)
    try:
        async with (
            CacheCar(address) as cc,
            cc.subscribe("events", ["news"]) as sub,
        ):
            assert sub.stall_after == 2 * INTERVAL
            events = aiter(sub)
            # Quiet for ten intervals: heartbeats keep it from counting as stalled.
            reading = asyncio.ensure_future(anext(events))
            await asyncio.sleep(10 * INTERVAL)
            assert not reading.done()
            await cc.publish("events", "news", b"hello")
            message = await asyncio.wait_for(reading, 10)
            assert isinstance(message, pubsub_pb2.MessageEvent)
            assert message.payload == b"hello"
            proc.send_signal(signal.SIGSTOP)  # frozen: the TCP connection stays open
            with pytest.raises(StreamStalled) as stalled:
                await asyncio.wait_for(anext(events), 30)
            assert stalled.value.reason == "STREAM_STALLED"
    finally:
        _stop(proc)
