"""CacheService servicer: proto <-> domain, validation, error mapping.

Thin on purpose: it resolves the namespace, checks keys and values against
its limits, calls the cache-aside pattern and converts the outcome.
"""

from __future__ import annotations

from cachecar.v1 import cache_pb2, cache_pb2_grpc, writer_pb2

from sidecar.api.access import NamespaceAccess
from sidecar.api.context import Context
from sidecar.api.decode import optional_duration
from sidecar.api.rpc import rpc
from sidecar.api.versioned import key_error, set_item, write_options
from sidecar.errors import CacheCarError, InvalidArgument
from sidecar.patterns import tags as tagging
from sidecar.patterns import versions
from sidecar.patterns.cache_aside import CacheAside
from sidecar.patterns.flight import Lookup, Source
from sidecar.patterns.flusher import Flusher
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.writes import Writes
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import current_span

__all__ = ["CacheServicer"]

_SOURCE = {
    Source.CACHE: cache_pb2.SOURCE_CACHE,
    Source.LOADER: cache_pb2.SOURCE_LOADER,
    Source.STALE: cache_pb2.SOURCE_STALE,
    Source.NEAR: cache_pb2.SOURCE_NEAR_CACHE,
}


def _result(key: str, outcome: Lookup | CacheCarError) -> cache_pb2.GetOrLoadResult:
    if isinstance(outcome, CacheCarError):
        error = cache_pb2.KeyError(
            code=outcome.code.value, reason=outcome.reason, message=outcome.message
        )
        return cache_pb2.GetOrLoadResult(key=key, error=error)
    return cache_pb2.GetOrLoadResult(
        key=key,
        found=outcome.found,
        value=outcome.value,
        source=_SOURCE[outcome.source],
        version=outcome.version,
    )


# UNSPECIFIED is a put: a caller that never sets kind writes values.
_WRITE_KINDS = frozenset(
    (writer_pb2.WRITE_KIND_UNSPECIFIED, writer_pb2.WRITE_KIND_PUT, writer_pb2.WRITE_KIND_DELETE)
)


class CacheServicer(cache_pb2_grpc.CacheServiceServicer):
    """Serves cachecar.v1.CacheService."""

    SERVICE = "cachecar.v1.CacheService"

    def __init__(
        self,
        namespaces: NamespaceAccess,
        cache: CacheAside,
        writes: Writes,
        flusher: Flusher,
        telemetry: Telemetry,
    ) -> None:
        self.namespaces = namespaces
        self._cache = cache
        self._writes = writes
        self._flusher = flusher
        self.telemetry = telemetry

    def _annotate(self, ns: Namespace, key: str, got: Lookup, *, hit: bool | None = None) -> None:
        # Outcome on the server span; the key only where the namespace opts in.
        if self.telemetry.tracing.tracer is None:
            return
        span = current_span()
        span.set_attribute("cachecar.hit", got.source is not Source.LOADER if hit is None else hit)
        span.set_attribute("cachecar.source", got.source.name)
        span.set_attribute("cachecar.near_hit", got.source is Source.NEAR)
        span.set_attribute("cachecar.found", got.found)
        if ns.settings.trace_keys:
            span.set_attribute("cachecar.key", key)

    @rpc
    async def GetOrLoad(
        self, request: cache_pb2.GetOrLoadRequest, context: Context
    ) -> cache_pb2.GetOrLoadResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_key(request.key)
        got = await self._cache.get_or_load(ns, request.key, context.time_remaining())
        self._annotate(ns, request.key, got)
        return cache_pb2.GetOrLoadResponse(
            found=got.found, value=got.value, source=_SOURCE[got.source], version=got.version
        )

    @rpc
    async def GetOrLoadMany(
        self, request: cache_pb2.GetOrLoadManyRequest, context: Context
    ) -> cache_pb2.GetOrLoadManyResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        keys = list(request.keys)
        ns.check_keys(keys)
        outcomes = await self._cache.get_or_load_many(ns, keys, context.time_remaining())
        return cache_pb2.GetOrLoadManyResponse(
            results=[_result(k, o) for k, o in zip(keys, outcomes, strict=True)]
        )

    @rpc
    async def Get(self, request: cache_pb2.GetRequest, context: Context) -> cache_pb2.GetResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_key(request.key)
        got = await self._cache.get(ns, request.key)
        self._annotate(ns, request.key, got, hit=got.found)
        return cache_pb2.GetResponse(found=got.found, value=got.value, version=got.version)

    @rpc
    async def Set(self, request: cache_pb2.SetRequest, context: Context) -> cache_pb2.SetResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_key(request.key)
        ns.check_value(request.value)
        ttl = optional_duration(request, "ttl", namespace=ns.name, reason="TTL_INVALID")
        ns.check_ttl(ttl)
        options = write_options(ns, request)
        version = await self._cache.set(ns, request.key, request.value, ttl, options)
        return cache_pb2.SetResponse(version=version)

    @rpc
    async def Invalidate(
        self, request: cache_pb2.InvalidateRequest, context: Context
    ) -> cache_pb2.InvalidateResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        keys = list(request.keys)
        ns.check_keys(keys)
        count = await self._cache.invalidate(ns, keys, request.version)
        return cache_pb2.InvalidateResponse(invalidated_count=count)

    @rpc
    async def WriteThrough(
        self, request: cache_pb2.WriteThroughRequest, context: Context
    ) -> cache_pb2.WriteThroughResponse:
        ns, delete = self._write_args(request, context)
        options = write_options(ns, request)
        # The condition (and version) is checked before the writer is called.
        await versions.check(ns, request.key, options)
        write_id, version = await self._writes.write_through(
            ns,
            request.key,
            request.value,
            delete=delete,
            time_left=context.time_remaining(),
            options=options,
        )
        return cache_pb2.WriteThroughResponse(write_id=write_id, version=version)

    @rpc
    async def EnqueueWrite(
        self, request: cache_pb2.EnqueueWriteRequest, context: Context
    ) -> cache_pb2.EnqueueWriteResponse:
        ns, delete = self._write_args(request, context)
        options = write_options(ns, request)
        write_id, version = await self._writes.enqueue(
            ns, request.key, request.value, delete=delete, options=options
        )
        return cache_pb2.EnqueueWriteResponse(write_id=write_id, version=version)

    @rpc
    async def GetWriteQueue(
        self, request: cache_pb2.GetWriteQueueRequest, context: Context
    ) -> cache_pb2.GetWriteQueueResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        state = await self._writes.state(ns)
        response = cache_pb2.GetWriteQueueResponse(
            pending_count=state.pending,
            in_flight_count=state.in_flight,
            dead_letter_count=state.dead_letters,
        )
        response.oldest_age.FromMilliseconds(int(state.oldest_age_s * 1000))
        return response

    @rpc
    async def FlushWrites(
        self, request: cache_pb2.FlushWritesRequest, context: Context
    ) -> cache_pb2.FlushWritesResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        self._writes.queue(ns)  # the namespace must have a queue
        flushed, pending = await self._flusher.flush_now(ns, context.time_remaining())
        return cache_pb2.FlushWritesResponse(flushed_count=flushed, pending_count=pending)

    @rpc
    async def ReplayDeadLetters(
        self, request: cache_pb2.ReplayDeadLettersRequest, context: Context
    ) -> cache_pb2.ReplayDeadLettersResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        replayed = await self._writes.replay(ns, request.limit)
        self._flusher.kick(ns)
        return cache_pb2.ReplayDeadLettersResponse(replayed_count=replayed)

    def _write_args(
        self,
        request: cache_pb2.WriteThroughRequest | cache_pb2.EnqueueWriteRequest,
        context: Context,
    ) -> tuple[Namespace, bool]:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_key(request.key)
        if request.kind not in _WRITE_KINDS:
            raise InvalidArgument(
                f"namespace {ns.name!r}: kind {request.kind} is not a WriteKind; use "
                "WRITE_KIND_PUT (or leave it unset) or WRITE_KIND_DELETE",
                reason="WRITE_KIND_INVALID",
                metadata={"namespace": ns.name},
            )
        delete = request.kind == writer_pb2.WRITE_KIND_DELETE
        if not delete:
            ns.check_value(request.value)
        return ns, delete

    # Batches, TTL changes and tags (issue #20); appended so merges stay local.

    @rpc
    async def GetMany(
        self, request: cache_pb2.GetManyRequest, context: Context
    ) -> cache_pb2.GetManyResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        keys = list(request.keys)
        ns.check_keys(keys)
        got = await self._cache.get_many(ns, keys)
        return cache_pb2.GetManyResponse(
            results=[
                cache_pb2.GetResult(key=k, found=g.found, value=g.value, version=g.version)
                for k, g in zip(keys, got, strict=True)
            ]
        )

    @rpc
    async def SetMany(
        self, request: cache_pb2.SetManyRequest, context: Context
    ) -> cache_pb2.SetManyResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_keys([item.key for item in request.items])
        items = [set_item(ns, item, request) for item in request.items]
        outcomes = await self._cache.set_many(ns, items)
        return cache_pb2.SetManyResponse(
            results=[
                cache_pb2.SetResult(key=i.key, error=key_error(o))
                if isinstance(o, CacheCarError)
                else cache_pb2.SetResult(key=i.key, stored=True, version=o)
                for i, o in zip(items, outcomes, strict=True)
            ]
        )

    @rpc
    async def Touch(
        self, request: cache_pb2.TouchRequest, context: Context
    ) -> cache_pb2.TouchResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        ns.check_key(request.key)
        ttl = optional_duration(request, "ttl", namespace=ns.name, reason="TTL_INVALID")
        ns.check_ttl(ttl)
        try:
            found = await versions.touch(ns, request.key, ttl)
        finally:
            self._cache.written(ns, [request.key])  # a near copy keeps the old expiry
        return cache_pb2.TouchResponse(found=found)

    @rpc
    async def InvalidateTags(
        self, request: cache_pb2.InvalidateTagsRequest, context: Context
    ) -> cache_pb2.InvalidateTagsResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        await tagging.invalidate(ns, tagging.check_tags(ns, list(request.tags)))
        return cache_pb2.InvalidateTagsResponse()
