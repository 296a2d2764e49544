"""The error tree: every failure cachecar reports, and the gRPC status it maps to.

Backends and callbacks translate driver exceptions into this tree at one
boundary (``raise BackendUnavailable(...) from exc``); the gRPC layer maps the
tree to a status code plus one ``google.rpc.ErrorInfo`` (domain ``cachecar``)
in ``sidecar.api.errors``. Nothing else in the sidecar talks in status codes.

    CacheCarError
     ├── InvalidArgument          INVALID_ARGUMENT    KEY_INVALID, VALUE_TOO_LARGE, ...
     ├── NotFound                 NOT_FOUND           NAMESPACE_UNKNOWN, ...
     ├── Unauthenticated          UNAUTHENTICATED     CALLER_UNKNOWN
     ├── PermissionDenied         PERMISSION_DENIED   NAMESPACE_FORBIDDEN
     ├── FailedPrecondition       FAILED_PRECONDITION NOT_SUPPORTED_BY_BACKEND, ...
     ├── Aborted                  ABORTED             SESSION_VERSION_MISMATCH, ...
     ├── OutOfRange               OUT_OF_RANGE        COUNTER_OVERFLOW, SCORE_OVERFLOW
     ├── ResourceExhausted        RESOURCE_EXHAUSTED  QUEUE_FULL, ...
     ├── DeadlineExceeded         DEADLINE_EXCEEDED   DEADLINE_EXCEEDED, LOADER_TIMEOUT
     ├── Unavailable              UNAVAILABLE
     │    ├── BackendUnavailable                      BACKEND_UNAVAILABLE
     │    │    ├── SlotMigrating                      SLOT_MIGRATING
     │    │    └── NodeUnavailable                    BACKEND_UNAVAILABLE
     │    └── CallbackUnavailable                     LOADER_UNAVAILABLE, WRITER_UNAVAILABLE
     └── CallbackFailed           (the app's own code) LOADER_FAILED, WRITER_FAILED

Every reason is a value name of the ``ErrorReason`` enum in
``protos/cachecar/v1/error_reason.proto``, the one list every client is
generated from: :data:`Reason` is that generated enum, and a
:class:`CacheCarError` refuses any other reason when it is constructed (and a
subclass whose ``default_reason`` is not one when it is defined), so a typo
fails in the first test that reaches it rather than in a client's branch.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from cachecar.v1.error_reason_pb2 import ErrorReason as Reason

__all__ = [
    "REASONS",
    "Aborted",
    "BackendUnavailable",
    "CacheCarError",
    "CallbackFailed",
    "CallbackUnavailable",
    "Code",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NodeUnavailable",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Reason",
    "ResourceExhausted",
    "SlotMigrating",
    "Unauthenticated",
    "Unavailable",
]


class Code(Enum):
    """gRPC status codes, by the numbers of ``google.rpc.Code``.

    Kept here so the domain layers need not import grpc.
    """

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


#: Every reason an error may carry: the names of :data:`Reason` but its zero
#: value (ERROR_REASON_UNSPECIFIED, which the API reserves for "no reason").
REASONS: Final[frozenset[str]] = frozenset(
    value.name for value in Reason.DESCRIPTOR.values if value.number != 0
)


def _checked(reason: str | Reason.ValueType) -> str:
    """The reason string for ``reason``, or ValueError if it is not an ErrorReason."""
    name = reason if isinstance(reason, str) else Reason.Name(reason)
    if name not in REASONS:
        raise ValueError(
            f"{name!r} is not an ErrorInfo reason: use a value of ErrorReason "
            "(protos/cachecar/v1/error_reason.proto), or add one there and run `make gen`"
        )
    return name


class CacheCarError(Exception):
    """Base of every error cachecar reports to a caller.

    ``reason`` is the ErrorInfo reason, a name of :data:`Reason` (pass the
    string or the enum value; it is kept as the string); ``metadata`` goes
    into the ErrorInfo's metadata map (never values, never secrets);
    ``message`` says what was wrong and what to do.
    """

    code: Code = Code.INTERNAL
    default_reason: str = "INTERNAL"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _checked(cls.default_reason)

    def __init__(
        self,
        message: str,
        *,
        reason: str | Reason.ValueType | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason: str = self.default_reason if reason is None else _checked(reason)
        self.metadata = dict(metadata or {})


class InvalidArgument(CacheCarError):
    """The request itself is wrong; retrying it unchanged cannot succeed."""

    code = Code.INVALID_ARGUMENT
    default_reason = "ARGUMENT_INVALID"


class NotFound(CacheCarError):
    """A named thing (namespace, session, member) does not exist."""

    code = Code.NOT_FOUND
    default_reason = "NOT_FOUND"


class Unauthenticated(CacheCarError):
    """The data API requires a known caller and this call proved none."""

    code = Code.UNAUTHENTICATED
    default_reason = "CALLER_UNKNOWN"


class PermissionDenied(CacheCarError):
    """The caller is known but not allowed to use this namespace."""

    code = Code.PERMISSION_DENIED
    default_reason = "NAMESPACE_FORBIDDEN"


class FailedPrecondition(CacheCarError):
    """The request is valid but the namespace's setup cannot serve it."""

    code = Code.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class Aborted(CacheCarError):
    """A concurrent change got there first (a compare-and-set lost); re-read and retry."""

    code = Code.ABORTED
    default_reason = "ABORTED"


class OutOfRange(CacheCarError):
    """The operation would take a value past the range it can hold."""

    code = Code.OUT_OF_RANGE
    default_reason = "OUT_OF_RANGE"


class ResourceExhausted(CacheCarError):
    """A limit was reached; retry later with backoff."""

    code = Code.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class DeadlineExceeded(CacheCarError):
    """The caller's deadline (or a configured timeout) ran out."""

    code = Code.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class Unavailable(CacheCarError):
    """A dependency is down; the call may succeed if retried later."""

    code = Code.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class BackendUnavailable(Unavailable):
    """Redis or Memcached could not be reached or did not answer in time."""

    default_reason = "BACKEND_UNAVAILABLE"


class SlotMigrating(BackendUnavailable):
    """A Redis Cluster slot is moving between nodes (resharding) and a command
    on several of its keys could not run before cachecar stopped retrying.

    Transient and local to that slot: it never counts toward the circuit
    breaker, so keys of other slots are not affected."""

    default_reason = "SLOT_MIGRATING"


class NodeUnavailable(BackendUnavailable):
    """One node of a Redis Cluster failed (or its own breaker is open); the
    other nodes, and the keys they serve, are not affected, so it counts toward
    that node's circuit breaker only."""


class CallbackUnavailable(Unavailable):
    """The app's LoaderService / WriterService could not be reached."""

    default_reason = "LOADER_UNAVAILABLE"


class CallbackFailed(CacheCarError):
    """The app's loader or writer answered with an error of its own.

    The app's status code is passed through, so an INVALID_ARGUMENT from the
    writer stays INVALID_ARGUMENT for the caller.
    """

    default_reason = "LOADER_FAILED"

    def __init__(
        self,
        message: str,
        *,
        code: Code,
        reason: str | Reason.ValueType | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.code = code
