"""Who may reach the data API: listener TLS, callers, and sidecar-wide limits."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, model_validator

from sidecar.config_types import Size, Strict

__all__ = [
    "MIN_TOKEN_LENGTH",
    "CallerSettings",
    "LimitSettings",
    "TlsSettings",
    "is_loopback",
]


class TlsSettings(Strict):
    """TLS on the data API listener; with ``client_ca_file``, mutual TLS."""

    cert_file: Path
    key_file: Path
    #: Set: every client must present a certificate signed by this CA (mTLS),
    #: and `callers` may name callers by their certificate identity.
    client_ca_file: Path | None = None


#: The smallest caller token accepted: a guessable token is no token.
MIN_TOKEN_LENGTH = 16


class CallerSettings(Strict):
    """One caller allowed to use the data API, and the namespaces it may use.

    A caller proves who it is with a bearer token (``authorization: Bearer
    <token>`` metadata; the token comes from an environment variable or a
    file, never the YAML) or, with mTLS, by its client certificate: ``identity``
    matches the certificate's common name or one of its subject alternative
    names (e.g. a SPIFFE ID).
    """

    token_env: str | None = None
    token_file: Path | None = None
    identity: str | None = None
    #: Namespaces this caller may use; "*" allows every namespace.
    namespaces: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_credential(self) -> CallerSettings:
        given = [f for f in ("token_env", "token_file", "identity") if getattr(self, f)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of token_env, token_file or identity "
                f"(got {', '.join(given) or 'none'})"
            )
        return self

    def token(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The caller's token, read at start (None for an mTLS identity)."""
        if self.token_env:
            # Stripped as token_file is (and as the presented token is): a
            # secret ending in a newline must not lock its caller out.
            token = environ.get(self.token_env)
            return token.strip() if token is not None else None
        if self.token_file:
            return self.token_file.read_text().strip()
        return None


class LimitSettings(Strict):
    """Sidecar-wide limits: past each, a clear RESOURCE_EXHAUSTED, never unbounded memory."""

    #: Largest request message; a bigger one is refused before it is decoded.
    max_request_size: Size = Field(default=4 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    #: Loads (distinct keys) running at once across every namespace; past it a
    #: GetOrLoad miss answers RESOURCE_EXHAUSTED / LOADS_EXHAUSTED.
    max_inflight_loads: int = Field(default=10_000, ge=1)
    #: Open Subscribe streams across every namespace (each namespace also has
    #: channels.max_subscribers).
    max_streams: int = Field(default=10_000, ge=1)


def is_loopback(listen: str) -> bool:
    """True for a unix socket or a loopback host (127.0.0.0/8, ::1, localhost)."""
    if listen.startswith("unix:"):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere
