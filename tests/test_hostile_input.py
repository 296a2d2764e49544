"""What the app or a caller sends cannot crash, flood or outlast the sidecar.

Regressions from an attacker-style probe (issue "Lost updates in
write-behind...", items 4 to 7): a loader's out-of-range TTL, credentials in a
backend URL's query string, malformed trace headers from an unauthenticated
caller, an unreachable trace collector at shutdown, and loaded values over
the size limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import grpc
import pytest
from cachecar.v1 import cache_pb2
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sidecar.config import ConfigError, settings_from_mapping
from sidecar.devmode import free_port
from sidecar.telemetry import Telemetry, Tracing
from tests.appfixtures import FakeApp, SidecarFactory, error_info, start_in_loop
from tests.test_process import spawn_sidecar, write_config

MARKER = "hostile-bytes-7f3a"


# -- 4. the loader's TTL is checked like a caller's ----------------------------------


@pytest.mark.parametrize(
    ("ttl", "cached"),
    [
        ((2**62, 0), True),  # was INTERNAL: OverflowError converting it
        ((100 * 365 * 86400, 0), True),  # on Memcached: never stored before
        ((10, 2_000_000_000), True),  # nanos out of range
        ((-5, 0), True),  # negative: the namespace's TTL
    ],
    ids=["2^62s", "100y", "bad-nanos", "negative"],
)
async def test_a_loader_ttl_out_of_range_is_clamped_not_internal(
    backend_url: str,
    fake_app: FakeApp,
    sidecar_for: SidecarFactory,
    ttl: tuple[int, int],
    cached: bool,
) -> None:
    fake_app.rows["k"] = b"v"
    fake_app.ttl_raw = ttl
    sc = await sidecar_for(backend_url, loader=fake_app.target)
    got = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    assert (got.found, got.value) == (True, b"v")
    again = await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="k"))
    assert again.found is cached
    assert fake_app.loads_of("k") == 1


# -- 5. no credentials anywhere in a backend URL ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6380/0?password=hunter2",
        "redis://127.0.0.1:6380/0?username=app&password=hunter2",
        "rediss://127.0.0.1:6380/0#hunter2",
        "memcached://127.0.0.1:11211?password=hunter2",
        "redis://:hunter2@127.0.0.1:6380/0",
    ],
)
def test_credentials_in_a_backend_url_are_refused(url: str) -> None:
    config = {"backends": {"main": url}, "namespaces": {"items": {"backend": "main"}}}
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(config)
    text = str(caught.value)
    assert "backends.main" in text
    assert "password_env" in text
    assert "hunter2" not in text


# -- 6. malformed trace headers: never logged, never parsed before the caller check ---


# Each under gRPC's own 8 KiB metadata limit (past it, gRPC refuses the call).
_HOSTILE = [
    ("tracestate", f"{MARKER}=" + "NOT A VALID=VALUE " * 200),
    ("tracestate", f"UPPER{MARKER}=v"),
    ("tracestate", ",".join(f"k{i}={MARKER}" for i in range(40))),
    ("baggage", f"{MARKER} has no equals sign," * 100),
    ("baggage", f"{MARKER}=" + "x" * 5000),
    ("traceparent", f"00-{MARKER}-" + "f" * 500),
]


@pytest.mark.parametrize("authenticated", [True, False], ids=["caller", "stranger"])
async def test_malformed_trace_headers_never_reach_the_log(
    redis_url: str, caplog: pytest.LogCaptureFixture, authenticated: bool
) -> None:
    token = "probe-token-" + MARKER[::-1]
    config = {
        "listen": "127.0.0.1:0",
        "backends": {"main": redis_url},
        "namespaces": {"items": {"backend": "main"}},
        "callers": {"app": {"token_env": "CC_TEST_PROBE_TOKEN", "namespaces": ["*"]}},
    }
    os.environ["CC_TEST_PROBE_TOKEN"] = token
    try:
        exporter = InMemorySpanExporter()
        telemetry = Telemetry(tracing=Tracing.with_processor(SimpleSpanProcessor(exporter)))
        sidecar, channel = await start_in_loop(settings_from_mapping(config), telemetry)
    finally:
        del os.environ["CC_TEST_PROBE_TOKEN"]
    auth = [("authorization", f"Bearer {token}")] if authenticated else []
    caplog.set_level(logging.DEBUG)
    codes, reasons = set(), set()
    try:
        get = channel.unary_unary(
            "/cachecar.v1.CacheService/Get",
            cache_pb2.GetRequest.SerializeToString,
            cache_pb2.GetResponse.FromString,
        )
        for name, value in _HOSTILE:
            try:
                await get(
                    cache_pb2.GetRequest(namespace="items", key="k"),
                    metadata=[*auth, (name, value)],
                    timeout=5,
                )
                codes.add(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as exc:
                codes.add(exc.code())
                reasons.add(error_info(exc).reason)
    finally:
        await channel.close()
        await sidecar.stop(grace=0.5)
    assert codes == {grpc.StatusCode.OK if authenticated else grpc.StatusCode.UNAUTHENTICATED}
    assert reasons == (set() if authenticated else {"CALLER_UNKNOWN"})
    assert not [r for r in caplog.records if MARKER in r.getMessage()]
    if not authenticated:  # nothing was done for a stranger: not even a span
        assert exporter.get_finished_spans() == ()


# -- 7a. shutdown keeps to its grace with an unreachable collector --------------------


async def test_sigterm_with_an_unreachable_collector_keeps_the_grace(
    redis_url: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main"}},
            "shutdown_grace": "1s",
        },
    )
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc, address = spawn_sidecar(
        ["serve", "--config", str(config)], env={"OTEL_EXPORTER_OTLP_ENDPOINT": nowhere}
    )
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            get = channel.unary_unary(
                "/cachecar.v1.CacheService/Get",
                cache_pb2.GetRequest.SerializeToString,
                cache_pb2.GetResponse.FromString,
            )
            for _ in range(5):  # spans the exporter will fail to send
                await get(cache_pb2.GetRequest(namespace="items", key="k"), timeout=5)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 60)
        _, err = proc.communicate()
    finally:
        proc.kill()
    assert code == 0, err
    # The flush was abandoned at the grace (it used to wait out the exporter's
    # 10 s of retries), and said so.
    assert "trace export did not finish within the shutdown grace" in err


# -- 7b. a loaded value over max_value_size ------------------------------------------


async def test_a_value_too_large_to_cache_is_loaded_once_for_concurrent_callers(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake_app.rows["big"] = b"x"
    fake_app.value_size = 4096
    fake_app.load_delay = 0.2
    sc = await sidecar_for(redis_url, loader=fake_app.target, max_value_size="1KiB")
    caplog.set_level(logging.WARNING, logger="cachecar.cache_aside")
    calls = [
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="big"), timeout=10)
        for _ in range(20)
    ]
    results = await asyncio.gather(*calls)
    assert all(r.found and len(r.value) == 4096 for r in results)
    assert fake_app.loads_of("big") == 1  # one load shared by the 20 callers
    fake_app.load_delay = 0
    for _ in range(5):  # never cached: each later read loads again...
        await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="big"))
    assert fake_app.loads_of("big") == 6
    metric = sc.sidecar.telemetry.metrics.values_too_large.labels("items")._value.get()
    assert metric == 6  # ...which is counted...
    warnings = [r for r in caplog.records if "max_value_size" in r.getMessage()]
    assert len(warnings) == 1  # ...and logged once a minute, not once a load
