"""A lean pipelined RESP connection for the hit path (GET / MGET), on hiredis.

Why hand-written: measured in ``make bench``, redis-py's asyncio client spends
most of a cache hit's CPU outside Redis — a pool checkout, a fresh task per
command for its timeout, per-command hooks — about 200 µs per GET on this
machine class, against ~200 µs for the whole gRPC call. A cache hit is one
GET, so this module does just that: one long-lived connection per slot of a
tiny pool, commands written back to back (pipelined, answered in order by
Redis), replies parsed by hiredis (the same C parser redis-py uses), and a
timer instead of a task for the timeout.

It serves standalone Redis (``redis://``, ``rediss://``) reads only; writes,
scripts and Redis Cluster stay on redis-py. Any failure closes the
connection (a late reply would otherwise answer the wrong command) and the
next command dials again.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

from sidecar.backends.redis.credentials import Attempt, Credentials

__all__ = ["RespError", "RespPool"]


class RespError(Exception):
    """An error reply from Redis (``-ERR ...``)."""


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False
        #: Loop time after which the pool dials a replacement (max_connection_age).
        self.retire_at = float("inf")
        #: Loop time after which the pool sends AUTH with a fresh token (IAM).
        self.reauth_at = float("inf")
        self._retiring = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if not self._waiters:
                self._fail(ConnectionError("reply without a command"))
                return
            waiter = self._waiters.popleft()
            if waiter.done():  # timed out: this late reply is consumed and dropped
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(RespError(str(reply)))
            else:
                waiter.set_result(reply)
        if self._retiring and not self._waiters:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed by Redis"))

    def _fail(self, exc: BaseException) -> None:
        self.closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(
                    ConnectionError(str(exc))
                    if not isinstance(exc, ConnectionError | TimeoutError)
                    else exc
                )
        if self._transport is not None:
            # abort, not close: over TLS, close() waits for the peer's
            # close_notify, and a transport still waiting when the loop ends
            # is a leaked socket. Nothing of a failed connection is worth a
            # graceful goodbye.
            self._transport.abort()

    def send(self, packed: bytes, timeout: float) -> asyncio.Future[Any]:
        waiter: asyncio.Future[Any] = self._loop.create_future()
        self._waiters.append(waiter)
        assert self._transport is not None
        self._transport.write(packed)
        handle = self._loop.call_later(timeout, self._timed_out, waiter)
        waiter.add_done_callback(lambda _: handle.cancel())
        return waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()  # see _fail

    def close_when_idle(self) -> None:
        """Close once every command sent on it has its reply (max_connection_age)."""
        self._retiring = True
        if not self._waiters:
            self.close()

    def _timed_out(self, waiter: asyncio.Future[Any]) -> None:
        if not waiter.done():
            # Replies come in order: after a lost one the stream cannot be trusted.
            self._fail(TimeoutError("Redis did not answer in time"))


def _pack(*args: Any) -> bytes:
    packed: bytes = hiredis.pack_command(args)
    return packed


class RespPool:
    """A few pipelined connections to one standalone Redis, used round robin."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None,
        timeout: float,
        connect_timeout: float,
        ssl_context: ssl.SSLContext | None,
        login: Credentials | None = None,
        max_age: float | None = None,
        size: int = 2,
    ) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._db = int((parts.path or "/0").lstrip("/") or 0)
        self._username = username or (unquote(parts.username) if parts.username else None)
        self._login = login
        self._max_age = max_age
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._ssl = ssl_context
        self._renew = login.renew_every if login is not None else None
        #: Live re-AUTHs sent (IAM; tests and stats).
        self.reauths = 0
        self._slots: list[_Connection | None] = [None] * size
        self._dialing: list[asyncio.Lock] = [asyncio.Lock() for _ in range(size)]
        self._next = 0
        #: Retired connections still owed replies; closed with the pool.
        self._retiring: list[_Connection] = []

    async def _dial(self, slot: int) -> _Connection:
        async with self._dialing[slot]:
            conn = self._slots[slot]
            if conn is not None and not conn.closed:
                return conn
            loop = asyncio.get_running_loop()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can drop a
            # connection that completes as the timeout fires, leaking its socket.
            async with asyncio.timeout(self._connect_timeout):
                _, fresh = await loop.create_connection(
                    lambda: _Connection(loop), self._host, self._port, ssl=self._ssl
                )
            try:
                if self._login is not None:
                    # A refused AUTH leaves the connection usable for the next candidate.
                    await self._login.login(self._auth(fresh), RespError)
                if self._renew is not None:
                    fresh.reauth_at = loop.time() + self._renew
                if self._max_age is not None:
                    # Jittered like connections.py, for the same reason.
                    fresh.retire_at = loop.time() + self._max_age * random.uniform(0.8, 1.0)  # noqa: S311
                if self._db:
                    await fresh.send(_pack("SELECT", self._db), self._timeout)
            except BaseException:
                # A refused login leaves an open, unauthenticated connection
                # that no slot holds: close it, or every retry leaks one.
                fresh.close()
                raise
            self._slots[slot] = fresh
            return fresh

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, None, int, list, ...)."""
        slot = self._next
        self._next = (slot + 1) % len(self._slots)
        conn = self._slots[slot]
        if conn is not None and not conn.closed:
            now = asyncio.get_running_loop().time()  # once: this is the hit path
            if conn.retire_at <= now:
                self._retire(slot, conn)  # too old
            elif conn.reauth_at <= now:
                await self._reauth(slot, conn)
        if conn is None or conn.closed or self._slots[slot] is not conn:
            # Retired or refused a re-AUTH: the command goes out on a fresh one.
            conn = await self._dial(slot)
        return await conn.send(_pack(*args), self._timeout)

    def _retire(self, slot: int, conn: _Connection) -> None:
        """Take ``conn`` out of its slot; commands already sent on it are
        answered before it closes."""
        if self._slots[slot] is conn:
            self._slots[slot] = None
        self._retiring = [c for c in self._retiring if not c.closed] + [conn]
        conn.close_when_idle()

    def _auth(self, conn: _Connection) -> Attempt:
        """One login attempt on ``conn``: AUTH with a candidate password or token."""

        async def attempt(username: str | None, password: str | None) -> None:
            if password is not None:
                auth = ("AUTH", username, password) if username else ("AUTH", password)
                await conn.send(_pack(*auth), self._timeout)

        return attempt

    async def _reauth(self, slot: int, conn: _Connection) -> None:
        """AUTH with the current token on a live, pipelined connection (IAM).

        Replies come in order, so commands other callers send meanwhile run
        after it. A refused AUTH retires the connection like an old one."""
        assert self._login is not None
        assert self._renew is not None
        conn.reauth_at = float("inf")  # one caller re-AUTHs; the rest go on
        try:
            await self._login.login(self._auth(conn), RespError)
        except RespError:
            self._retire(slot, conn)
            return
        conn.reauth_at = asyncio.get_running_loop().time() + self._renew
        self.reauths += 1

    def close(self) -> None:
        for conn in [*self._slots, *self._retiring]:
            if conn is not None:
                conn.close()
        self._retiring = []
        self._slots = [None] * len(self._slots)
