"""Session store: ids, expiry policy and revocation, over any SessionStore backend.

Session ids are bearer secrets. An id is 35 URL-safe characters: a 3-character
shard followed by 32 characters (192 bits) from :mod:`secrets`. The shard is
derived from the subject (random for a session without one), so all sessions
of a subject share a Redis Cluster slot with the subject's index and can be
revoked in one atomic step. Ids are never stored (records live under the
SHA-256 of the id), logged, traced or put in an error: this module is the only
place that sees them, and it hands the backend digests only.

Expiry: a session has an idle TTL (the namespace's ``ttl``, or the one
CreateSession asks for) and an absolute expiry (creation +
``session_max_lifetime``). With ``session_sliding`` (the default) every read
and update moves the idle expiry to ``min(now + ttl, absolute expiry)``;
TouchSession always does. The clock is injectable for tests.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from sidecar.backends.base import Missing
from sidecar.backends.capabilities import (
    Contended,
    FieldChanges,
    SessionKeys,
    SessionRecord,
    SessionStore,
    SubjectRevocation,
    TooLarge,
    VersionMismatch,
)
from sidecar.errors import (
    Aborted,
    BackendUnavailable,
    InvalidArgument,
    NotFound,
)
from sidecar.patterns.namespace import Namespace

__all__ = ["SHARD_LENGTH", "Sessions", "new_session_id"]

#: Characters of a session id that pick its shard (its cluster slot).
SHARD_LENGTH = 3
_RANDOM_BYTES = 24  # 192 bits -> 32 characters
_ID = re.compile(rf"[A-Za-z0-9_-]{{{SHARD_LENGTH + 32}}}")
_SESSION = b"s"
_SUBJECT_INDEX = b"u"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _shard(subject: str) -> str:
    if not subject:
        return _b64(secrets.token_bytes(3))[:SHARD_LENGTH]
    return _b64(hashlib.sha256(subject.encode()).digest())[:SHARD_LENGTH]


def new_session_id(subject: str) -> str:
    """A fresh id: the subject's shard, then 192 random bits, URL-safe."""
    return _shard(subject) + secrets.token_urlsafe(_RANDOM_BYTES)


def _not_found(ns: Namespace) -> NotFound:
    return NotFound(
        f"namespace {ns.name!r}: no such session (it expired, was deleted or revoked, or "
        "never existed); start a new one with CreateSession",
        reason="SESSION_NOT_FOUND",
        metadata={"namespace": ns.name},
    )


class Sessions:
    """The session operations, for any namespace whose backend stores sessions."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        #: Wall-clock seconds; swapped by tests.
        self.clock = clock

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _store(ns: Namespace) -> SessionStore:
        return ns.require(SessionStore)

    @staticmethod
    def _keys(ns: Namespace, session_id: str) -> SessionKeys:
        if not _ID.fullmatch(session_id):
            # Never echo the id: even a malformed one may be most of a real one.
            raise InvalidArgument(
                f"namespace {ns.name!r}: the session id is malformed; send the session_id "
                f"CreateSession returned ({SHARD_LENGTH + 32} characters of A-Z, a-z, 0-9, "
                "'-' and '_')",
                reason="SESSION_ID_INVALID",
                metadata={"namespace": ns.name},
            )
        shard = session_id[:SHARD_LENGTH]
        digest = _b64(hashlib.sha256(session_id.encode()).digest()).encode()
        session_prefix = ns.keys.tagged(_SESSION, shard)
        return SessionKeys(
            key=session_prefix + digest,
            member=digest,
            index_prefix=ns.keys.tagged(_SUBJECT_INDEX, shard),
            session_prefix=session_prefix,
        )

    # -- operations -----------------------------------------------------------

    async def create(
        self, ns: Namespace, subject: str, data: Mapping[str, bytes], ttl: timedelta | None
    ) -> tuple[str, SessionRecord]:
        """A new session; its id and record."""
        store = self._store(ns)
        now = self._now_ms()
        idle = ttl if ttl else ns.settings.ttl
        ttl_ms = max(1, int(idle.total_seconds() * 1000))
        absolute = now + int(ns.settings.session_max_lifetime.total_seconds() * 1000)
        # A 192-bit collision is not going to happen; the loop only makes sure
        # an existing session is never overwritten if it somehow did.
        for _ in range(3):
            session_id = new_session_id(subject)
            record = SessionRecord(
                subject=subject,
                data=dict(data),
                version=1,
                created_ms=now,
                expires_ms=min(now + ttl_ms, absolute),
                absolute_ms=absolute,
                ttl_ms=ttl_ms,
            )
            if await store.session_create(self._keys(ns, session_id), record, now):
                return session_id, record
        raise BackendUnavailable(
            f"namespace {ns.name!r}: could not store a new session; retry",
            metadata={"namespace": ns.name},
        )

    async def get(self, ns: Namespace, session_id: str) -> SessionRecord:
        """The session, its expiry slid forward if the namespace slides."""
        keys = self._keys(ns, session_id)
        store = self._store(ns)
        got = await store.session_read(
            keys, self._now_ms(), slide=ns.settings.session_sliding, with_data=True
        )
        if isinstance(got, Missing):
            raise _not_found(ns)
        return got

    async def touch(self, ns: Namespace, session_id: str) -> SessionRecord:
        """Slide the session's expiry (always: touching is asking for it); no data."""
        keys = self._keys(ns, session_id)
        got = await self._store(ns).session_read(keys, self._now_ms(), slide=True, with_data=False)
        if isinstance(got, Missing):
            raise _not_found(ns)
        return got

    async def update(
        self,
        ns: Namespace,
        session_id: str,
        set_fields: Mapping[str, bytes],
        delete_fields: Sequence[str],
        expected_version: int,
    ) -> SessionRecord:
        """Set and delete fields in one atomic step; the session afterwards."""
        keys = self._keys(ns, session_id)
        store = self._store(ns)
        changes = FieldChanges(
            set_fields=dict(set_fields),
            delete_fields=list(dict.fromkeys(delete_fields)),
            expected_version=expected_version,
            max_size=ns.settings.max_value_size,
        )
        got = await store.session_update(
            keys, self._now_ms(), changes, slide=ns.settings.session_sliding
        )
        if isinstance(got, Missing):
            raise _not_found(ns)
        if isinstance(got, VersionMismatch):
            raise Aborted(
                f"namespace {ns.name!r}: the session is at version {got.current}, not the "
                f"expected {expected_version}; nothing was changed: re-read it and retry",
                reason="SESSION_VERSION_MISMATCH",
                metadata={"namespace": ns.name, "current_version": str(got.current)},
            )
        if isinstance(got, TooLarge):
            limit = ns.settings.max_value_size
            raise InvalidArgument(
                f"namespace {ns.name!r}: the update would make the session {got.size} bytes "
                f"(field names plus values), over the namespace's max_value_size of {limit}; "
                "nothing was changed: store less, or delete fields in the same update",
                reason="VALUE_TOO_LARGE",
                metadata={"namespace": ns.name, "max_value_size": str(limit)},
            )
        if isinstance(got, Contended):
            raise Aborted(
                f"namespace {ns.name!r}: the session kept changing under {got.attempts} attempts "
                "to update it; nothing was changed: retry",
                reason="SESSION_CONTENDED",
                metadata={"namespace": ns.name},
            )
        return got

    async def delete(self, ns: Namespace, session_id: str) -> bool:
        """End the session; False if there was none."""
        keys = self._keys(ns, session_id)
        return await self._store(ns).session_delete(keys, self._now_ms())

    async def delete_subject(self, ns: Namespace, subject: str) -> int:
        """End every session of ``subject``; how many were live."""
        backend = ns.require(SubjectRevocation)
        shard = _shard(subject)
        index = ns.keys.tagged(_SUBJECT_INDEX, shard, subject.encode())
        return await backend.session_revoke_subject(
            index, ns.keys.tagged(_SESSION, shard), self._now_ms()
        )
