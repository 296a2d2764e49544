"""Server reflection as standard tools use it: v1 and v1alpha, every symbol, comments.

grpcurl and ghz resolve a call by asking ``file_containing_symbol`` for the
method's full name; the reflection client used here (grpcio-reflection's
ProtoReflectionDescriptorDatabase) asks the same questions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
from cachecar.v1 import (
    cache_pb2,
    leaderboard_pb2,
    pubsub_pb2,
    session_pb2,
)
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FileDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.appfixtures import SidecarFactory

#: The files a client of the sidecar needs: every service it serves.
SERVED = [cache_pb2, session_pb2, leaderboard_pb2, pubsub_pb2, health_pb2]


def _messages(message: Descriptor) -> Iterator[Descriptor]:
    yield message
    for nested in message.nested_types:
        yield from _messages(nested)


def _symbols(file: FileDescriptor) -> Iterator[str]:
    for service in file.services_by_name.values():
        yield service.full_name
        yield from (method.full_name for method in service.methods)
    for message in file.message_types_by_name.values():
        yield from (m.full_name for m in _messages(message))
    yield from (enum.full_name for enum in file.enum_types_by_name.values())


def _resolve_all(address: str) -> dict[str, str]:
    """Every symbol -> the file reflection says holds it (sync: the tools' own client)."""
    found = {}
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        for module in SERVED:
            for symbol in _symbols(module.DESCRIPTOR):
                found[symbol] = database.FindFileContainingSymbol(symbol).name
            for service in module.DESCRIPTOR.services_by_name.values():
                # What grpcurl/ghz do next: build the method from the served files.
                for method in service.methods:
                    resolved = pool.FindMethodByName(method.full_name)
                    assert resolved.input_type.full_name == method.input_type.full_name
    return found


async def test_every_method_and_message_resolves(
    redis_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(redis_url)
    found = await asyncio.to_thread(_resolve_all, sc.sidecar.address)
    assert found["cachecar.v1.CacheService.Get"] == "cachecar/v1/cache.proto"
    assert found["grpc.health.v1.Health.Check"] == health_pb2.DESCRIPTOR.name
    for module in SERVED:
        for symbol in _symbols(module.DESCRIPTOR):
            assert found[symbol] == module.DESCRIPTOR.name, symbol


async def _ask(
    channel: grpc.aio.Channel, version: str, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    # v1 and v1alpha are the same messages on the wire under two service names.
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = [r async for r in call(iter([request]), timeout=5)]
    assert len(responses) == 1
    return responses[0]


async def test_v1_and_v1alpha_are_both_served(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    for version in ("v1", "v1alpha"):
        listed = await _ask(
            sc.channel, version, reflection_pb2.ServerReflectionRequest(list_services="")
        )
        names = {s.name for s in listed.list_services_response.service}
        assert {
            "cachecar.v1.CacheService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        } <= names
        # Each reflection service can itself be described (grpcurl list/describe does).
        for service in ("grpc.reflection.v1.ServerReflection", "cachecar.v1.CacheService.Get"):
            answer = await _ask(
                sc.channel,
                version,
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=service),
            )
            assert answer.WhichOneof("message_response") == "file_descriptor_response", service
        missing = await _ask(
            sc.channel,
            version,
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="cachecar.v1.Nope.Get"),
        )
        assert missing.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_proto_comments_are_served(redis_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(redis_url)
    answer = await _ask(
        sc.channel,
        "v1",
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="cachecar.v1.CacheService"),
    )
    files = {}
    for raw in answer.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files[proto.name] = proto
    comments = [
        location.leading_comments
        for location in files["cachecar/v1/cache.proto"].source_code_info.location
    ]
    assert any(
        "Get returns the cached value of a key without ever calling the loader." in c
        for c in comments
    )
    # Files that are not cachecar's (google/protobuf/duration.proto) come from the pool.
    assert "google/protobuf/duration.proto" in files
