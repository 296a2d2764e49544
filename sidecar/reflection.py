"""Server reflection, as grpcurl, ghz and Postman expect it.

grpcio-reflection (1.76) has three gaps that this module fills:

* it serves only ``grpc.reflection.v1alpha``; current tools ask for
  ``grpc.reflection.v1`` first. The two protos are the same messages under
  another package name (field for field), so one servicer answers both, and
  the v1 file is added to the descriptor pool so it can be described too;
* ``file_containing_symbol`` asks the pool for the symbol, and protobuf's
  pool does not resolve method (or field, enum value) names
  (grpc/grpc#34743): ``grpcurl describe cachecar.v1.CacheService.Get`` and
  every ``ghz --call`` failed with "Symbol not found". Those names are
  resolved to their service's (message's) file here;
* the generated ``*_pb2`` modules drop the proto comments. ``make gen``
  writes cachecar's descriptors with their source info next to the stubs
  (``cachecar/v1/descriptors.binpb``); files found there are served from it,
  so ``grpcurl describe`` shows the comments of ``protos/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from importlib import resources

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

__all__ = ["SERVICE_NAMES", "enable_reflection"]

_V1ALPHA = "grpc.reflection.v1alpha"
_V1 = "grpc.reflection.v1"
#: Both reflection services, as listed by ``list_services``.
SERVICE_NAMES = (f"{_V1}.ServerReflection", f"{_V1ALPHA}.ServerReflection")


def _add_v1_file(pool: descriptor_pool.DescriptorPool) -> None:
    """Put grpc/reflection/v1/reflection.proto in the pool (a renamed v1alpha)."""
    try:
        pool.FindFileByName("grpc/reflection/v1/reflection.proto")
    except KeyError:
        pass
    else:
        return
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = _V1
    for message in proto.message_type:
        for field in (f for f in message.field if f.type_name):
            field.type_name = field.type_name.replace(f".{_V1ALPHA}.", f".{_V1}.")
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
            method.output_type = method.output_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
    pool.AddSerializedFile(proto.SerializeToString())


def _commented_files() -> dict[str, bytes]:
    """cachecar's FileDescriptorProtos with source info, by file name ({} if absent)."""
    try:
        data = resources.files("cachecar.v1").joinpath("descriptors.binpb").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(data)
    return {f.name: f.SerializeToString() for f in files.file}


class _Reflection(ReflectionServicer):  # type: ignore[misc]  # untyped upstream base
    def __init__(self, service_names: Iterable[str], pool: descriptor_pool.DescriptorPool) -> None:
        super().__init__(service_names, pool=pool)
        self._commented = _commented_files()

    def _file_containing_symbol(
        self, request: reflection_pb2.ServerReflectionRequest, name: str
    ) -> reflection_pb2.ServerReflectionResponse:
        file = self._find_file(name)
        if file is None:
            return _not_found(request)
        return self._files_response(request, file)

    def _file_by_filename(
        self, request: reflection_pb2.ServerReflectionRequest, filename: str
    ) -> reflection_pb2.ServerReflectionResponse:
        try:
            file = self._pool.FindFileByName(filename)
        except KeyError:
            return _not_found(request)
        return self._files_response(request, file)

    def _find_file(self, name: str) -> FileDescriptor | None:
        pool = self._pool
        try:
            return pool.FindFileContainingSymbol(name)  # type: ignore[no-any-return]
        except KeyError:
            pass
        # What the pool does not resolve: Service.Method and Message.field names.
        try:
            return pool.FindMethodByName(name).containing_service.file  # type: ignore[no-any-return]
        except KeyError:
            pass
        try:
            return pool.FindFieldByName(name).containing_type.file  # type: ignore[no-any-return]
        except KeyError:
            return None

    def _files_response(
        self, request: reflection_pb2.ServerReflectionRequest, file: FileDescriptor
    ) -> reflection_pb2.ServerReflectionResponse:
        # The file and everything it imports, each once, as the protocol asks.
        seen: dict[str, FileDescriptor] = {}
        pending = [file]
        while pending:
            current = pending.pop()
            if current.name in seen:
                continue
            seen[current.name] = current
            pending.extend(current.dependencies)
        protos = []
        for name, descriptor in seen.items():
            commented = self._commented.get(name)
            if commented is None:
                proto = descriptor_pb2.FileDescriptorProto()
                descriptor.CopyToProto(proto)
                commented = proto.SerializeToString()
            protos.append(commented)
        return reflection_pb2.ServerReflectionResponse(
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=protos
            ),
            original_request=request,
        )


def _not_found(
    request: reflection_pb2.ServerReflectionRequest,
) -> reflection_pb2.ServerReflectionResponse:
    return reflection_pb2.ServerReflectionResponse(
        error_response=reflection_pb2.ErrorResponse(
            error_code=grpc.StatusCode.NOT_FOUND.value[0],
            error_message=grpc.StatusCode.NOT_FOUND.value[1].encode(),
        ),
        original_request=request,
    )


def enable_reflection(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Serve reflection v1 and v1alpha for ``service_names`` (plus both reflection services)."""
    pool = descriptor_pool.Default()
    _add_v1_file(pool)
    servicer = _Reflection([*service_names, *SERVICE_NAMES], pool)

    async def info(
        requests: AsyncIterable[reflection_pb2.ServerReflectionRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
        async for response in servicer.ServerReflectionInfo(requests, context):
            yield response

    handler = grpc.stream_stream_rpc_method_handler(
        info,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    # Same messages on the wire under both names: one handler serves both.
    server.add_generic_rpc_handlers(
        tuple(
            grpc.method_handlers_generic_handler(service, {"ServerReflectionInfo": handler})
            for service in SERVICE_NAMES
        )
    )
