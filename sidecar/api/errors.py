"""Maps the error tree to gRPC statuses carrying a ``google.rpc.ErrorInfo``.

Every servicer method is wrapped by :func:`rpc`: a :class:`CacheCarError`
becomes its status code plus one ErrorInfo (domain ``cachecar``) in the
``grpc-status-details-bin`` trailer, readable with ``grpc_status.rpc_status``
in Python or any language's rich-error helper; anything unexpected becomes
INTERNAL with the traceback logged, never a crashed server.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from sidecar.errors import CacheCarError, Code

__all__ = ["DOMAIN", "abort_with", "error_status", "rpc"]

DOMAIN = "cachecar"
log = logging.getLogger("cachecar.api")

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Method = Callable[[S, Req, Any], Awaitable[Resp]]


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


def rpc(method: Method[S, Req, Resp]) -> Method[S, Req, Resp]:
    """Wrap a unary servicer method with the error mapping."""

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Any) -> Resp:
        try:
            return await method(self, request, context)
        except CacheCarError as error:
            await abort_with(context, error)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception:  # the one place that turns a bug into INTERNAL instead of a crash
            log.exception("unexpected error", extra={"rpc": method.__qualname__})
            internal = CacheCarError(
                "cachecar hit an internal error; this is a bug, please report it with the "
                "sidecar's log line for this call",
                reason="INTERNAL",
            )
            internal.code = Code.INTERNAL
            await abort_with(context, internal)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    return wrapper
