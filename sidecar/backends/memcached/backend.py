"""Memcached backend over pymemcache, called off the event loop.

pymemcache is synchronous, so every call runs on this backend's own thread
pool (never on the loop). ``HashClient`` spreads keys over the servers with
rendezvous hashing, so a node leaving moves only that node's keys. Memcached's
key rules (at most 250 bytes, no whitespace or control characters) are met by
encoding: a key that breaks them is replaced by a fixed-length digest instead
of being rejected, so every key an app may send is stored safely.

Session records (``sessions.py``, the one capability Memcached declares
beyond the core) run on this backend's client and thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError, MemcacheServerError

from sidecar.backends.base import MISSING, BackendKind, Capabilities, Fence, Missing
from sidecar.backends.breaker import CircuitBreaker, guarded
from sidecar.backends.capabilities import SessionStore
from sidecar.backends.memcached.sessions import MemcachedSessions
from sidecar.backends.memcached.versions import MemcachedVersions
from sidecar.backends.tls import client_context, describe_tls_failure
from sidecar.backends.versions import VersionedStore
from sidecar.config import BackendSettings
from sidecar.errors import BackendUnavailable, InvalidArgument
from sidecar.telemetry import Telemetry
from sidecar.telemetry.commands import CommandObserver, observed

__all__ = ["MemcachedBackend", "memcached_key"]

T = TypeVar("T")
_MAX_KEY = 250
# What a lease leaves in a missing value key: not a cachecar entry (readers see a
# miss), only a carrier for the CAS version the load's fill is fenced on.
_PLACEHOLDER = b"\x00cachecar:loading"
# Memcached treats an expiry above 30 days as an absolute unix time.
_RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600


def memcached_key(key: bytes) -> bytes:
    """``key`` itself when Memcached accepts it, else ``#`` + its SHA-256.

    Raw keys always start with the configured key prefix (never ``#``), so the
    two forms cannot collide.
    """
    if len(key) <= _MAX_KEY and all(0x21 <= b <= 0x7E for b in key):
        return key
    digest = hashlib.sha256(key).digest()
    return b"#" + base64.urlsafe_b64encode(digest).rstrip(b"=")


def _expiry(ttl_ms: int) -> int:
    seconds = max(1, math.ceil(ttl_ms / 1000))
    if seconds > _RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + seconds
    return seconds


def _stored(value: bytes | None) -> bytes | Missing:
    """A value as read, or MISSING for none and for a lease's placeholder."""
    if value is None or value == _PLACEHOLDER:
        return MISSING
    return bytes(value)


def parse_servers(url: str) -> list[tuple[str, int]]:
    """``memcached://h1:p1,h2:p2`` (or ``memcacheds://``) -> [(h1, p1), (h2, p2)]
    (port defaults to 11211)."""
    netloc = urlsplit(url).netloc
    servers = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host:
            host, port = port, "11211"
        servers.append((host, int(port)))
    return servers


class _HashClient(HashClient):  # type: ignore[misc]  # pymemcache ships no types
    """pymemcache's HashClient with its dead-node bookkeeping under one lock.

    The backend calls it from a thread pool. Unguarded, threads failing on the
    same node at once each try to take it out of the ring, and all but the
    first raise ValueError ("No such node") or KeyError, which reached callers
    as INTERNAL instead of BACKEND_UNAVAILABLE (found by bench.soak killing
    Memcached under load).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ring_lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def _mark_failed_server(self, server: Any) -> None:
        with self._ring_lock:
            if server in self._dead_clients:
                return  # another thread already took it out of the ring
            super()._mark_failed_server(server)

    def remove_server(self, server: Any, port: Any = None) -> None:
        with self._ring_lock:
            if port is None and server in self._dead_clients:
                self._failed_clients.pop(server, None)
                return
            super().remove_server(server, port)

    def _retry_dead(self) -> None:
        with self._ring_lock:
            super()._retry_dead()

    def _safely_run_func(self, client: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._safely_run_func(client, *args, **kwargs)
        except KeyError as exc:
            # pymemcache checks `server in _failed_clients`, then indexes it,
            # without a lock: a thread taking the node out in between makes
            # it a KeyError. The node is failing: say so, as a backend error.
            raise MemcacheError(f"{client.server} failed during the call") from exc

    def add_server(self, server: Any, port: Any = None) -> None:
        # A dead node coming back gets a new client. The old client's idle
        # pooled sockets are closed here, not left to the garbage collector;
        # one still in use fails on the dead connection and is destroyed by
        # the pool (destroy_on_fail). Never close a socket another thread uses.
        with self._ring_lock:
            old = self.clients.get(
                self._make_client_key(server if port is None else (server, port))
            )
            super().add_server(server, port)
        pool = getattr(old, "client_pool", None)
        if pool is not None:
            with pool._lock:
                idle = list(pool._free_objs)
                pool._free_objs.clear()
            for connection in idle:
                connection.close()


class MemcachedBackend:
    """A pool of Memcached servers, bytes in and out."""

    kind: BackendKind = "memcached"

    def __init__(
        self, name: str, settings: BackendSettings, telemetry: Telemetry | None = None
    ) -> None:
        self.name = name
        self.servers = parse_servers(settings.url)
        self.address = ",".join(f"{h}:{p}" for h, p in self.servers)
        self.observer = CommandObserver(telemetry or Telemetry(), name, "memcached", self.address)
        self.breaker = CircuitBreaker(name, on_change=self.observer.breaker_changed)
        self._timeout = settings.timeout.total_seconds()
        self._connect_timeout = settings.connect_timeout.total_seconds()
        # memcacheds:// (memcached -Z): every connection, pings included, uses it.
        self._tls = client_context(settings)
        # Under TLS 1.3 a server that refuses our (missing) client certificate
        # may show up as a plain connection reset, so TLS URLs get a wider hint.
        self._unreachable_hint = "check that Memcached is running and reachable" + (
            ", speaks TLS on this port (-Z), and whether it requires a client certificate "
            "(tls_cert_file, tls_key_file)"
            if settings.tls
            else ""
        )
        self._client = _HashClient(
            self.servers,
            tls_context=self._tls,
            use_pooling=True,
            max_pool_size=settings.pool_size,
            connect_timeout=self._connect_timeout,
            timeout=self._timeout,
            # No silent retry mode: with retries, pymemcache answers "miss" or
            # "not stored" for a failing node instead of raising, which would
            # look like a held lease. A failed node leaves the ring at once (its
            # keys move to the others) and is re-admitted 0.2 s later; the
            # circuit breaker (1 s) decides how often a dead node is really
            # tried, and must always find it re-admitted by then.
            retry_attempts=0,
            dead_timeout=0.2,
            ignore_exc=False,
            default_noreply=False,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=min(settings.pool_size, 32), thread_name_prefix=f"memcached-{name}"
        )
        # No invalidation feed, queue, pub/sub, sorted sets or signed counters:
        # only whole session records and versioned writes (gets/cas).
        sessions = MemcachedSessions(self._client, self._run, self.observer, self.breaker)
        self.capabilities = Capabilities(
            f"memcached backend {name!r}",
            {
                SessionStore: sessions,
                VersionedStore: MemcachedVersions(
                    self._client,
                    run=self._run,
                    encode_key=memcached_key,
                    expiry=_expiry,
                    observer=self.observer,
                    breaker=self.breaker,
                ),
            },
        )

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except MemcacheServerError as exc:
            if "too large" not in str(exc):
                raise self._unavailable(exc) from exc
            # The item (value plus envelope) is over memcached's item size (-I,
            # 1 MiB by default). The request's fault, not a down server: it must
            # not trip the circuit breaker for every other caller.
            raise InvalidArgument(
                f"memcached backend {self.name!r} refused the value: with cachecar's envelope "
                "it is over the server's item size limit (memcached -I, 1 MiB by default); "
                "store less, or set the namespace's max_value_size below that limit",
                reason="VALUE_TOO_LARGE",
                metadata={"backend": self.name},
            ) from exc
        except (MemcacheError, OSError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> BackendUnavailable:
        # ssl.SSLError is an OSError: a failed handshake lands here too.
        hint = describe_tls_failure(exc) or self._unreachable_hint
        return BackendUnavailable(
            f"memcached backend {self.name!r} ({self.address}) is unreachable: "
            f"{type(exc).__name__}: {exc}; {hint}",
            metadata={"backend": self.name},
        )

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        with self._translate_errors():
            return await loop.run_in_executor(self._pool, func, *args)

    @observed("get")
    @guarded
    async def get(self, key: bytes) -> bytes | Missing:
        value = await self._run(self._client.get, memcached_key(key))
        return _stored(value)

    @observed("get_multi")
    @guarded
    async def get_many(self, keys: Sequence[bytes]) -> list[bytes | Missing]:
        if not keys:
            return []
        encoded = [memcached_key(k) for k in keys]
        found: dict[bytes, bytes] = await self._run(self._client.get_many, encoded)
        return [_stored(found.get(k)) for k in encoded]

    @observed("lease")
    @guarded
    async def lease(self, key: bytes, lease_key: bytes, ttl_ms: int) -> Fence | None:
        return await self._run(self._lease, memcached_key(key), memcached_key(lease_key), ttl_ms)

    def _lease(self, key: bytes, lease_key: bytes, ttl_ms: int) -> Fence | None:
        token = secrets.token_bytes(16)
        if not self._client.add(lease_key, token, _expiry(ttl_ms), noreply=False):
            return None
        # Pin the value key's CAS version: the fill stores only if nobody has
        # set or deleted the key since. A missing key gets a placeholder (not
        # a cachecar entry, so readers see a miss) to carry that version.
        for _ in range(2):
            value, cas = self._client.gets(key)
            if value is not None:
                return Fence(token, int(cas))
            self._client.add(key, _PLACEHOLDER, _expiry(ttl_ms), noreply=False)
        return Fence(token, None)  # the key kept vanishing: load, but never store

    async def parked(self, key: bytes, lease_key: bytes) -> bytes | Missing:
        # Memcached keys never migrate: a fill always lands in the value key.
        return MISSING

    @observed("fill")
    @guarded
    async def fill(
        self, fence: Fence, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int
    ) -> bool:
        def fill() -> bool:
            # The CAS version alone does not fence a re-lease: a lease taken
            # after ours expired pins the same version when the key holds a
            # value (a refresh). So the lease must still be ours, too.
            if self._client.get(memcached_key(lease_key)) != fence.token:
                return False
            stored = False
            if fence.version is not None:
                stored = bool(
                    self._client.cas(
                        memcached_key(key), value, fence.version, _expiry(ttl_ms), noreply=False
                    )
                )
            self._release(fence, memcached_key(lease_key))
            return stored

        return await self._run(fill)

    @observed("release")
    @guarded
    async def release(self, fence: Fence, key: bytes, lease_key: bytes) -> None:
        await self._run(self._release, fence, memcached_key(lease_key))

    def _release(self, fence: Fence, lease_key: bytes) -> None:
        held, _ = self._client.gets(lease_key)
        if held == fence.token:
            self._client.delete(lease_key, noreply=False)

    @observed("overwrite")
    @guarded
    async def overwrite(self, key: bytes, lease_key: bytes, value: bytes, ttl_ms: int) -> None:
        def overwrite() -> None:
            # The set changes the key's CAS version, which is what fences the
            # load in flight; deleting the lease lets the next load start at
            # once instead of waiting for a lease that can no longer store.
            self._client.set(memcached_key(key), value, _expiry(ttl_ms), noreply=False)
            self._client.delete(memcached_key(lease_key), noreply=False)

        await self._run(overwrite)

    @observed("clear")
    @guarded
    async def clear(self, keys: Sequence[bytes], lease_keys: Sequence[bytes]) -> int:
        encoded = [memcached_key(k) for k in keys]
        leases = [memcached_key(k) for k in lease_keys]

        def clear_all() -> int:
            # A lease's placeholder is deleted too (that fences its load) but
            # is not a value: only what a reader could have read counts.
            held = self._client.get_many(encoded)
            removed = sum(
                1
                for k in encoded
                if self._client.delete(k, noreply=False) and _stored(held.get(k)) is not MISSING
            )
            for lease in leases:
                self._client.delete(lease, noreply=False)
            return removed

        return await self._run(clear_all)

    async def ping(self) -> None:
        # Not observed: health pings every second would flood traces with roots.
        # Ask every server directly: HashClient hides a failed node behind
        # default values, which would make a dead server look healthy.
        await self._run(self._ping_all)
        self.breaker.succeeded()

    def _server_client(self, host: str, port: int) -> Client:
        """A one-off connection to one server, with the pool's timeouts and TLS."""
        return Client(
            (host, port),
            connect_timeout=self._connect_timeout,
            timeout=self._timeout,
            tls_context=self._tls,
        )

    def _ping_all(self) -> None:
        for host, port in self.servers:
            client = self._server_client(host, port)
            try:
                client.version()
            finally:
                client.close()

    async def stats(self) -> dict[str, dict[str, float]]:
        """Memory use, limit and evictions per server, from ``stats`` (for metrics)."""

        def collect() -> dict[str, dict[str, float]]:
            out = {}
            for host, port in self.servers:
                client = self._server_client(host, port)
                try:
                    raw = client.stats()
                finally:
                    client.close()
                out[f"{host}:{port}"] = {
                    "memory_bytes": float(raw.get(b"bytes", 0)),
                    "memory_limit_bytes": float(raw.get(b"limit_maxbytes", 0)),
                    "evictions": float(raw.get(b"evictions", 0)),
                }
            return out

        return await self._run(collect)

    async def aclose(self) -> None:
        self._client.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
