"""Bad input and broken dependencies: the right status code and ErrorInfo reason."""

from __future__ import annotations

import grpc
import pytest
from cachecar.v1 import cache_pb2, writer_pb2
from google.protobuf import duration_pb2

from sidecar.devmode import free_port
from tests.appfixtures import FakeApp, SidecarFactory, error_info


async def _fails(call: object, code: grpc.StatusCode, reason: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    assert error_info(caught.value).reason == reason
    details: str = caught.value.details()
    assert details
    return details


async def test_unknown_namespace(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    message = await _fails(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="nope", key="k")),
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_UNKNOWN",
    )
    assert "nope" in message
    assert "items" in message  # says which namespaces exist
    await _fails(
        sc.cache.Get(cache_pb2.GetRequest(namespace="", key="k")),
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_UNKNOWN",
    )


async def test_bad_keys(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url, max_key_length=16, max_batch_keys=3)
    await _fails(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "KEY_INVALID",
    )
    message = await _fails(
        sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="k" * 17, value=b"")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "KEY_INVALID",
    )
    assert "max_key_length" in message
    await _fails(
        sc.cache.GetOrLoadMany(cache_pb2.GetOrLoadManyRequest(namespace="items", keys=["a", ""])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "KEY_INVALID",
    )
    await _fails(
        sc.cache.Invalidate(cache_pb2.InvalidateRequest(namespace="items", keys=list("abcd"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "BATCH_TOO_LARGE",
    )


async def test_value_too_large(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url, max_value_size="1KiB")
    await sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="ok", value=b"x" * 1024))
    message = await _fails(
        sc.cache.Set(cache_pb2.SetRequest(namespace="items", key="big", value=b"x" * 1025)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALUE_TOO_LARGE",
    )
    assert "1025" in message
    assert not (await sc.cache.Get(cache_pb2.GetRequest(namespace="items", key="big"))).found


async def test_negative_ttl_rejected(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    await _fails(
        sc.cache.Set(
            cache_pb2.SetRequest(
                namespace="items", key="k", value=b"v", ttl=duration_pb2.Duration(seconds=-5)
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "TTL_INVALID",
    )


async def test_loader_unreachable(redis_url: str, sidecar_for: SidecarFactory) -> None:
    target = f"127.0.0.1:{free_port()}"  # nothing listens there
    sc = await sidecar_for(redis_url, loader=target)
    message = await _fails(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"), timeout=5),
        grpc.StatusCode.UNAVAILABLE,
        "LOADER_UNAVAILABLE",
    )
    assert target in message


async def test_loader_error_passes_through(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.fail_with = grpc.StatusCode.PERMISSION_DENIED
    sc = await sidecar_for(redis_url, loader=fake_app.target)
    message = await _fails(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k")),
        grpc.StatusCode.PERMISSION_DENIED,
        "LOADER_FAILED",
    )
    assert "the fake app was told to fail" in message
    # A failed load is not cached: the next call asks the loader again.
    fake_app.fail_with = None
    fake_app.rows["k"] = b"v"
    ok = await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k"))
    assert ok.value == b"v"


async def test_batch_reports_per_key_errors(
    redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory
) -> None:
    fake_app.rows["good"] = b"g"
    sc = await sidecar_for(redis_url, loader=fake_app.target)
    await sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="good"))
    fake_app.fail_with = grpc.StatusCode.INTERNAL
    response = await sc.cache.GetOrLoadMany(
        cache_pb2.GetOrLoadManyRequest(namespace="items", keys=["good", "bad"])
    )
    good, bad = response.results
    assert (good.found, good.value, good.HasField("error")) == (True, b"g", False)
    assert not bad.found
    assert (bad.error.code, bad.error.reason) == (
        grpc.StatusCode.INTERNAL.value[0],
        "LOADER_FAILED",
    )


async def test_no_loader_configured(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    await _fails(
        sc.cache.GetOrLoad(cache_pb2.GetOrLoadRequest(namespace="items", key="k")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "LOADER_NOT_CONFIGURED",
    )


async def test_write_rpcs_need_their_setup(
    redis_url: str, memcached_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url)
    await _fails(
        sc.cache.EnqueueWrite(cache_pb2.EnqueueWriteRequest(namespace="items", key="k")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "WRITE_BEHIND_NOT_CONFIGURED",
    )
    await _fails(
        sc.cache.WriteThrough(cache_pb2.WriteThroughRequest(namespace="items", key="k")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "WRITER_NOT_CONFIGURED",
    )
    mc = await sidecar_for(memcached_url)
    message = await _fails(
        mc.cache.EnqueueWrite(cache_pb2.EnqueueWriteRequest(namespace="items", key="k")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_SUPPORTED_BY_BACKEND",
    )
    assert "items" in message
    assert "memcached" in message


async def test_unknown_write_kind_is_refused(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url, writer="127.0.0.1:1")
    message = await _fails(
        sc.cache.WriteThrough(
            cache_pb2.WriteThroughRequest(
                namespace="items", key="k", kind=writer_pb2.WriteKind.ValueType(7)
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "WRITE_KIND_INVALID",
    )
    assert "WRITE_KIND_DELETE" in message
