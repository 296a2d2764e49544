"""What a new Redis connection logs in with, rotated without a restart or a failed call.

A password only matters when a connection logs in: a live connection stays
authenticated when the ACL user's password changes. So rotation is a matter
of every *new* connection finding a password Redis accepts:

- ``password_file`` is re-read when it changed (mtime, size, inode: a
  Kubernetes Secret update swaps a symlink), checked at most once a second;
- ``password_env`` is read at start and again on SIGHUP (with the file);
- ``next_password_env/_file`` is a second candidate, tried when the current
  one is refused, so both ACL passwords of a rotation work;
- ``auth: iam`` signs a token (``iam.py``) every ``iam.token_refresh``.

A refused login re-reads every source (or signs a new token) at once and
tries again on the same socket, so a password changed in Redis before the
file caught up costs one extra round trip, not a failed call. Whichever
candidate was accepted last is tried first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.credentials import CredentialProvider

from sidecar.backends.redis.iam import IamTokenSigner
from sidecar.config import BackendSettings

__all__ = ["Attempt", "Credentials", "credentials_for", "reload_all"]

#: How often a password file is looked at (stat only; read when it changed).
FILE_POLL_SECONDS = 1.0

#: One login attempt with (username, password); raises on a refusal. A None
#: password: no source holds one (an unset variable), so no AUTH is sent and
#: the first command's NOAUTH names the missing source (link.py).
Attempt = Callable[[str | None, str | None], Awaitable[None]]

_LIVE: weakref.WeakSet[Credentials] = weakref.WeakSet()


def reload_all() -> None:
    """Re-read every backend's secrets at the next login (the SIGHUP handler)."""
    for credentials in list(_LIVE):
        credentials.reload()


def _install_sighup() -> None:
    # One handler for every backend; idempotent. Only the main thread's loop
    # can take signals (a test loop in a thread simply does without).
    with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload_all)


class _FileWatch:
    """A secret file, re-read only when it changed (or when told to)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._value: str | None = None

    def value(self, *, force: bool = False) -> str | None:
        now = time.monotonic()
        if not force and now - self._checked < FILE_POLL_SECONDS:
            return self._value
        self._checked = now
        try:
            st = self.path.stat()
        except OSError:
            # Mid-swap or unmounted for a moment: keep the last good value.
            return self._value
        seen = (st.st_mtime_ns, st.st_size, st.st_ino)
        if force or seen != self._seen:
            # A tiny file on a tmpfs mount: reading it inline costs microseconds.
            with contextlib.suppress(OSError):
                self._value = self.path.read_text().strip()
                self._seen = seen
        return self._value


class Credentials(CredentialProvider):
    """The login of one backend's connections: candidates, tried in order."""

    def __init__(self, settings: BackendSettings, signer: IamTokenSigner | None = None) -> None:
        self.username = settings.username
        self._settings = settings
        self._signer = signer
        self._files = {
            path: _FileWatch(path)
            for path in (settings.password_file, settings.next_password_file)
            if path is not None
        }
        self._environ: dict[str, str | None] = {}
        for env in (settings.password_env, settings.next_password_env):
            if env:
                self._environ[env] = os.environ.get(env)
        self._token: str | None = None
        self._signed_at = float("-inf")
        self._signing = asyncio.Lock()
        self._preferred: str | None = None
        self._refresh = settings.iam.token_refresh.total_seconds() if settings.iam else 0.0
        self.logins = 0
        self.refusals = 0
        _LIVE.add(self)

    @property
    def renew_every(self) -> float | None:
        """IAM: seconds after which a live connection sends AUTH with a fresh token
        (ElastiCache extends an IAM connection's 12 hours on each); None otherwise:
        a password stays valid on a connection that logged in with it."""
        return self._refresh if self._signer is not None else None

    def reload(self) -> None:
        """Forget what was read or signed: the next login reads every source anew."""
        self._environ.clear()
        for watch in self._files.values():
            watch._checked = float("-inf")
            watch._seen = None
        self._signed_at = float("-inf")

    def _secret(self, env: str | None, path: Path | None, *, force: bool) -> str | None:
        if env:
            # Read at start and on SIGHUP (reload), not at each login: nothing
            # outside the process can change its environment, and a variable
            # removed after start (as a test or a wrapper may do) is not a rotation.
            if env not in self._environ:
                self._environ[env] = os.environ.get(env)
            return self._environ[env]
        if path is not None:
            return self._files[path].value(force=force)
        return None

    async def _token_now(self, *, force: bool) -> str:
        assert self._signer is not None
        async with self._signing:  # a burst of dials signs once
            if force or time.monotonic() - self._signed_at >= self._refresh:
                # Off the loop: botocore may refresh credentials over the network.
                self._token = await asyncio.to_thread(self._signer.sign)
                self._signed_at = time.monotonic()
            assert self._token is not None
            return self._token

    async def candidates(self, *, force: bool = False) -> list[str]:
        """The passwords to try, the last accepted one first."""
        _install_sighup()
        if self._signer is not None:
            return [await self._token_now(force=force)]
        s = self._settings
        found = [
            self._secret(s.password_env, s.password_file, force=force),
            self._secret(s.next_password_env, s.next_password_file, force=force),
        ]
        ordered = [p for p in dict.fromkeys(found) if p is not None]
        if self._preferred in ordered:
            ordered.remove(self._preferred)
            ordered.insert(0, self._preferred)
        return ordered

    async def login(
        self,
        attempt: Attempt,
        refused: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        """Log in with the first candidate Redis accepts; re-read once if all are refused."""
        tried: set[str] = set()
        last: BaseException | None = None
        for force in (False, True):
            for password in await self.candidates(force=force):
                if password in tried:
                    continue
                tried.add(password)
                try:
                    await attempt(self.username, password)
                except refused as exc:
                    self.refusals += 1
                    last = exc
                    continue
                self._preferred = password
                self.logins += 1
                return
        if last is None:
            await attempt(self.username, None)
            return
        raise last

    # redis-py's own interface, for connections that bypass ``login`` (none of
    # ours do; kept so the object is a complete CredentialProvider).
    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        password = self._preferred or self._token or ""
        return (self.username, password) if self.username else (password,)

    async def get_credentials_async(self) -> tuple[str] | tuple[str, str]:
        password = (await self.candidates())[0]
        return (self.username, password) if self.username else (password,)


def credentials_for(settings: BackendSettings) -> Credentials | None:
    """The rotating login of a backend, or None when it logs in with no password."""
    if settings.auth == "iam":
        assert settings.iam is not None
        assert settings.username is not None
        return Credentials(settings, IamTokenSigner(settings.username, settings.iam))
    if settings.password_env or settings.password_file:
        return Credentials(settings)
    return None
