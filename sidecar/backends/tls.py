"""TLS client contexts for backend connections, and wording for what goes wrong.

One place builds the context both drivers that accept one use (the RESP fast
path and pymemcache), so Redis and Memcached verify servers the same way:
the configured CA bundle or, without one, the system's; hostname checked;
a client certificate when ``tls_cert_file`` is set (mutual TLS).
"""

from __future__ import annotations

import ssl

from sidecar.config import BackendSettings

__all__ = ["client_context", "describe_tls_failure"]


def client_context(settings: BackendSettings) -> ssl.SSLContext | None:
    """The context to dial ``settings`` with; None for a plaintext URL."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None
    )
    if settings.tls_cert_file:
        context.load_cert_chain(
            str(settings.tls_cert_file),
            str(settings.tls_key_file) if settings.tls_key_file else None,
        )
    return context


_UNTRUSTED = (
    "the server's TLS certificate was not accepted; check tls_ca_file "
    "(the CA that signed the server's certificate) and the host name in the URL"
)
_HANDSHAKE = (
    "the TLS handshake failed; check that the server speaks TLS on this port "
    "and whether it requires a client certificate (tls_cert_file, tls_key_file)"
)


def describe_tls_failure(exc: BaseException) -> str | None:
    """What to check when ``exc`` (or what it wraps) is a failed TLS handshake, else None.

    Drivers wrap handshake errors in their own exceptions (redis-py: a
    ConnectionError whose text carries the SSL reason), so both the chain and
    the text are looked at.
    """
    seen: BaseException | None = exc
    for _ in range(16):  # bounded: an exception chain can, rarely, loop
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return _UNTRUSTED
        if isinstance(seen, ssl.SSLError):
            return _HANDSHAKE
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return _UNTRUSTED
    if "SSL" in text or "TLS" in text:
        return _HANDSHAKE
    return None
