"""Cache backends: Redis (standalone, TLS, cluster) and Memcached, bytes in and out."""

from sidecar.backends.base import MISSING, Backend, BackendKind, Missing
from sidecar.backends.memcached import MemcachedBackend
from sidecar.backends.redis import RedisBackend
from sidecar.backends.registry import BackendRegistry, open_backend

__all__ = [
    "MISSING",
    "Backend",
    "BackendKind",
    "BackendRegistry",
    "MemcachedBackend",
    "Missing",
    "RedisBackend",
    "open_backend",
]
