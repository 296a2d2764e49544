"""The call machinery every CacheCar method goes through.

One function, :meth:`_Base._unary`, gives each unary call its deadline, its
retries (only when the caller says the call is idempotent, only on
``UNAVAILABLE``, and only while the deadline leaves room) and the translation
of failures into :mod:`cachecar._errors`. The per-service method modules build
requests and pick the stub; nothing else talks to grpc directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import grpc
from google.protobuf import duration_pb2

from cachecar._errors import error_from_rpc
from cachecar._retry import Backoff
from cachecar.v1 import (
    cache_pb2_grpc,
    leaderboard_pb2_grpc,
    pubsub_pb2_grpc,
    session_pb2_grpc,
)

__all__: list[str] = []

_R = TypeVar("_R")

#: The smallest deadline worth sending: a call with less left fails in the
#: client anyway, so it is given this much to fail with a clear status.
_MIN_ATTEMPT_TIMEOUT = 0.001


def duration(value: timedelta | float | None) -> duration_pb2.Duration | None:
    """A ``google.protobuf.Duration`` from a timedelta or seconds; None stays None."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    result = duration_pb2.Duration()
    result.FromNanoseconds(round(seconds * 1e9))
    return result


class _Base:
    """The channel, the stubs, the default deadline and the backoff."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float, backoff: Backoff) -> None:
        self._channel = channel
        self._timeout = timeout
        self._backoff = backoff
        self._cache = cache_pb2_grpc.CacheServiceStub(channel)
        self._sessions = session_pb2_grpc.SessionServiceStub(channel)
        self._boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        self._pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)

    async def _unary(
        self,
        rpc: Callable[..., Awaitable[Any]],
        request: object,
        response_type: type[_R],
        *,
        timeout: float | None,
        idempotent: bool,
    ) -> _R:
        """Call ``rpc`` within one overall deadline, retrying only where safe.

        The deadline covers every attempt and every wait between them, and each
        attempt carries what is left of it, so the sidecar (and the app's
        loader behind it) never works on a call the caller gave up on.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        failures = 0
        while True:
            remaining = max(deadline - loop.time(), _MIN_ATTEMPT_TIMEOUT)
            try:
                response = await rpc(request, timeout=remaining)
            except grpc.aio.AioRpcError as exc:
                # Only UNAVAILABLE means "the call did not happen or may be
                # repeated"; other codes are answers, and repeating them would
                # only repeat the answer (or, for non-idempotent calls, the write).
                if not idempotent or exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise error_from_rpc(exc) from exc
                failures += 1
                wait = self._backoff.delay(failures)
                if wait is None or loop.time() + wait >= deadline:
                    raise error_from_rpc(exc) from exc
                await asyncio.sleep(wait)
            else:
                if not isinstance(response, response_type):
                    raise TypeError(f"expected {response_type.__name__}, got {response!r}")
                return response
