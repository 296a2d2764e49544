"""SessionService methods: a session store with sliding expiry, per-field
updates, compare-and-set and revocation of all sessions of a subject.

Session ids are bearer secrets: this client never logs them, and exceptions
never include them (the sidecar's messages do not either).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from cachecar._base import _Base, duration
from cachecar.v1 import session_pb2

__all__: list[str] = []


class SessionMethods(_Base):
    """The SessionService part of :class:`cachecar.CacheCar`."""

    async def create_session(
        self,
        namespace: str,
        subject: str = "",
        data: Mapping[str, bytes] | None = None,
        *,
        ttl: timedelta | float | None = None,
        timeout: float | None = None,
    ) -> session_pb2.CreateSessionResponse:
        """Start a session for ``subject`` with initial fields; the response
        carries its new ``session_id``. Not retried: a retry would create a
        second session."""
        request = session_pb2.CreateSessionRequest(
            namespace=namespace, subject=subject, data=dict(data or {}), ttl=duration(ttl)
        )
        return await self._unary(
            self._sessions.CreateSession,
            request,
            session_pb2.CreateSessionResponse,
            timeout=timeout,
            idempotent=False,
        )

    async def get_session(
        self, namespace: str, session_id: str, *, timeout: float | None = None
    ) -> session_pb2.GetSessionResponse:
        """Read a session (and slide its expiry); raises NotFound /
        SESSION_NOT_FOUND when it does not exist or has expired."""
        return await self._unary(
            self._sessions.GetSession,
            session_pb2.GetSessionRequest(namespace=namespace, session_id=session_id),
            session_pb2.GetSessionResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def update_session(
        self,
        namespace: str,
        session_id: str,
        set_fields: Mapping[str, bytes] | None = None,
        delete_fields: Iterable[str] = (),
        *,
        expected_version: int = 0,
        timeout: float | None = None,
    ) -> session_pb2.UpdateSessionResponse:
        """Set and delete fields in one atomic step. With ``expected_version``
        the update applies only to that version, else raises Aborted /
        SESSION_VERSION_MISMATCH. Not retried: each update bumps the version."""
        request = session_pb2.UpdateSessionRequest(
            namespace=namespace,
            session_id=session_id,
            set_fields=dict(set_fields or {}),
            delete_fields=list(delete_fields),
            expected_version=expected_version,
        )
        return await self._unary(
            self._sessions.UpdateSession,
            request,
            session_pb2.UpdateSessionResponse,
            timeout=timeout,
            idempotent=False,
        )

    async def touch_session(
        self, namespace: str, session_id: str, *, timeout: float | None = None
    ) -> session_pb2.TouchSessionResponse:
        """Slide a session's expiry without reading its data."""
        return await self._unary(
            self._sessions.TouchSession,
            session_pb2.TouchSessionRequest(namespace=namespace, session_id=session_id),
            session_pb2.TouchSessionResponse,
            timeout=timeout,
            idempotent=True,
        )

    async def delete_session(
        self, namespace: str, session_id: str, *, timeout: float | None = None
    ) -> bool:
        """End a session (logout); False if there was none. Idempotent."""
        response = await self._unary(
            self._sessions.DeleteSession,
            session_pb2.DeleteSessionRequest(namespace=namespace, session_id=session_id),
            session_pb2.DeleteSessionResponse,
            timeout=timeout,
            idempotent=True,
        )
        return response.deleted

    async def delete_subject_sessions(
        self, namespace: str, subject: str, *, timeout: float | None = None
    ) -> int:
        """End every session of ``subject`` (Redis namespaces only); how many."""
        response = await self._unary(
            self._sessions.DeleteSubjectSessions,
            session_pb2.DeleteSubjectSessionsRequest(namespace=namespace, subject=subject),
            session_pb2.DeleteSubjectSessionsResponse,
            timeout=timeout,
            idempotent=True,
        )
        return response.deleted_count
