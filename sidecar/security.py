"""Who may reach the data API: TLS on its listener, and callers by token or certificate.

Authentication happens where a call names its namespace
(:meth:`Namespaces.resolve`), so one check covers authentication and the
per-namespace allow-list, costs nothing when no callers are configured, and
needs no interceptor on the hot path.

Secrets stay secret: tokens are compared with :func:`hmac.compare_digest`
against every configured token (no early exit that would time which one
matched), and no message, log line or metric ever carries a token.
"""

from __future__ import annotations

import grp
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from sidecar.config import MIN_TOKEN_LENGTH, CallerSettings, ConfigError, Settings, TlsSettings
from sidecar.errors import PermissionDenied, Unauthenticated

__all__ = ["Caller", "CallerAuth", "secure_unix_socket", "server_credentials"]

_BEARER = "bearer "
# Certificate properties a caller's `identity` may match (grpc's auth context).
_IDENTITY_PROPERTIES = ("x509_common_name", "x509_subject_alternative_name")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    """TLS for the data API; with a client CA, clients must present a certificate (mTLS)."""
    key = _read(tls.key_file, "tls.key_file")
    cert = _read(tls.cert_file, "tls.cert_file")
    ca = _read(tls.client_ca_file, "tls.client_ca_file") if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


def secure_unix_socket(settings: Settings) -> None:
    """Give the API's unix socket the configured mode and group.

    Called between bind and ``server.start()``; the socket is created under a
    restrictive umask, so it is never open to others even for that moment.
    """
    path = settings.listen.removeprefix("unix://").removeprefix("unix:")
    if settings.unix_socket_group is not None:
        try:
            gid = grp.getgrnam(settings.unix_socket_group).gr_gid
        except KeyError:
            raise ConfigError(
                f"unix_socket_group: no group named {settings.unix_socket_group!r} on this host"
            ) from None
        os.chown(path, -1, gid)
    os.chmod(path, int(settings.unix_socket_mode, 8))


@dataclass(frozen=True)
class Caller:
    """A configured caller, once it has proved who it is."""

    name: str
    namespaces: frozenset[str]

    def may_use(self, namespace: str) -> bool:
        return "*" in self.namespaces or namespace in self.namespaces


class CallerAuth:
    """The `callers` of the config: authenticates a call and checks its namespace."""

    def __init__(
        self, callers: Mapping[str, CallerSettings], environ: Mapping[str, str] = os.environ
    ) -> None:
        self._tokens: list[tuple[bytes, Caller]] = []
        self._identities: dict[bytes, Caller] = {}
        for name, settings in callers.items():
            caller = Caller(name, frozenset(settings.namespaces))
            if settings.identity:
                self._identities[settings.identity.encode()] = caller
                continue
            token = self._token(name, settings, environ)
            self._tokens.append((token.encode(), caller))

    @staticmethod
    def _token(name: str, settings: CallerSettings, environ: Mapping[str, str]) -> str:
        source = (
            f"environment variable {settings.token_env}"
            if settings.token_env
            else f"file {settings.token_file}"
        )
        try:
            token = settings.token(environ)
        except OSError as exc:
            raise ConfigError(
                f"callers.{name}: cannot read the token {source}: {exc.strerror}"
            ) from None
        if not token:
            raise ConfigError(f"callers.{name}: the token {source} is not set or empty")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"callers.{name}: the token in {source} is shorter than {MIN_TOKEN_LENGTH} "
                "characters; use a random one, e.g. `openssl rand -hex 32`"
            )
        return token

    def authorize(self, context: grpc.aio.ServicerContext, namespace: str) -> Caller:
        """The caller of this call, if it may use ``namespace``; else the error to return."""
        caller = self._authenticate(context)
        if not caller.may_use(namespace):
            allowed = ", ".join(sorted(caller.namespaces))
            raise PermissionDenied(
                f"caller {caller.name!r} may not use namespace {namespace[:128]!r} "
                f"(allowed: {allowed}); add it to callers.{caller.name}.namespaces",
                metadata={"caller": caller.name, "namespace": namespace[:128]},
            )
        return caller

    def _authenticate(self, context: grpc.aio.ServicerContext) -> Caller:
        presented = _bearer_token(context.invocation_metadata() or ())
        # A bearer token alone decides; without one (none sent, or another
        # authorization scheme meant for someone else) the certificate may.
        if presented:
            found = None
            # Compare against every token, so timing says nothing about which matched.
            for token, caller in self._tokens:
                if hmac.compare_digest(token, presented):
                    found = caller
            if found is None:
                raise Unauthenticated(
                    "the authorization metadata carries no token known to this sidecar "
                    "(expected `Bearer <token>` with a token configured under callers); "
                    "check the token your service was given"
                )
            return found
        if self._identities:
            for prop in _IDENTITY_PROPERTIES:
                for value in context.auth_context().get(prop, ()):
                    if value in self._identities:
                        return self._identities[value]
        raise Unauthenticated(
            "this sidecar only serves configured callers: send `authorization: Bearer "
            "<token>` metadata, or a client certificate whose name is listed under callers"
        )


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> bytes | None:
    for key, value in metadata:
        if key == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if text[: len(_BEARER)].lower() == _BEARER:
                return text[len(_BEARER) :].strip().encode("latin-1", "replace")
            return b""
    return None
