"""Maps the error tree to gRPC statuses carrying a ``google.rpc.ErrorInfo``.

A :class:`CacheCarError` becomes its status code plus one ErrorInfo (domain
``cachecar``) in the ``grpc-status-details-bin`` trailer, readable with
``grpc_status.rpc_status`` in Python or any language's rich-error helper.
"""

from __future__ import annotations

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from sidecar.api.context import Context
from sidecar.errors import CacheCarError, Code

__all__ = ["DOMAIN", "abort_with", "error_status", "internal_error"]

DOMAIN = "cachecar"


# The message travels twice in the trailers (percent-encoded in grpc-message,
# up to 3 bytes per byte, and again in grpc-status-details-bin), and a client
# turns trailers over its metadata limit (8 KiB soft, 16 KiB hard by default)
# into a bare RESOURCE_EXHAUSTED. Messages may quote what the caller sent, so
# they are capped here, whatever their source.
_MAX_MESSAGE_BYTES = 1024
_MAX_METADATA_BYTES = 128


def _capped(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode(errors="ignore") + "…"


def error_status(error: CacheCarError) -> status_pb2.Status:
    """The ``google.rpc.Status`` for an error: code, message, one ErrorInfo."""
    metadata = {k: _capped(v, _MAX_METADATA_BYTES) for k, v in error.metadata.items()}
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    message = _capped(error.message, _MAX_MESSAGE_BYTES)
    return status_pb2.Status(code=error.code.value, message=message, details=[detail])


async def abort_with(context: Context, error: CacheCarError) -> None:
    """End the call with ``error`` (raises, as ``context.abort`` does)."""
    status = rpc_status.to_status(error_status(error))
    await context.abort(status.code, status.details, status.trailing_metadata)


def internal_error() -> CacheCarError:
    """What a caller sees for a bug: INTERNAL, with the details left in the log."""
    error = CacheCarError(
        "cachecar hit an internal error; this is a bug, please report it with the "
        "sidecar's log line for this call",
        reason="INTERNAL",
    )
    error.code = Code.INTERNAL
    return error
