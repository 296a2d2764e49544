"""Maps the error tree to gRPC statuses carrying a ``google.rpc.ErrorInfo``.

A :class:`CacheCarError` becomes its status code plus one ErrorInfo (domain
``cachecar``) in the ``grpc-status-details-bin`` trailer, readable with
``grpc_status.rpc_status`` in Python or any language's rich-error helper.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from sidecar.errors import CacheCarError, Code

__all__ = ["DOMAIN", "abort_with", "error_status", "internal_error"]

DOMAIN = "cachecar"


def error_status(error: CacheCarError) -> status_pb2.Status:
    """The ``google.rpc.Status`` for an error: code, message, one ErrorInfo."""
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=error.code.value, message=error.message, details=[detail])


async def abort_with(context: Any, error: CacheCarError) -> None:
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
