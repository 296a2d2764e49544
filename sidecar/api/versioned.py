"""Proto <-> domain for versioned writes: conditions, tags, SetMany items."""

from __future__ import annotations

from cachecar.v1 import cache_pb2

from sidecar.api.decode import optional_duration
from sidecar.backends.versions import Condition
from sidecar.errors import CacheCarError, InvalidArgument
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.tags import check_tags
from sidecar.patterns.versions import SetItem, WriteOptions

__all__ = ["key_error", "set_item", "write_options"]

_CONDITIONS = {
    cache_pb2.CONDITION_UNSPECIFIED: Condition.ALWAYS,
    cache_pb2.CONDITION_IF_ABSENT: Condition.ABSENT,
    cache_pb2.CONDITION_IF_PRESENT: Condition.PRESENT,
    cache_pb2.CONDITION_IF_VERSION: Condition.VERSION,
}


def write_options(
    ns: Namespace,
    request: cache_pb2.SetRequest
    | cache_pb2.WriteThroughRequest
    | cache_pb2.SetItem
    | cache_pb2.EnqueueWriteRequest,
) -> WriteOptions:
    condition = _CONDITIONS.get(request.condition)
    if condition is None:
        raise InvalidArgument(
            f"namespace {ns.name!r}: condition {request.condition} is not a Condition",
            reason="CONDITION_INVALID",
            metadata={"namespace": ns.name},
        )
    return WriteOptions(
        version=request.version,
        condition=condition,
        expected=request.expected_version,
        # EnqueueWrite carries no tags: a queued write's entry is untagged.
        tags=()
        if isinstance(request, cache_pb2.EnqueueWriteRequest)
        else check_tags(ns, list(request.tags)),
    )


def set_item(ns: Namespace, item: cache_pb2.SetItem, request: cache_pb2.SetManyRequest) -> SetItem:
    ns.check_key(item.key)
    ns.check_value(item.value)
    source = item if item.HasField("ttl") else request
    ttl = optional_duration(source, "ttl", namespace=ns.name, reason="TTL_INVALID")
    ns.check_ttl(ttl)
    return SetItem(item.key, item.value, ttl, write_options(ns, item))


def key_error(error: CacheCarError) -> cache_pb2.KeyError:
    return cache_pb2.KeyError(code=error.code.value, reason=error.reason, message=error.message)
