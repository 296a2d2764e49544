"""Regression tests for bugs found reviewing the hardening change."""

from __future__ import annotations

import asyncio
import os
import secrets
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.config import settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp, SidecarFactory
from tests.certs import TestCA


@pytest.fixture
async def running() -> AsyncIterator[list[Sidecar]]:
    sidecars: list[Sidecar] = []
    yield sidecars
    for sidecar in sidecars:
        await sidecar.stop(grace=0.5)


async def test_a_tls_unix_socket_gets_the_configured_mode(
    redis_url: str, tmp_path: Path, running: list[Sidecar]
) -> None:
    # TLS on a unix socket is allowed; the socket must still be owner-only by default.
    ca = TestCA(tmp_path)
    server = ca.issue("server", "localhost")
    path = tmp_path / "cc.sock"
    settings = settings_from_mapping(
        {
            "listen": f"unix://{path}",
            "tls": {"cert_file": str(server.cert_file), "key_file": str(server.key_file)},
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main"}},
        }
    )
    sidecar = Sidecar(settings, telemetry=Telemetry())
    await sidecar.start()
    running.append(sidecar)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_token_env_with_a_trailing_newline_still_authenticates(
    redis_url: str, running: list[Sidecar]
) -> None:
    # token_file is stripped, and so is the presented token: an environment
    # variable from a secret ending in a newline must not lock its caller out.
    token = secrets.token_hex(16)
    os.environ["CC_REVIEW_TOKEN"] = token + "\n"
    try:
        settings = settings_from_mapping(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": redis_url},
                "namespaces": {"items": {"backend": "main"}},
                "callers": {"app": {"token_env": "CC_REVIEW_TOKEN", "namespaces": ["*"]}},
            }
        )
        sidecar = Sidecar(settings, telemetry=Telemetry())
    finally:
        del os.environ["CC_REVIEW_TOKEN"]
    await sidecar.start()
    running.append(sidecar)
    async with grpc.aio.insecure_channel(sidecar.address) as channel:
        cache = cache_pb2_grpc.CacheServiceStub(channel)
        await cache.Get(
            cache_pb2.GetRequest(namespace="items", key="k"),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=5,
        )


def test_safe_deserializer_survives_the_pure_python_protobuf() -> None:
    # PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python raises UnicodeDecodeError
    # (not DecodeError) for invalid UTF-8 in a string field.
    code = textwrap.dedent(
        """
        from cachecar.v1 import cache_pb2
        from sidecar.api.decode import Malformed, safe_deserializer
        got = safe_deserializer(cache_pb2.GetRequest)(b"\\x0a\\x02\\xff\\xfe")
        assert isinstance(got, Malformed), got
        """
    )
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


async def test_write_behind_flushes_when_flush_interval_outlasts_owner_ttl(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # Waiting a flush interval longer than the lease let the lease lapse, so
    # every renew failed, every re-take waited again: nothing was ever written.
    wb: dict[str, Any] = {
        "partitions": 1,
        "flush_interval": "600ms",
        "owner_ttl": "300ms",
        "retry_backoff": "10ms",
        "max_backoff": "200ms",
    }
    sc = await sidecar_for(redis_url, writer=fake_app.target, write_behind=wb)
    await asyncio.sleep(0.5)  # the flusher owns the partition and waits
    await sc.cache.EnqueueWrite(
        cache_pb2.EnqueueWriteRequest(namespace="items", key="k", value=b"v")
    )
    for _ in range(80):  # no FlushWrites: its kicks would hide the stall
        if fake_app.rows.get("k") == b"v":
            break
        await asyncio.sleep(0.05)
    assert fake_app.rows.get("k") == b"v"
