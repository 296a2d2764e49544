"""Handlers for API services this version does not serve yet.

They answer every RPC with UNIMPLEMENTED / NOT_IMPLEMENTED and a message that
says so plainly, instead of grpc's bare "Method not implemented!".
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from sidecar.api.errors import abort_with
from sidecar.errors import NotImplementedYet

__all__ = ["unimplemented_service"]


def unimplemented_service(
    service: descriptor.ServiceDescriptor, what: str
) -> grpc.GenericRpcHandler:
    """A generic handler answering every RPC of ``service`` with NOT_IMPLEMENTED."""
    handlers = {}
    for method in service.methods:
        handlers[method.name] = _handler(service, method, what)
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def _handler(
    service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor, what: str
) -> grpc.RpcMethodHandler:
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    error = NotImplementedYet(
        f"{service.name}.{method.name} is not available in this version of cachecar yet "
        f"({what} are coming in a later release); the API is published so clients can be "
        "generated now",
        metadata={"rpc": f"{service.full_name}/{method.name}"},
    )

    async def unary(_request: Any, context: Any) -> Any:
        await abort_with(context, error)

    async def stream(_request: Any, context: Any) -> Any:
        await abort_with(context, error)
        yield  # pragma: no cover  (makes this an async generator)

    options = {
        "request_deserializer": request_type.FromString,
        "response_serializer": response_type.SerializeToString,
    }
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, **options)
    return grpc.unary_unary_rpc_method_handler(unary, **options)
