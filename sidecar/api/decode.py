"""Request deserializers that turn undecodable bytes into INVALID_ARGUMENT.

grpc calls a method handler's ``request_deserializer`` before any of our code
runs, and when it raises (a proto3 ``string`` field holding invalid UTF-8, or
bytes that are not protobuf at all) the caller gets a bare UNKNOWN/INTERNAL
with no ErrorInfo. Here the deserializer never raises: it returns a
:class:`Malformed` in place of the request, and the ``rpc`` / ``server_stream``
wrappers answer it with INVALID_ARGUMENT / REQUEST_MALFORMED. On the hot path
that costs one ``try`` (free unless it raises) and one ``isinstance``.

:func:`service_handler` registers a whole service this way, from its
descriptor, in place of the generated ``add_*Servicer_to_server``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from sidecar.api.context import Context
from sidecar.api.errors import abort_with
from sidecar.errors import CacheCarError, InvalidArgument, ResourceExhausted
from sidecar.telemetry.metrics import Metrics

__all__ = [
    "REQUEST_MALFORMED",
    "REQUEST_TOO_LARGE",
    "Malformed",
    "TooLarge",
    "optional_duration",
    "safe_deserializer",
    "service_handler",
]

REQUEST_MALFORMED = "REQUEST_MALFORMED"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
# google.protobuf.Duration's documented range; past it ToTimedelta() raises
# OverflowError (int64 seconds do not fit a timedelta).
_MAX_DURATION_S = 315_576_000_000
_MAX_NANOS = 999_999_999


class Malformed:
    """Stands in for a request that could not be decoded."""

    __slots__ = ("message_type",)

    def __init__(self, message_type: str) -> None:
        #: Full name of the request message, such as cachecar.v1.GetOrLoadRequest.
        self.message_type = message_type

    def error(self, service: str, method: str) -> CacheCarError:
        """The error the call ends with."""
        # upb's DecodeError does not say which field failed, so the message
        # names both causes a real client can hit.
        return InvalidArgument(
            f"{service}/{method}: the request is not a valid {self.message_type}: a string "
            "field (namespace, key, name, ...) holds invalid UTF-8, or the bytes are not "
            "protobuf wire format; send text as valid UTF-8 (put binary data in a bytes field, "
            "or encode it, e.g. as base64) and build requests with the generated stubs",
            reason=REQUEST_MALFORMED,
            metadata={"method": f"{service}/{method}", "message_type": self.message_type},
        )

    async def reject(
        self, context: Context, service: str, method: str, metrics: Metrics
    ) -> NoReturn:
        """End the call with :meth:`error`, counted as the wrappers count calls.

        No span: there is no request to describe, and the wrappers' span
        attributes read fields a Malformed does not have.
        """
        error = self.error(service, method)
        metrics.child(metrics.rpc_handled, service, method, error.code.name).inc()
        await abort_with(context, error)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


class TooLarge(Malformed):
    """Stands in for a request over limits.max_request_size (not decoded at all)."""

    __slots__ = ("limit",)

    def __init__(self, message_type: str, limit: int) -> None:
        super().__init__(message_type)
        self.limit = limit

    def error(self, service: str, method: str) -> CacheCarError:
        return ResourceExhausted(
            f"{service}/{method}: the request is larger than limits.max_request_size "
            f"({self.limit} bytes); send less per call (split a batch, store a smaller "
            "value) or raise the limit",
            reason=REQUEST_TOO_LARGE,
            metadata={"method": f"{service}/{method}", "max_request_size": str(self.limit)},
        )


def safe_deserializer(cls: type[Message], max_size: int | None = None) -> Callable[[bytes], Any]:
    """``cls.FromString``, returning a :class:`Malformed` instead of raising.

    With ``max_size``, a larger request is not decoded: it becomes a
    :class:`TooLarge` (gRPC itself refuses anything over twice that size,
    see ``Sidecar``, so memory stays bounded either way).
    """
    from_string = cls.FromString
    malformed = Malformed(cls.DESCRIPTOR.full_name)  # one, shared: it holds no per-call state
    too_large = TooLarge(cls.DESCRIPTOR.full_name, max_size or 0)
    limit = max_size if max_size is not None else float("inf")

    def deserialize(data: bytes) -> Any:
        if len(data) > limit:
            return too_large
        try:
            return from_string(data)
        except (DecodeError, UnicodeDecodeError):
            # UnicodeDecodeError: the pure-Python protobuf runtime's report of
            # invalid UTF-8 in a string field (upb raises DecodeError).
            return malformed

    return deserialize


def service_handler(
    descriptor: ServiceDescriptor,
    servicer: object,
    serializers: dict[str, Callable[[Any], bytes]] | None = None,
    max_request_size: int | None = None,
) -> grpc.GenericRpcHandler:
    """The handlers of every method of ``descriptor``, with safe deserializers.

    ``serializers`` overrides a method's response serializer (Subscribe writes
    pre-encoded responses). Client-streaming methods are not supported: no
    cachecar service has one.
    """
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in descriptor.methods:
        if method.client_streaming:
            raise ValueError(f"{method.full_name}: client streaming is not supported here")
        deserialize = safe_deserializer(GetMessageClass(method.input_type), max_request_size)
        serialize = (serializers or {}).get(method.name) or _serializer(method.output_type)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=deserialize,
            response_serializer=serialize,
        )
    return grpc.method_handlers_generic_handler(descriptor.full_name, handlers)


def optional_duration(
    request: Message, field: str, *, namespace: str, reason: str
) -> timedelta | None:
    """``request.<field>`` as a timedelta (None when unset), range-checked first.

    Only what cannot be converted is rejected here; whether the value makes
    sense (a TTL up to 365 days, ...) is the caller's check.
    """
    if not request.HasField(field):
        return None
    value = getattr(request, field)
    if abs(value.seconds) > _MAX_DURATION_S or abs(value.nanos) > _MAX_NANOS:
        raise InvalidArgument(
            f"namespace {namespace!r}: {field} is not a valid google.protobuf.Duration "
            f"(seconds {value.seconds}, nanos {value.nanos}); seconds must be within "
            f"±{_MAX_DURATION_S} and nanos within ±{_MAX_NANOS}",
            reason=reason,
            metadata={"namespace": namespace},
        )
    converted: timedelta = value.ToTimedelta()
    return converted


def _serializer(descriptor: Any) -> Callable[[Any], bytes]:
    serialize: Callable[[Any], bytes] = GetMessageClass(descriptor).SerializeToString
    return serialize
