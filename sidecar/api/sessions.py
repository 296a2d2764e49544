"""SessionService servicer: proto <-> domain, validation.

Thin on purpose: it resolves the namespace, checks subjects, field names,
sizes and TTLs against the namespace's limits, and calls the session pattern.
Session ids pass through untouched: the pattern validates them, and nothing
here logs them or puts them on the span (the ``@rpc`` wrapper records the
namespace only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cachecar.v1 import session_pb2, session_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from sidecar.api.access import NamespaceAccess
from sidecar.api.context import Context
from sidecar.api.decode import optional_duration
from sidecar.api.rpc import rpc
from sidecar.errors import InvalidArgument
from sidecar.patterns.namespace import Namespace
from sidecar.patterns.sessions import Sessions
from sidecar.telemetry import Telemetry

__all__ = ["SessionServicer"]


def _ts(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


def _check_subject(ns: Namespace, subject: str, *, required: bool) -> None:
    if required and not subject:
        raise InvalidArgument(
            f"namespace {ns.name!r}: the subject is empty; name the subject whose sessions to end",
            reason="SUBJECT_INVALID",
            metadata={"namespace": ns.name},
        )
    if len(subject.encode()) > ns.settings.max_key_length:
        raise InvalidArgument(
            f"namespace {ns.name!r}: the subject is longer than the namespace's max_key_length "
            f"of {ns.settings.max_key_length} bytes; use a shorter id for it",
            reason="SUBJECT_INVALID",
            metadata={"namespace": ns.name},
        )


def _check_field_names(ns: Namespace, names: Iterable[str]) -> None:
    for name in names:
        if not name or len(name.encode()) > ns.settings.max_key_length:
            raise InvalidArgument(
                f"namespace {ns.name!r}: a field name is empty or longer than the namespace's "
                f"max_key_length of {ns.settings.max_key_length} bytes; name every field",
                reason="FIELD_INVALID",
                metadata={"namespace": ns.name},
            )


def _check_size(ns: Namespace, data: Mapping[str, bytes]) -> None:
    size = sum(len(name.encode()) + len(value) for name, value in data.items())
    limit = ns.settings.max_value_size
    if size > limit:
        raise InvalidArgument(
            f"namespace {ns.name!r}: the session data is {size} bytes (field names plus "
            f"values), over the namespace's max_value_size of {limit}; store less in the "
            "session or raise the limit",
            reason="VALUE_TOO_LARGE",
            metadata={"namespace": ns.name, "max_value_size": str(limit)},
        )


class SessionServicer(session_pb2_grpc.SessionServiceServicer):
    """Serves cachecar.v1.SessionService."""

    SERVICE = "cachecar.v1.SessionService"

    def __init__(
        self, namespaces: NamespaceAccess, sessions: Sessions, telemetry: Telemetry
    ) -> None:
        self.namespaces = namespaces
        self._sessions = sessions
        self.telemetry = telemetry

    @rpc
    async def CreateSession(
        self, request: session_pb2.CreateSessionRequest, context: Context
    ) -> session_pb2.CreateSessionResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_subject(ns, request.subject, required=False)
        data = dict(request.data)
        _check_field_names(ns, data)
        _check_size(ns, data)
        ttl = optional_duration(request, "ttl", namespace=ns.name, reason="TTL_INVALID")
        ns.check_ttl(ttl)
        session_id, record = await self._sessions.create(ns, request.subject, data, ttl)
        return session_pb2.CreateSessionResponse(
            session_id=session_id,
            subject=record.subject,
            data=record.data,
            version=record.version,
            expires_at=_ts(record.expires_ms),
            absolute_expires_at=_ts(record.absolute_ms),
            created_at=_ts(record.created_ms),
        )

    @rpc
    async def GetSession(
        self, request: session_pb2.GetSessionRequest, context: Context
    ) -> session_pb2.GetSessionResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        record = await self._sessions.get(ns, request.session_id)
        return session_pb2.GetSessionResponse(
            data=record.data,
            subject=record.subject,
            version=record.version,
            expires_at=_ts(record.expires_ms),
            absolute_expires_at=_ts(record.absolute_ms),
            created_at=_ts(record.created_ms),
        )

    @rpc
    async def UpdateSession(
        self, request: session_pb2.UpdateSessionRequest, context: Context
    ) -> session_pb2.UpdateSessionResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        set_fields = dict(request.set_fields)
        delete_fields = list(request.delete_fields)
        _check_field_names(ns, [*set_fields, *delete_fields])
        if both := set_fields.keys() & set(delete_fields):
            raise InvalidArgument(
                f"namespace {ns.name!r}: {len(both)} field name(s) are both set and deleted in "
                "one update; name each field in set_fields or delete_fields, not both",
                reason="FIELD_INVALID",
                metadata={"namespace": ns.name},
            )
        # The fields set are all in the result, so this alone can already be too much.
        _check_size(ns, set_fields)
        record = await self._sessions.update(
            ns, request.session_id, set_fields, delete_fields, request.expected_version
        )
        return session_pb2.UpdateSessionResponse(
            data=record.data,
            version=record.version,
            expires_at=_ts(record.expires_ms),
            absolute_expires_at=_ts(record.absolute_ms),
        )

    @rpc
    async def TouchSession(
        self, request: session_pb2.TouchSessionRequest, context: Context
    ) -> session_pb2.TouchSessionResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        record = await self._sessions.touch(ns, request.session_id)
        return session_pb2.TouchSessionResponse(
            expires_at=_ts(record.expires_ms),
            absolute_expires_at=_ts(record.absolute_ms),
            version=record.version,
        )

    @rpc
    async def DeleteSession(
        self, request: session_pb2.DeleteSessionRequest, context: Context
    ) -> session_pb2.DeleteSessionResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        deleted = await self._sessions.delete(ns, request.session_id)
        return session_pb2.DeleteSessionResponse(deleted=deleted)

    @rpc
    async def DeleteSubjectSessions(
        self, request: session_pb2.DeleteSubjectSessionsRequest, context: Context
    ) -> session_pb2.DeleteSubjectSessionsResponse:
        ns = self.namespaces.resolve(request.namespace, context)
        _check_subject(ns, request.subject, required=True)
        count = await self._sessions.delete_subject(ns, request.subject)
        return session_pb2.DeleteSubjectSessionsResponse(deleted_count=count)
