"""Python client for the cachecar sidecar.

:class:`CacheCar` is the async client (``async with CacheCar(target) as cc``);
:func:`serve_app` serves the app's Loader/Writer from plain async functions;
failures raise the typed exceptions below, each carrying the ErrorInfo
``reason`` (and ``error_reason``, the same as an :class:`ErrorReason` value:
the enum of every reason, generated from the protos). The generated gRPC
stubs live in :mod:`cachecar.v1` (import path = proto package); the sidecar
itself imports them from here, so they exist exactly once.
"""

from cachecar._cache import SetItem, WriteId
from cachecar._client import DEFAULT_TARGET, CacheCar
from cachecar._errors import (
    DOMAIN,
    Aborted,
    AlreadyExists,
    CacheCarError,
    Cancelled,
    DeadlineExceeded,
    ErrorReason,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    error_from_rpc,
)
from cachecar._fence import WriteFence
from cachecar._leaderboard import ScoreMode
from cachecar._pubsub import StartPosition, StreamStalled, Subscription
from cachecar._retry import Backoff, ExponentialBackoff, NoRetry
from cachecar._serve import AppServer, Loaded, LoadFn, Write, WriteBatchFn, WriteFn, serve_app

__all__ = [
    "DEFAULT_TARGET",
    "DOMAIN",
    "Aborted",
    "AlreadyExists",
    "AppServer",
    "Backoff",
    "CacheCar",
    "CacheCarError",
    "Cancelled",
    "DeadlineExceeded",
    "ErrorReason",
    "ExponentialBackoff",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "LoadFn",
    "Loaded",
    "NoRetry",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "ScoreMode",
    "SetItem",
    "StartPosition",
    "StreamStalled",
    "Subscription",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Write",
    "WriteBatchFn",
    "WriteFence",
    "WriteFn",
    "WriteId",
    "error_from_rpc",
    "serve_app",
]
