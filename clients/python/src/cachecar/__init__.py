"""Python client for the cachecar sidecar.

:class:`CacheCar` is the async client (``async with CacheCar(target) as cc``);
:func:`serve_app` serves the app's Loader/Writer from plain async functions;
failures raise the typed exceptions below, each carrying the ErrorInfo
``reason``. The generated gRPC stubs live in :mod:`cachecar.v1` (import path
= proto package); the sidecar itself imports them from here, so they exist
exactly once.
"""

from cachecar._cache import SetItem
from cachecar._client import DEFAULT_TARGET, CacheCar
from cachecar._errors import (
    DOMAIN,
    Aborted,
    AlreadyExists,
    CacheCarError,
    Cancelled,
    DeadlineExceeded,
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
from cachecar._leaderboard import ScoreMode
from cachecar._pubsub import StartPosition, Subscription
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
    "Subscription",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Write",
    "WriteBatchFn",
    "WriteFn",
    "error_from_rpc",
    "serve_app",
]
