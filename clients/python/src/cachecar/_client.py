"""``CacheCar``: the async client, one object for the whole cachecar API.

    async with CacheCar("127.0.0.1:50070") as cc:
        product = await cc.get_or_load("products", "42")
        if product.found:
            print(json.loads(product.value), product.source)

Every method takes keyword ``timeout`` (seconds; default the client's), maps
failures to :mod:`cachecar._errors` and retries ``UNAVAILABLE`` only when the
call is idempotent. The generated stubs stay reachable through ``channel``
for anything this thin layer does not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

import grpc

from cachecar._cache import CacheMethods
from cachecar._leaderboard import LeaderboardMethods
from cachecar._pubsub import PubSubMethods
from cachecar._retry import Backoff, ExponentialBackoff
from cachecar._sessions import SessionMethods

__all__ = ["DEFAULT_TARGET", "CacheCar"]

#: Where the sidecar listens unless configured otherwise.
DEFAULT_TARGET = "127.0.0.1:50070"


class CacheCar(CacheMethods, SessionMethods, LeaderboardMethods, PubSubMethods):
    """An async client of one cachecar sidecar.

    ``target`` is ``host:port`` or ``unix:///path``. ``timeout`` is the
    deadline (seconds) of every call that does not pass its own; it spans all
    retries. ``backoff`` paces retries of idempotent calls on UNAVAILABLE
    (:class:`NoRetry` turns them off). ``channel`` lets the caller bring its
    own ``grpc.aio`` channel (with credentials, interceptors); the client then
    does not close it. ``options`` are channel options for a channel the
    client creates.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = 5.0,
        backoff: Backoff | None = None,
        channel: grpc.aio.Channel | None = None,
        options: Sequence[tuple[str, object]] = (),
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        self.target = target
        self._owns_channel = channel is None
        if channel is None:
            channel = grpc.aio.insecure_channel(target, options=list(options))
        super().__init__(channel, timeout, backoff or ExponentialBackoff())

    @property
    def channel(self) -> grpc.aio.Channel:
        """The underlying channel, for the generated stubs in :mod:`cachecar.v1`."""
        return self._channel

    async def aclose(self) -> None:
        """Close the channel (if the client created it); pending calls are cancelled."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
