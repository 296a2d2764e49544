"""CacheService servicer: proto <-> domain, validation, error mapping.

Thin on purpose: it resolves the namespace, checks keys and values against
its limits, calls the cache-aside pattern and converts the outcome.
"""

from __future__ import annotations

from typing import Any

from cachecar.v1 import cache_pb2, cache_pb2_grpc

from sidecar.api.rpc import rpc
from sidecar.errors import CacheCarError, NotImplementedYet
from sidecar.patterns.cache_aside import CacheAside, Lookup, Source
from sidecar.patterns.namespace import Namespace, Namespaces
from sidecar.telemetry import Telemetry
from sidecar.telemetry.tracing import current_span

__all__ = ["CacheServicer"]

_SOURCE = {
    Source.CACHE: cache_pb2.SOURCE_CACHE,
    Source.LOADER: cache_pb2.SOURCE_LOADER,
    Source.STALE: cache_pb2.SOURCE_STALE,
}


def _result(key: str, outcome: Lookup | CacheCarError) -> cache_pb2.GetOrLoadResult:
    if isinstance(outcome, CacheCarError):
        error = cache_pb2.KeyError(
            code=outcome.code.value, reason=outcome.reason, message=outcome.message
        )
        return cache_pb2.GetOrLoadResult(key=key, error=error)
    return cache_pb2.GetOrLoadResult(
        key=key, found=outcome.found, value=outcome.value, source=_SOURCE[outcome.source]
    )


def _later(rpc_name: str) -> NotImplementedYet:
    return NotImplementedYet(
        f"CacheService.{rpc_name} is not available in this version of cachecar yet "
        "(write-through and write-behind are coming in a later release)",
        metadata={"rpc": f"cachecar.v1.CacheService/{rpc_name}"},
    )


class CacheServicer(cache_pb2_grpc.CacheServiceServicer):
    """Serves cachecar.v1.CacheService."""

    SERVICE = "cachecar.v1.CacheService"

    def __init__(self, namespaces: Namespaces, cache: CacheAside, telemetry: Telemetry) -> None:
        self._namespaces = namespaces
        self._cache = cache
        self.telemetry = telemetry

    def _annotate(self, ns: Namespace, key: str, got: Lookup, *, hit: bool | None = None) -> None:
        # Outcome on the server span; the key only where the namespace opts in.
        if self.telemetry.tracing.tracer is None:
            return
        span = current_span()
        span.set_attribute("cachecar.hit", got.source is not Source.LOADER if hit is None else hit)
        span.set_attribute("cachecar.source", got.source.name)
        span.set_attribute("cachecar.found", got.found)
        if ns.settings.trace_keys:
            span.set_attribute("cachecar.key", key)

    @rpc
    async def GetOrLoad(
        self, request: cache_pb2.GetOrLoadRequest, context: Any
    ) -> cache_pb2.GetOrLoadResponse:
        ns = self._namespaces.resolve(request.namespace)
        ns.check_key(request.key)
        got = await self._cache.get_or_load(ns, request.key, context.time_remaining())
        self._annotate(ns, request.key, got)
        return cache_pb2.GetOrLoadResponse(
            found=got.found, value=got.value, source=_SOURCE[got.source]
        )

    @rpc
    async def GetOrLoadMany(
        self, request: cache_pb2.GetOrLoadManyRequest, context: Any
    ) -> cache_pb2.GetOrLoadManyResponse:
        ns = self._namespaces.resolve(request.namespace)
        keys = list(request.keys)
        ns.check_keys(keys)
        outcomes = await self._cache.get_or_load_many(ns, keys, context.time_remaining())
        return cache_pb2.GetOrLoadManyResponse(
            results=[_result(k, o) for k, o in zip(keys, outcomes, strict=True)]
        )

    @rpc
    async def Get(self, request: cache_pb2.GetRequest, context: Any) -> cache_pb2.GetResponse:
        ns = self._namespaces.resolve(request.namespace)
        ns.check_key(request.key)
        got = await self._cache.get(ns, request.key)
        self._annotate(ns, request.key, got, hit=got.found)
        return cache_pb2.GetResponse(found=got.found, value=got.value)

    @rpc
    async def Set(self, request: cache_pb2.SetRequest, context: Any) -> cache_pb2.SetResponse:
        ns = self._namespaces.resolve(request.namespace)
        ns.check_key(request.key)
        ns.check_value(request.value)
        ttl = request.ttl.ToTimedelta() if request.HasField("ttl") else None
        ns.check_ttl(ttl)
        await self._cache.set(ns, request.key, request.value, ttl)
        return cache_pb2.SetResponse()

    @rpc
    async def Invalidate(
        self, request: cache_pb2.InvalidateRequest, context: Any
    ) -> cache_pb2.InvalidateResponse:
        ns = self._namespaces.resolve(request.namespace)
        keys = list(request.keys)
        ns.check_keys(keys)
        count = await self._cache.invalidate(ns, keys)
        return cache_pb2.InvalidateResponse(invalidated_count=count)

    @rpc
    async def WriteThrough(self, request: Any, context: Any) -> Any:
        raise _later("WriteThrough")

    @rpc
    async def EnqueueWrite(self, request: Any, context: Any) -> Any:
        raise _later("EnqueueWrite")

    @rpc
    async def GetWriteQueue(self, request: Any, context: Any) -> Any:
        raise _later("GetWriteQueue")

    @rpc
    async def FlushWrites(self, request: Any, context: Any) -> Any:
        raise _later("FlushWrites")

    @rpc
    async def ReplayDeadLetters(self, request: Any, context: Any) -> Any:
        raise _later("ReplayDeadLetters")
