"""gRPC clients of the app's own LoaderService and WriterService.

One channel per target, made on first use and reused by every call. The
caller's remaining deadline is passed on (capped by the namespace's timeout),
and the app's status codes are translated into the error tree here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import grpc
from cachecar.v1 import loader_pb2, loader_pb2_grpc

from sidecar.errors import (
    CacheCarError,
    CallbackFailed,
    CallbackUnavailable,
    Code,
    DeadlineExceeded,
)

__all__ = ["CallbackClients", "Loaded", "LoaderClient"]

_CHANNEL_OPTIONS = [
    # Notice a dead app quickly and keep idle channels open through proxies.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Fail fast instead of backing off for up to two minutes after the app restarts.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the app's loader answered."""

    found: bool
    value: bytes
    #: The loader's TTL override, or None for the namespace default.
    ttl: timedelta | None


def translate(
    exc: grpc.aio.AioRpcError, *, role: str, target: str, namespace: str
) -> CacheCarError:
    """Map an app's status to the error tree, naming the target."""
    code = Code(exc.code().value[0])
    where = f"the app's {role} at {target} (namespace {namespace!r})"
    meta = {"namespace": namespace, "target": target}
    upper = role.upper()
    if code is Code.UNAVAILABLE:
        return CallbackUnavailable(
            f"{where} is unavailable: {exc.details()}; check that the app serves "
            f"{role.capitalize()}Service there and that the config points at it",
            reason=f"{upper}_UNAVAILABLE",
            metadata=meta,
        )
    if code is Code.DEADLINE_EXCEEDED:
        return DeadlineExceeded(
            f"{where} did not answer before the deadline; raise the caller's deadline or the "
            f"namespace's {role}_timeout, or make the {role} faster",
            reason=f"{upper}_TIMEOUT",
            metadata=meta,
        )
    return CallbackFailed(
        f"{where} failed with {code.name}: {exc.details()}",
        code=code,
        reason=f"{upper}_FAILED",
        metadata=meta,
    )


class LoaderClient:
    """Calls one app's LoaderService.Load."""

    def __init__(self, target: str, channel: grpc.aio.Channel) -> None:
        self.target = target
        self._stub = loader_pb2_grpc.LoaderServiceStub(channel)

    async def load(self, namespace: str, key: str, time_left: float | None) -> Loaded:
        request = loader_pb2.LoadRequest(namespace=namespace, key=key)
        try:
            response = await self._stub.Load(request, timeout=time_left)
        except grpc.aio.AioRpcError as exc:
            raise translate(exc, role="loader", target=self.target, namespace=namespace) from exc
        ttl = response.ttl.ToTimedelta() if response.HasField("ttl") else None
        return Loaded(response.found, response.value, ttl)


class CallbackClients:
    """Channels to the app's callback targets, shared by every namespace."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._loaders: dict[str, LoaderClient] = {}

    def channel(self, target: str) -> grpc.aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
            self._channels[target] = channel
        return channel

    def loader(self, target: str) -> LoaderClient:
        client = self._loaders.get(target)
        if client is None:
            client = self._loaders[target] = LoaderClient(target, self.channel(target))
        return client

    async def aclose(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._loaders.clear()
