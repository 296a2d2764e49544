"""The pieces under Pub/Sub: glob matching agrees with Redis, the envelope, delivery spans."""

from __future__ import annotations

import random

import redis
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from sidecar.patterns.envelope import MAGIC, unwrap, wrap
from sidecar.patterns.glob import escape, glob_match
from sidecar.telemetry import Telemetry, Tracing
from tests.appfixtures import SidecarFactory, wait_until
from tests.pubsubhelpers import publish, subscribe


def test_glob_matching_agrees_with_redis(redis_url: str) -> None:
    # Redis's own KEYS runs the same matcher as PSUBSCRIBE: compare on
    # random names and patterns full of metacharacters and edge cases.
    rng = random.Random(7)
    names = {
        bytes(rng.choice(b"ab}c-^[]*?\\") for _ in range(rng.randint(1, 4))) for _ in range(600)
    }
    patterns = {
        bytes(rng.choice(b"ab}c*?[]^-\\") for _ in range(rng.randint(1, 5))) for _ in range(800)
    }
    patterns |= {b"a*", b"*", b"[a-c]?", b"[^a]*", b"[c-a]", b"\\*", b"[", b"a[", b"*b*"}
    client = redis.Redis.from_url(redis_url)
    try:
        client.mset(dict.fromkeys(names, b"1"))
        for pattern in patterns:
            expected = set(client.keys(pattern))
            assert {n for n in names if glob_match(pattern, n)} == expected, pattern
    finally:
        client.close()
    for name in names:
        assert glob_match(escape(name), name)


def test_the_envelope_keeps_the_payload_exact() -> None:
    carrier = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "k=v"}
    for payload in (b"", b"hello", MAGIC, MAGIC + b"\x00\x05t=1\n", bytes(range(256))):
        got = unwrap(wrap(payload, 1_700_000_000_000_000, carrier))
        assert (got.payload, got.published_at_us, dict(got.carrier)) == (
            payload,
            1_700_000_000_000_000,
            carrier,
        )
    # Not published by cachecar (or not an envelope after all): delivered as is.
    for raw in (b"plain", MAGIC, MAGIC + b"\x00\xff", MAGIC + b"\x00\x03x=1rest", b'{"a": 1}'):
        assert unwrap(raw).payload == raw
        assert unwrap(raw).published_at_us is None


async def test_deliveries_are_short_spans_linked_to_publish_and_subscribe(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    exporter = InMemorySpanExporter()
    telemetry = Telemetry(tracing=Tracing.with_processor(SimpleSpanProcessor(exporter)))
    sc = await sidecar_for(redis_url, telemetry=telemetry, channels={"durable": ["audit"]})
    sub = await subscribe(sc.channel, ["news", "audit"])
    await publish(sc.channel, "news", b"PAYLOAD-ff")
    await publish(sc.channel, "audit", b"PAYLOAD-durable")
    got = await sub.take(2)
    assert sorted(m.payload for m in got) == [b"PAYLOAD-durable", b"PAYLOAD-ff"]  # no envelope

    def named(name: str) -> list[object]:
        return [s for s in exporter.get_finished_spans() if s.name == name]

    await wait_until(lambda: len(named("cachecar.pubsub.deliver")) == 2)
    spans = exporter.get_finished_spans()
    [setup] = [s for s in spans if s.name == "cachecar.v1.PubSubService/Subscribe"]
    publishes = [s for s in spans if s.name == "cachecar.v1.PubSubService/Publish"]
    deliveries = [s for s in spans if s.name == "cachecar.pubsub.deliver"]
    assert setup.kind == SpanKind.SERVER
    assert len(publishes) == 2
    publish_contexts = {(s.context.trace_id, s.context.span_id) for s in publishes}
    for delivery in deliveries:
        assert delivery.kind == SpanKind.CONSUMER
        assert delivery.parent is None  # a trace of its own, not a child of an endless one
        linked = {(link.context.trace_id, link.context.span_id) for link in delivery.links}
        assert (setup.context.trace_id, setup.context.span_id) in linked
        assert len(linked & publish_contexts) == 1  # the Publish that sent it
        assert delivery.attributes is not None
        assert delivery.attributes["cachecar.namespace"] == "items"
    durable = [d for d in deliveries if d.attributes and d.attributes["cachecar.pubsub.durable"]]
    assert len(durable) == 1
    for span in spans:  # payloads never become attributes
        assert not any(b"PAYLOAD" in str(v).encode() for v in (span.attributes or {}).values())
    # The XADD / PUBLISH commands are children of their Publish spans.
    commands = [s for s in spans if s.name in ("XADD", "PUBLISH")]
    assert sorted(c.name for c in commands) == ["PUBLISH", "XADD"]
    for command in commands:
        assert command.parent is not None
        assert command.parent.span_id in {s.context.span_id for s in publishes}
