"""What a Redis capability mixin may use of :class:`~sidecar.backends.redis.RedisBackend`.

Sessions and boards live in mixins (one module each, to keep modules small);
this base declares, for the type checker only, the backend attributes they
rely on: its client, error translation, spans and breaker.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.backends.breaker import CircuitBreaker
    from sidecar.telemetry.commands import CommandObserver

__all__ = ["RedisCapability"]


class RedisCapability:
    """Base of the Redis capability mixins."""

    if TYPE_CHECKING:
        observer: CommandObserver
        breaker: CircuitBreaker

        @property
        def client(self) -> Any: ...

        def translate_errors(self) -> AbstractContextManager[None]: ...
