"""Serve the app's side of cachecar (LoaderService, WriterService) from plain
async functions.

    async def load(namespace: str, key: str) -> bytes | None:
        row = await db.fetch_product(key)
        return None if row is None else json.dumps(row).encode()

    async with serve_app(load=load, address="127.0.0.1:50071") as app:
        ...  # cachecar's namespace config names app.target as its loader

A loader returns the value (bytes), ``None`` for "no such key" (cachecar
caches that for the namespace's negative TTL) or :class:`Loaded` to give the
value its own TTL. A writer receives :class:`Write` objects. To fail with a
particular status, raise one of :mod:`cachecar._errors` (``Unavailable`` for
a database that is down, so cachecar retries / serves stale); any other
exception is logged here and reported as INTERNAL, without its message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import grpc

from cachecar._base import duration
from cachecar._errors import CacheCarError
from cachecar._fence import WriteFence
from cachecar.v1 import loader_pb2, loader_pb2_grpc, writer_pb2, writer_pb2_grpc

__all__ = ["AppServer", "LoadFn", "Loaded", "Write", "WriteBatchFn", "WriteFn", "serve_app"]

_log = logging.getLogger("cachecar.app")


@dataclass(frozen=True)
class Loaded:
    """A loaded value with its own TTL (overriding the namespace's), its
    version (a row version or commit timestamp: the cache never replaces a
    newer version with it) and tags (for ``invalidate_tags``)."""

    value: bytes
    ttl: timedelta | None = None
    version: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Write:
    """One write cachecar asks the app to apply.

    ``write_id`` is stable across redeliveries: write-behind is at-least-once,
    so drop a write whose id was applied already.
    """

    namespace: str
    key: str
    value: bytes
    write_id: str
    delete: bool
    accepted_at: datetime
    #: Write-behind only: the key's sequence (fixed-width, ordered as strings)
    #: and the owner epoch of the batch; see :class:`cachecar.WriteFence`.
    sequence: str = ""
    owner_epoch: int = 0
    #: The write's version: write-behind, the version its cache entry got (the
    #: caller's, or cachecar's per-key counter); write-through, the caller's
    #: (0 if none). Store it with the row to keep writes and loads ordered.
    version: int = 0

    @classmethod
    def from_proto(cls, request: writer_pb2.WriteRequest, owner_epoch: int = 0) -> Write:
        """The Write for a generated ``WriteRequest`` (of a batch from ``owner_epoch``)."""
        return cls(
            namespace=request.namespace,
            key=request.key,
            value=request.value,
            write_id=request.write_id,
            delete=request.kind == writer_pb2.WRITE_KIND_DELETE,
            accepted_at=request.accepted_at.ToDatetime(),
            sequence=request.sequence,
            owner_epoch=owner_epoch,
            version=request.version,
        )


# The servicer's ``Write`` method shadows the dataclass inside its class body.
_AppWrite = Write

LoadFn = Callable[[str, str], Awaitable[bytes | Loaded | None]]
WriteFn = Callable[[Write], Awaitable[None]]
WriteBatchFn = Callable[[Sequence[Write]], Awaitable[None]]


async def _fail(context: Any, exc: Exception, what: str) -> None:
    """End the call with the status ``exc`` asks for (INTERNAL for a bug)."""
    if isinstance(exc, CacheCarError):
        await context.abort(exc.code, exc.message)
    # The app's own exception may carry database details; they belong in the
    # app's log, not in a status that cachecar passes on to its callers.
    _log.error("%s raised", what, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"the app's {what} raised {type(exc).__name__}")


class _Servicer(loader_pb2_grpc.LoaderServiceServicer, writer_pb2_grpc.WriterServiceServicer):
    def __init__(
        self,
        load: LoadFn | None,
        write: WriteFn | None,
        write_batch: WriteBatchFn | None,
        fence: WriteFence | None = None,
    ) -> None:
        self._load = load
        self._write = write
        self._write_batch = write_batch
        self._fence = fence
        # Check-apply-record must not interleave between two batches.
        self._fenced = asyncio.Lock()

    async def Load(self, request: loader_pb2.LoadRequest, context: Any) -> loader_pb2.LoadResponse:
        if self._load is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this app serves no loader")
            raise AssertionError  # abort raises; this line tells type checkers so
        try:
            result = await self._load(request.namespace, request.key)
        except Exception as exc:
            await _fail(context, exc, "loader")
            raise AssertionError from exc
        if result is None:
            return loader_pb2.LoadResponse(found=False)
        if isinstance(result, Loaded):
            return loader_pb2.LoadResponse(
                found=True,
                value=result.value,
                ttl=duration(result.ttl),
                version=result.version,
                tags=list(result.tags),
            )
        return loader_pb2.LoadResponse(found=True, value=result)

    async def Write(
        self, request: writer_pb2.WriteRequest, context: Any
    ) -> writer_pb2.WriteResponse:
        await self._apply(context, [_AppWrite.from_proto(request)], batch=False)
        return writer_pb2.WriteResponse()

    async def WriteBatch(
        self, request: writer_pb2.WriteBatchRequest, context: Any
    ) -> writer_pb2.WriteBatchResponse:
        writes = [_AppWrite.from_proto(w, request.owner_epoch) for w in request.writes]
        if self._fence is None:
            await self._apply(context, writes, batch=True)
            return writer_pb2.WriteBatchResponse()
        async with self._fenced:
            fresh = self._fence.fresh(writes)
            if fresh:
                await self._apply(context, fresh, batch=True)
                self._fence.applied(fresh)
        return writer_pb2.WriteBatchResponse()

    async def _apply(self, context: Any, writes: list[_AppWrite], *, batch: bool) -> None:
        try:
            if batch and self._write_batch is not None:
                await self._write_batch(writes)
            elif self._write is not None:
                # Without a batch function, a batch is its writes in queue
                # order; a failure part-way fails the batch, which cachecar
                # retries whole (so write must be idempotent per write_id).
                for write in writes:
                    await self._write(write)
            elif self._write_batch is not None:
                await self._write_batch(writes)
            else:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this app serves no writer")
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            await _fail(context, exc, "writer")


class AppServer:
    """A running gRPC server with the app's Loader/Writer; ``target`` is its address."""

    def __init__(self, servicer: _Servicer, address: str) -> None:
        self._server = grpc.aio.server()
        loader_pb2_grpc.add_LoaderServiceServicer_to_server(servicer, self._server)
        writer_pb2_grpc.add_WriterServiceServicer_to_server(servicer, self._server)
        port = self._server.add_insecure_port(address)
        host = address.rsplit(":", 1)[0]
        #: The address to put in cachecar's namespace config (the real port
        #: when ``address`` asked for port 0).
        self.target = f"{host}:{port}"

    async def start(self) -> Self:
        """Start serving."""
        await self._server.start()
        return self

    async def aclose(self, grace: float | None = 1.0) -> None:
        """Stop, letting calls in flight finish within ``grace`` seconds."""
        await self._server.stop(grace)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def serve_app(
    *,
    load: LoadFn | None = None,
    write: WriteFn | None = None,
    write_batch: WriteBatchFn | None = None,
    address: str = "127.0.0.1:0",
    fence: WriteFence | None = None,
) -> AppServer:
    """A LoaderService/WriterService server calling these functions.

    ``write`` serves write-through; ``write_batch`` serves write-behind
    flushes (without it, each write of a batch goes to ``write`` in order).
    With ``fence``, a batch's writes that are not newer (owner epoch, then
    sequence) than what was applied for their key are skipped: a late batch
    from a sidecar that lost its partition cannot overwrite newer values.
    Use as ``async with serve_app(...) as app`` or ``await app.start()``.
    """
    if load is None and write is None and write_batch is None:
        raise ValueError("serve_app needs at least one of load, write, write_batch")
    return AppServer(_Servicer(load, write, write_batch, fence), address)
