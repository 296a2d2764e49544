"""A Redis Cluster nobody answers for is a backend outage, not a cachecar bug."""

from __future__ import annotations

import grpc
from cachecar.v1 import cache_pb2

from sidecar.devmode import free_port
from tests.appfixtures import FakeApp, SidecarFactory, status_of


async def test_an_unreachable_cluster_is_backend_unavailable(
    fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    # redis-py raises RedisClusterException ("cannot be connected"), which is
    # not a RedisError: it once escaped the error mapping as INTERNAL.
    sc = await sidecar_for(f"redis+cluster://127.0.0.1:{free_port()}", loader=fake_app.target)
    assert await status_of(
        sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k", value=b"v"), timeout=10)
    ) == (grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")
    fake_app.rows["k"] = b"from-db"
    loaded = await sc.cache.GetOrLoad(
        cache_pb2.GetOrLoadRequest(namespace="items", key="k"), timeout=10
    )
    assert loaded.value == b"from-db"
