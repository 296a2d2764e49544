"""gRPC clients of the app's own LoaderService and WriterService.

One channel per target, made on first use and reused by every call. The
caller's remaining deadline is passed on (capped by the namespace's timeout),
the trace context travels in the metadata (so the app's own spans join the
trace under cachecar's CLIENT span), and the app's status codes are
translated into the error tree here, once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import grpc
from cachecar.v1 import loader_pb2, loader_pb2_grpc, writer_pb2, writer_pb2_grpc
from google.protobuf import duration_pb2
from opentelemetry.util.types import AttributeValue

from sidecar.errors import (
    CacheCarError,
    CallbackFailed,
    CallbackUnavailable,
    Code,
    DeadlineExceeded,
)
from sidecar.telemetry import Telemetry
from sidecar.telemetry.logs import RateLimit
from sidecar.telemetry.tracing import CLIENT, inject_metadata, record_error

__all__ = [
    "CHANNEL_OPTIONS",
    "MAX_LOADER_TTL",
    "CallbackClients",
    "Loaded",
    "LoaderClient",
    "Write",
    "WriterClient",
    "loader_ttl",
]

log = logging.getLogger("cachecar.callbacks")

CHANNEL_OPTIONS = [
    # No HTTP/2 keepalive pings. A gRPC server on default settings (Python
    # grpc.aio.server(), Go grpc.NewServer(), Java) takes a ping on a
    # connection without calls as abuse (one per 5 min in Go, per 2 h in the C
    # core) and after two answers GOAWAY "too_many_pings"; the next load then
    # pays a reconnect. Pings are not needed either: every call to the app has
    # a deadline, so a hung app is a timed-out call, and an app that exits
    # closes the (usually loopback) connection, which the channel sees at once.
    ("grpc.keepalive_permit_without_calls", 0),
    # Fail fast instead of backing off for up to two minutes after the app restarts.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


#: The longest TTL a loader may ask for (the same bound a caller's Set has);
#: longer ones are cut to it. Memcached cannot even store much longer ones.
MAX_LOADER_TTL = timedelta(days=365)
_MAX_NANOS = 999_999_999
_clamped = RateLimit(interval=60.0)


def loader_ttl(duration: duration_pb2.Duration, target: str, namespace: str) -> timedelta | None:
    """The loader's TTL as checked as a caller's: zero or negative means the
    namespace default (None), longer than :data:`MAX_LOADER_TTL` is cut to it."""
    seconds, nanos = duration.seconds, max(-_MAX_NANOS, min(_MAX_NANOS, duration.nanos))
    if seconds < 0 or (seconds == 0 and nanos <= 0):
        return None
    if seconds >= MAX_LOADER_TTL.total_seconds():
        if (suppressed := _clamped.allow(f"{target}/{namespace}")) is not None:
            log.warning(
                "loader returned a TTL over 365 days; cached for 365 days",
                extra={
                    "namespace": namespace,
                    "target": target,
                    "ttl_s": seconds,
                    "suppressed": suppressed,
                },
            )
        return MAX_LOADER_TTL
    return timedelta(seconds=seconds, microseconds=nanos // 1000)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the app's loader answered."""

    found: bool
    value: bytes
    #: The loader's TTL override, or None for the namespace default.
    ttl: timedelta | None
    #: The row's version (0: none; the store assigns its own), and tags.
    version: int = 0
    tags: tuple[str, ...] = ()


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


T = TypeVar("T")


class _AppClient:
    """One app target: every call in a CLIENT span (tracing on), errors translated."""

    SERVICE = ""
    ROLE = ""

    def __init__(self, target: str, telemetry: Telemetry) -> None:
        self.target = target
        self._tracer = telemetry.tracing.tracer

    async def _invoke(
        self,
        method: str,
        namespace: str,
        call: Callable[[list[tuple[str, str]] | None], Awaitable[T]],
        **attributes: AttributeValue,
    ) -> T:
        if self._tracer is None:
            return await self._translated(call, None, namespace)
        with self._tracer.start_as_current_span(
            f"{self.SERVICE}/{method}",
            kind=CLIENT,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": self.SERVICE,
                "rpc.method": method,
                "server.address": self.target,
                "cachecar.namespace": namespace,
                **attributes,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                # The context goes to the app in the metadata: its spans join ours.
                result = await self._translated(call, inject_metadata(), namespace)
            except CacheCarError as error:
                record_error(span, error.code.value, error.reason, error.message, server=False)
                raise
            span.set_attribute("rpc.grpc.status_code", 0)
            return result

    async def _translated(
        self,
        call: Callable[[list[tuple[str, str]] | None], Awaitable[T]],
        metadata: list[tuple[str, str]] | None,
        namespace: str,
    ) -> T:
        try:
            return await call(metadata)
        except grpc.aio.AioRpcError as exc:
            raise translate(exc, role=self.ROLE, target=self.target, namespace=namespace) from exc


class LoaderClient(_AppClient):
    """Calls one app's LoaderService.Load."""

    SERVICE = "cachecar.v1.LoaderService"
    ROLE = "loader"

    def __init__(self, target: str, channel: grpc.aio.Channel, telemetry: Telemetry) -> None:
        super().__init__(target, telemetry)
        self._stub = loader_pb2_grpc.LoaderServiceStub(channel)

    async def load(self, namespace: str, key: str, time_left: float | None) -> Loaded:
        request = loader_pb2.LoadRequest(namespace=namespace, key=key)

        async def call(metadata: list[tuple[str, str]] | None) -> Loaded:
            response = await self._stub.Load(request, timeout=time_left, metadata=metadata)
            ttl = (
                loader_ttl(response.ttl, self.target, namespace)
                if response.HasField("ttl")
                else None
            )
            return Loaded(
                response.found, response.value, ttl, response.version, tuple(response.tags)
            )

        return await self._invoke("Load", namespace, call)


@dataclass(frozen=True, slots=True)
class Write:
    """One write for the app's writer."""

    namespace: str
    key: str
    value: bytes
    delete: bool
    write_id: str
    accepted_ms: int
    #: Write-behind: the write's place in its key's history (see writer.proto).
    sequence: str = ""
    #: The write's version (see writer.proto's WriteRequest.version).
    version: int = 0

    def to_proto(self) -> writer_pb2.WriteRequest:
        request = writer_pb2.WriteRequest(
            namespace=self.namespace,
            key=self.key,
            value=b"" if self.delete else self.value,
            write_id=self.write_id,
            kind=writer_pb2.WRITE_KIND_DELETE if self.delete else writer_pb2.WRITE_KIND_PUT,
            sequence=self.sequence,
            version=self.version,
        )
        request.accepted_at.FromMilliseconds(self.accepted_ms)
        return request


class WriterClient(_AppClient):
    """Calls one app's WriterService (Write for write-through, WriteBatch for write-behind)."""

    SERVICE = "cachecar.v1.WriterService"
    ROLE = "writer"

    def __init__(self, target: str, channel: grpc.aio.Channel, telemetry: Telemetry) -> None:
        super().__init__(target, telemetry)
        self._stub = writer_pb2_grpc.WriterServiceStub(channel)

    async def write(self, write: Write, time_left: float | None) -> None:
        request = write.to_proto()

        async def call(metadata: list[tuple[str, str]] | None) -> None:
            await self._stub.Write(request, timeout=time_left, metadata=metadata)

        await self._invoke("Write", write.namespace, call)

    async def write_batch(
        self,
        namespace: str,
        writes: list[Write],
        time_left: float | None,
        *,
        owner_epoch: int = 0,
        partition: int = 0,
    ) -> None:
        request = writer_pb2.WriteBatchRequest(
            writes=[w.to_proto() for w in writes], owner_epoch=owner_epoch, partition=partition
        )

        async def call(metadata: list[tuple[str, str]] | None) -> None:
            await self._stub.WriteBatch(request, timeout=time_left, metadata=metadata)

        await self._invoke("WriteBatch", namespace, call, **{"cachecar.batch_size": len(writes)})


class CallbackClients:
    """Channels to the app's callback targets, shared by every namespace."""

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self._telemetry = telemetry or Telemetry()
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._loaders: dict[str, LoaderClient] = {}
        self._writers: dict[str, WriterClient] = {}

    def channel(self, target: str) -> grpc.aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._channels[target] = channel
        return channel

    def loader(self, target: str) -> LoaderClient:
        client = self._loaders.get(target)
        if client is None:
            client = LoaderClient(target, self.channel(target), self._telemetry)
            self._loaders[target] = client
        return client

    def writer(self, target: str) -> WriterClient:
        client = self._writers.get(target)
        if client is None:
            client = WriterClient(target, self.channel(target), self._telemetry)
            self._writers[target] = client
        return client

    async def aclose(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._loaders.clear()
        self._writers.clear()
