"""redis-py connections that log in through :class:`Credentials` and retire with age.

redis-py takes a connection class, not hooks, so each backend gets its own
subclass of redis-py's ``Connection`` (or ``SSLConnection``) carrying its
login and age limit as class attributes (``connection_class``).

Retiring happens in ``send_packed_command``, just before a command is
written: a connection is checked out by one caller at a time, so nothing is
in flight on it, and the command goes out on a freshly dialled (and freshly
authenticated) socket. No call fails for it; ElastiCache's 12-hour limit on
IAM connections is never reached. (The sidecar never uses WATCH, whose state
a reconnect between WATCH and EXEC would drop.)

Re-AUTH (IAM) happens at the same point: a connection that logged in more
than ``iam.token_refresh`` ago first sends ``AUTH`` with the current token
(signed anew when it is due), which is how ElastiCache wants a live IAM
connection kept. A refused re-AUTH closes the connection; the command then
goes out on a fresh one that logs in as any new connection does.
"""

from __future__ import annotations

import random
import time
from typing import Any

from redis.asyncio.connection import Connection, SSLConnection
from redis.credentials import UsernamePasswordCredentialProvider
from redis.exceptions import AuthenticationError, ResponseError

from sidecar.backends.redis.credentials import Credentials

__all__ = ["connection_class", "never_retire"]


class _Managed(Connection):
    """Mixed in before redis-py's class; attributes set per backend."""

    cachecar_login: Credentials | None = None
    cachecar_max_age: float | None = None
    #: IAM: seconds between re-AUTHs of a live connection (Credentials.renew_every).
    cachecar_renew: float | None = None
    #: False on a subscriber connection (see never_retire).
    cachecar_retires = True
    _cachecar_retire_at = float("inf")
    #: When this connection last logged in; +inf while it logs in.
    _cachecar_authed_at = float("inf")
    #: Connections this class retired for age / live re-AUTHs (tests and stats).
    retired = 0
    reauths = 0

    async def on_connect_check_health(self, check_health: bool = True) -> None:
        # +inf while logging in (now - inf is never past the renewal period):
        # the handshake's own AUTH and HELLO must not start a re-AUTH.
        self._cachecar_authed_at = float("inf")
        await self._cachecar_connect(check_health)
        self._cachecar_authed_at = time.monotonic()

    async def _cachecar_connect(self, check_health: bool) -> None:
        if self.cachecar_max_age is not None and self.cachecar_retires:
            # Jitter, so connections dialled together are not all redialled together.
            age = self.cachecar_max_age * random.uniform(0.8, 1.0)  # noqa: S311
            self._cachecar_retire_at = time.monotonic() + age
        login = self.cachecar_login
        if login is None:
            await super().on_connect_check_health(check_health)
            return

        async def attempt(username: str | None, password: str | None) -> None:
            # redis-py sends AUTH with whatever provider the connection holds:
            # this candidate, for this attempt only.
            self.credential_provider = (
                UsernamePasswordCredentialProvider(username, password)
                if password is not None
                else None
            )
            try:
                await super(_Managed, self).on_connect_check_health(check_health)
            finally:
                self.credential_provider = login

        await login.login(attempt, AuthenticationError)

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self.is_connected:
            now = time.monotonic()
            if now >= self._cachecar_retire_at:
                type(self).retired += 1
                await self.disconnect()
            elif (
                self.cachecar_renew is not None
                and self.cachecar_retires  # never in subscribed mode: AUTH is refused there
                and now - self._cachecar_authed_at >= self.cachecar_renew
            ):
                await self._cachecar_reauth()
        await super().send_packed_command(command, check_health)

    async def _cachecar_reauth(self) -> None:
        login = self.cachecar_login
        assert login is not None
        # Once per period even if it fails: a refusal closes the connection.
        self._cachecar_authed_at = time.monotonic()

        async def attempt(username: str | None, password: str | None) -> None:
            if password is None:
                return
            auth = ("AUTH", username, password) if username else ("AUTH", password)
            await super(_Managed, self).send_packed_command(self.pack_command(*auth), False)
            await self.read_response()

        try:
            await login.login(attempt, (AuthenticationError, ResponseError))
        except (AuthenticationError, ResponseError):
            # The command goes out on a fresh connection, which logs in anew.
            await self.disconnect()
            return
        type(self).reauths += 1


def never_retire(connection: Connection) -> None:
    """Keep ``connection`` out of age retirement: a subscriber connection.

    Retiring redials the socket under whoever holds the connection. A pooled
    connection is held by one command at a time, so that is safe; a subscriber
    connection is read by its owner all the time and holds subscriptions a
    fresh socket would not have. Its owner reconnects it instead, and reports
    the gap, when Redis closes it (ElastiCache's 12-hour limit on IAM
    connections included)."""
    connection.cachecar_retires = False  # type: ignore[attr-defined]


def connection_class(
    *, tls: bool, login: Credentials | None, max_age: float | None
) -> type[Connection]:
    """A connection class for one backend (plain redis-py's when nothing is managed)."""
    base: type[Connection] = SSLConnection if tls else Connection
    if login is None and max_age is None:
        return base
    namespace = {
        "cachecar_login": login,
        "cachecar_max_age": max_age,
        "cachecar_renew": login.renew_every if login is not None else None,
        "retired": 0,
        "reauths": 0,
    }
    return type(f"Cachecar{base.__name__}", (_Managed, base), namespace)
