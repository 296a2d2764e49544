"""Builds the configured backends from their URLs and closes them together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from sidecar.backends.base import Backend
from sidecar.backends.memcached import MemcachedBackend
from sidecar.backends.redis import RedisBackend
from sidecar.config import BackendSettings
from sidecar.errors import CacheCarError
from sidecar.telemetry import Telemetry

__all__ = ["BackendRegistry", "open_backend"]


def open_backend(
    name: str, settings: BackendSettings, telemetry: Telemetry | None = None
) -> Backend:
    """A backend for one config entry (connections are made lazily, on first use)."""
    if settings.kind == "memcached":
        return MemcachedBackend(name, settings, telemetry)
    return RedisBackend(name, settings, telemetry)


class BackendRegistry(Mapping[str, Backend]):
    """Every configured backend by name, with one lifecycle."""

    def __init__(
        self, settings: Mapping[str, BackendSettings], telemetry: Telemetry | None = None
    ) -> None:
        self._backends = {name: open_backend(name, s, telemetry) for name, s in settings.items()}

    def __getitem__(self, name: str) -> Backend:
        return self._backends[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._backends)

    def __len__(self) -> int:
        return len(self._backends)

    async def aclose(self) -> None:
        for backend in self._backends.values():
            # A backend whose server is already gone must not stop the others closing.
            with contextlib.suppress(CacheCarError):
                await backend.aclose()
