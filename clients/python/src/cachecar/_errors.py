"""Typed exceptions for every error the sidecar (or the transport) reports.

cachecar answers errors as a gRPC status plus one ``google.rpc.ErrorInfo``
(domain ``cachecar``) in the ``grpc-status-details-bin`` trailer. This module
is the one place that turns a ``grpc.aio.AioRpcError`` into the tree below, so
callers branch on an exception class (the status code) and on the ErrorInfo
reason without touching gRPC: ``reason`` is its string (``NAMESPACE_UNKNOWN``),
``error_reason`` the same as an :class:`ErrorReason` value, the enum generated
from protos/cachecar/v1/error_reason.proto that lists every reason:

    CacheCarError                 any status; .code, .reason, .message, .metadata
     ├── Cancelled                CANCELLED
     ├── InvalidArgument          INVALID_ARGUMENT    KEY_INVALID, VALUE_TOO_LARGE, ...
     ├── DeadlineExceeded         DEADLINE_EXCEEDED   LOADER_TIMEOUT, LEASE_WAIT_TIMEOUT, ...
     ├── NotFound                 NOT_FOUND           NAMESPACE_UNKNOWN, SESSION_NOT_FOUND, ...
     ├── AlreadyExists            ALREADY_EXISTS
     ├── PermissionDenied         PERMISSION_DENIED
     ├── ResourceExhausted        RESOURCE_EXHAUSTED  QUEUE_FULL, SUBSCRIBER_TOO_SLOW, ...
     ├── FailedPrecondition       FAILED_PRECONDITION NOT_SUPPORTED_BY_BACKEND, ...
     ├── Aborted                  ABORTED             SESSION_VERSION_MISMATCH
     ├── OutOfRange               OUT_OF_RANGE        COUNTER_OVERFLOW
     ├── Unimplemented            UNIMPLEMENTED
     ├── Internal                 INTERNAL
     ├── Unavailable              UNAVAILABLE         BACKEND_UNAVAILABLE, LOADER_UNAVAILABLE, ...
     └── Unauthenticated          UNAUTHENTICATED

Statuses that did not come from cachecar (a connection refused, a deadline
that ran out in the client) have an empty ``reason``; their ``error_reason`` is
``ERROR_REASON_UNSPECIFIED``, as is that of a reason this client does not know
yet (sent by a newer sidecar).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import grpc
from google.rpc import error_details_pb2, status_pb2

from cachecar.v1.error_reason_pb2 import ErrorReason

__all__ = [
    "DOMAIN",
    "Aborted",
    "AlreadyExists",
    "CacheCarError",
    "Cancelled",
    "DeadlineExceeded",
    "ErrorReason",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "error_from_rpc",
]

#: The ErrorInfo domain of every error the sidecar itself raises.
DOMAIN = "cachecar"

_STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Reason string -> ErrorReason value, for error_reason (the names are the strings).
_REASONS: dict[str, ErrorReason.ValueType] = {
    value.name: ErrorReason.Value(value.name) for value in ErrorReason.DESCRIPTOR.values
}


class CacheCarError(Exception):
    """A failed cachecar call.

    ``code`` is the gRPC status code, ``reason`` the ErrorInfo reason
    (UPPER_SNAKE, empty if the status carried none; :attr:`error_reason` is
    the same as an :class:`ErrorReason` value), ``message`` the status
    message (what went wrong and what to do), ``metadata`` the ErrorInfo's
    metadata map and ``domain`` its domain (``cachecar`` for sidecar errors).

    ``reason`` may be given as an :class:`ErrorReason` value (an app raising
    ``Unavailable(..., reason=ErrorReason.BACKEND_UNAVAILABLE)``, a test
    building an expected error); it is kept as its name.
    """

    #: The status code this class stands for; the base class is used for codes
    #: without a subclass (UNKNOWN, DATA_LOSS).
    status_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        reason: str | ErrorReason.ValueType = "",
        code: grpc.StatusCode | None = None,
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason: str = reason if isinstance(reason, str) else ErrorReason.Name(reason)
        self.code = code if code is not None else self.status_code
        self.domain = domain
        self.metadata: Mapping[str, str] = MappingProxyType(dict(metadata or {}))

    @property
    def error_reason(self) -> ErrorReason.ValueType:
        """The reason as an :class:`ErrorReason` value, for ``==`` and ``match``.

        ``ERROR_REASON_UNSPECIFIED`` when there is none, when it is not
        cachecar's (another ``domain``), or when this client does not know it
        (a newer sidecar's): branch on the exception class first.
        """
        if self.domain not in (DOMAIN, ""):
            return ErrorReason.ERROR_REASON_UNSPECIFIED
        return _REASONS.get(self.reason, ErrorReason.ERROR_REASON_UNSPECIFIED)

    def __str__(self) -> str:
        label = f"{self.code.name}/{self.reason}" if self.reason else self.code.name
        return f"{label}: {self.message}"


class Cancelled(CacheCarError):
    """The call was cancelled (by the caller, or the sidecar shutting down a stream)."""

    status_code = grpc.StatusCode.CANCELLED


class InvalidArgument(CacheCarError):
    """Bad input: a key, value, TTL or batch the namespace does not accept."""

    status_code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(CacheCarError):
    """The call's deadline passed (in the client, the sidecar or the app's loader)."""

    status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(CacheCarError):
    """An unknown namespace, or a session / member that does not exist."""

    status_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CacheCarError):
    """Something to be created exists already."""

    status_code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(CacheCarError):
    """The caller may not do this."""

    status_code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(CacheCarError):
    """Overload: a full write-behind queue, a subscriber too slow, a full backend."""

    status_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(CacheCarError):
    """The namespace cannot do this (no loader/writer, or not on this backend)."""

    status_code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(CacheCarError):
    """A compare-and-set lost (SESSION_VERSION_MISMATCH): re-read and retry."""

    status_code = grpc.StatusCode.ABORTED


class OutOfRange(CacheCarError):
    """A counter or score would leave its range."""

    status_code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(CacheCarError):
    """The sidecar publishes this RPC but does not serve it (yet)."""

    status_code = grpc.StatusCode.UNIMPLEMENTED


class Internal(CacheCarError):
    """A bug in the sidecar; its log has the details."""

    status_code = grpc.StatusCode.INTERNAL


class Unavailable(CacheCarError):
    """The sidecar, a backend or the app's loader/writer cannot be reached."""

    status_code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(CacheCarError):
    """The caller's credentials were missing or refused."""

    status_code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[CacheCarError]] = {
    cls.status_code: cls
    for cls in (
        Cancelled,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        Unauthenticated,
    )
}


def _error_info(trailers: object) -> error_details_pb2.ErrorInfo | None:
    """The first ErrorInfo in a ``google.rpc.Status`` trailer, if there is one."""
    for key, value in trailers or ():  # type: ignore[attr-defined]
        if key != _STATUS_DETAILS_KEY:
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # noqa: BLE001 - a malformed trailer must not hide the real error
            return None
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info
    return None


def error_from_rpc(exc: grpc.aio.AioRpcError) -> CacheCarError:
    """Translate a failed call into the typed exception for its status code."""
    code: grpc.StatusCode = exc.code()
    info = _error_info(exc.trailing_metadata())
    cls = _BY_CODE.get(code, CacheCarError)
    message: str = exc.details() or code.name
    if info is None:
        return cls(message, code=code)
    return cls(
        message,
        code=code,
        reason=info.reason,
        domain=info.domain,
        metadata=dict(info.metadata),
    )
