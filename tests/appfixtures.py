"""The fake application and an in-process sidecar, as pytest fixtures.

``FakeApp`` is a real gRPC LoaderService/WriterService that records every call
(the right test double: the app is ours to fake, Redis and Memcached are not).
``sidecar_for`` starts a real :class:`sidecar.server.Sidecar` in the test's
event loop against a given backend URL, listening on a free port.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import pytest
from cachecar.v1 import (
    cache_pb2_grpc,
    loader_pb2,
    loader_pb2_grpc,
    writer_pb2,
    writer_pb2_grpc,
)
from google.rpc import error_details_pb2, status_pb2
from opentelemetry import propagate
from opentelemetry.trace import SpanKind

from sidecar.config import Settings, settings_from_mapping
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry


@dataclass
class FakeApp(loader_pb2_grpc.LoaderServiceServicer, writer_pb2_grpc.WriterServiceServicer):
    """The app's side of cachecar: a dict as its database, every call recorded."""

    rows: dict[str, bytes] = field(default_factory=dict)
    loads: list[tuple[str, str]] = field(default_factory=list)
    writes: list[writer_pb2.WriteRequest] = field(default_factory=list)
    load_delay: float = 0.0
    fail_with: grpc.StatusCode | None = None
    ttl_ms: int | None = None
    #: A raw Duration (seconds, nanos) for the loader's TTL, out-of-range ones too.
    ttl_raw: tuple[int, int] | None = None
    #: How many bytes each found value is padded to (0: the row as stored).
    value_size: int = 0
    target: str = ""
    metadata_seen: list[dict[str, str]] = field(default_factory=list)
    deadlines_seen: list[float | None] = field(default_factory=list)
    #: When set, Load runs in a SERVER span continuing cachecar's trace context,
    #: as a traced app would.
    tracer: Any = None
    #: Writer knobs: a delay per call, a failure for every call, keys it rejects.
    write_delay: float = 0.0
    write_fail_with: grpc.StatusCode | None = None
    reject_keys: set[str] = field(default_factory=set)
    batches: list[int] = field(default_factory=list)
    write_deadlines_seen: list[float | None] = field(default_factory=list)
    #: Loads running at the app right now, and the most ever at once.
    open_loads: int = 0
    max_open_loads: int = 0
    #: Versions and tags the loader returns with a row (issue #20); with
    #: ``version_in_value`` a row's version is its value read as a number.
    versions: dict[str, int] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    version_in_value: bool = False

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        if self.tracer is None:
            return await self._load(request, context)
        carrier = dict(context.invocation_metadata())
        with self.tracer.start_as_current_span(
            "app.Load", context=propagate.extract(carrier), kind=SpanKind.SERVER
        ):
            return await self._load(request, context)

    async def _load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        self.open_loads += 1
        self.max_open_loads = max(self.max_open_loads, self.open_loads)
        try:
            return await self._load_row(request, context)
        finally:
            self.open_loads -= 1

    async def _load_row(
        self, request: loader_pb2.LoadRequest, context: Any
    ) -> loader_pb2.LoadResponse:
        self.loads.append((request.namespace, request.key))
        self.metadata_seen.append({k: str(v) for k, v in context.invocation_metadata()})
        self.deadlines_seen.append(context.time_remaining())
        # Read first, then be slow: a load that started before a write returns
        # the old row, as a real database read would.
        value = self.rows.get(request.key)
        version = self.versions.get(request.key, 0)
        if self.version_in_value and value is not None:
            version = int(value)
        if self.load_delay:
            await asyncio.sleep(self.load_delay)
        if self.fail_with is not None:
            await context.abort(self.fail_with, "the fake app was told to fail")
        if value is not None and self.value_size:
            value = value.ljust(self.value_size, b".")
        response = loader_pb2.LoadResponse(
            found=value is not None,
            value=value or b"",
            version=version,
            tags=self.tags.get(request.key, []),
        )
        if self.ttl_ms is not None:
            response.ttl.FromMilliseconds(self.ttl_ms)
        if self.ttl_raw is not None:
            response.ttl.seconds, response.ttl.nanos = self.ttl_raw
        return response

    async def Write(
        self, request: writer_pb2.WriteRequest, context: Any
    ) -> writer_pb2.WriteResponse:
        await self._apply(context, [request])
        return writer_pb2.WriteResponse()

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: Any
    ) -> writer_pb2.WriteBatchResponse:
        self.batches.append(len(request.writes))
        await self._apply(context, list(request.writes))
        return writer_pb2.WriteBatchResponse()

    async def _apply(self, context: Any, writes: list[writer_pb2.WriteRequest]) -> None:
        """The app's database write: all of the batch or (on failure) none of it."""
        self.write_deadlines_seen.append(context.time_remaining())
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
        if self.write_fail_with is not None:
            await context.abort(self.write_fail_with, "the fake app's database is down")
        if any(w.key in self.reject_keys for w in writes):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the fake app rejects that row")
        for w in writes:
            self.writes.append(w)
            if w.kind == writer_pb2.WRITE_KIND_DELETE:
                self.rows.pop(w.key, None)
            else:
                self.rows[w.key] = w.value

    def loads_of(self, key: str) -> int:
        return sum(1 for _, k in self.loads if k == key)


@pytest.fixture
async def fake_app() -> AsyncIterator[FakeApp]:
    app = FakeApp()
    server = grpc.aio.server()
    loader_pb2_grpc.add_LoaderServiceServicer_to_server(app, server)
    writer_pb2_grpc.add_WriterServiceServicer_to_server(app, server)
    port = server.add_insecure_port("127.0.0.1:0")
    app.target = f"127.0.0.1:{port}"
    await server.start()
    yield app
    await server.stop(None)


def make_settings(
    backend_url: str | dict[str, Any], loader: str | None, **namespace: Any
) -> Settings:
    """One backend ``main`` (a URL, or its settings) and one namespace ``items`` using it."""
    items: dict[str, Any] = {"backend": "main", "ttl": "1h", "ttl_jitter": 0.0}
    if loader:
        items["loader"] = loader
    items.update(namespace)
    return settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {"main": backend_url},
            "namespaces": {"items": items, "other": {"backend": "main"}},
        }
    )


@dataclass
class RunningSidecar:
    sidecar: Sidecar
    channel: grpc.aio.Channel
    cache: cache_pb2_grpc.CacheServiceStub


SidecarFactory = Callable[..., Awaitable[RunningSidecar]]


async def start_in_loop(
    settings: Settings, telemetry: Telemetry | None = None
) -> tuple[Sidecar, grpc.aio.Channel]:
    """A real sidecar started in the test's event loop, and a channel to it."""
    sidecar = Sidecar(settings, telemetry=telemetry or Telemetry(), health_interval=0.2)
    await sidecar.start()
    return sidecar, grpc.aio.insecure_channel(sidecar.address)


class _Started(Protocol):
    @property
    def sidecar(self) -> Sidecar: ...
    @property
    def channel(self) -> grpc.aio.Channel: ...


async def stop_all(started: Iterable[_Started]) -> None:
    """Close the channels and stop the sidecars ``start_in_loop`` gave a fixture."""
    for running in started:
        await running.channel.close()
        await running.sidecar.stop(grace=1.0)


@pytest.fixture
async def sidecar_for() -> AsyncIterator[SidecarFactory]:
    """``await sidecar_for(url, loader=..., **namespace_settings)`` -> a running sidecar."""
    started: list[RunningSidecar] = []

    async def start(
        backend_url: str | dict[str, Any],
        loader: str | None = None,
        *,
        telemetry: Telemetry | None = None,
        listen_metrics: bool = False,
        **ns: Any,
    ) -> RunningSidecar:
        settings = make_settings(backend_url, loader, **ns)
        if listen_metrics:
            settings = settings.model_copy(update={"metrics_listen": "127.0.0.1:0"})
        sidecar, channel = await start_in_loop(settings, telemetry)
        running = RunningSidecar(sidecar, channel, cache_pb2_grpc.CacheServiceStub(channel))
        started.append(running)
        return running

    yield start
    await stop_all(started)


def error_info(exc: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The single ErrorInfo a cachecar error carries (fails the test if absent)."""
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            assert status.code == exc.code().value[0]
            infos = []
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                assert detail.Unpack(info)
                infos.append(info)
            assert len(infos) == 1, infos
            assert infos[0].domain == "cachecar"
            return infos[0]
    raise AssertionError(f"no google.rpc.Status details on {exc.code()}: {exc.details()}")


async def status_of(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str]:
    """The status code and ErrorInfo reason ``call`` ends with: ``(OK, "")`` on success."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), error_info(exc).reason
    return grpc.StatusCode.OK, ""


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` until true; bounded, so a broken test fails instead of hanging."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)
