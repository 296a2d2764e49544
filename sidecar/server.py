"""Assembles the grpc.aio server: servicers, health, reflection, shutdown.

:class:`Sidecar` owns everything that holds a connection (the server, the
backends, the callback channels, the health monitor) and closes it all in
order: stop accepting, let in-flight calls finish within the grace period,
then close backends and channels.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

import grpc
from cachecar.v1 import (
    cache_pb2,
    leaderboard_pb2,
    pubsub_pb2,
    session_pb2,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from sidecar.api.access import NamespaceAccess
from sidecar.api.cache import CacheServicer
from sidecar.api.decode import service_handler
from sidecar.api.leaderboard import LeaderboardServicer
from sidecar.api.pubsub import PubSubServicer, pubsub_service
from sidecar.api.sessions import SessionServicer
from sidecar.backends.invalidation import InvalidationFeed
from sidecar.backends.registry import BackendRegistry
from sidecar.callbacks import CallbackClients
from sidecar.config import Settings
from sidecar.errors import CacheCarError
from sidecar.patterns.cache_aside import CacheAside
from sidecar.patterns.flusher import Flusher
from sidecar.patterns.leaderboard import Leaderboards
from sidecar.patterns.namespace import Namespaces
from sidecar.patterns.pubsub import PubSub
from sidecar.patterns.sessions import Sessions
from sidecar.patterns.writes import Writes
from sidecar.reflection import SERVICE_NAMES as REFLECTION_SERVICES
from sidecar.reflection import enable_reflection
from sidecar.security import CallerAuth, secure_unix_socket, server_credentials
from sidecar.telemetry import Telemetry

__all__ = ["HEALTH_BACKEND_PREFIX", "Sidecar"]

log = logging.getLogger("cachecar.server")

#: Health service name of a backend: "cachecar.backend.<name>".
HEALTH_BACKEND_PREFIX = "cachecar.backend."
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_SERVER_OPTIONS = [
    # A second sidecar on the same port is a mistake unless asked for.
    ("grpc.so_reuseport", 0),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_permit_without_calls", 1),
    # Ping idle connections (a Subscribe stream can be quiet for hours) so
    # NATs and L4 proxies keep them, and drop clients that stopped answering.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
]


def _busy(setting: str, address: str, env: str, cause: object) -> CacheCarError:
    detail = f" ({cause})" if isinstance(cause, OSError) and cause.strerror else ""
    return CacheCarError(
        f"cannot listen on {address}{detail}: the address is in use or not available here; "
        f"set {setting} in the config (or {env}) to a free address"
    )


def _check_free(listen: str, setting: str, env: str) -> None:
    """Refuse a TCP address another process holds, before gRPC logs its own error."""
    if listen.startswith("unix:"):
        return
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if port == "0":
        return
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except OSError:
        return  # unresolvable: gRPC's bind reports it
    for family, kind, proto, _, address in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            # As gRPC binds: SO_REUSEADDR, so a port in TIME_WAIT is not "busy".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise _busy(setting, listen, env, exc) from None


def _check_unix_path(listen: str) -> None:
    """Refuse a unix socket path gRPC cannot bind, with what to do about it:
    a directory that does not exist, or a path taken by something that is not
    a socket (gRPC replaces an old socket, never a file)."""
    path = Path(listen.removeprefix("unix:").removeprefix("//"))
    fix = "or set listen in the config (or CACHECAR_LISTEN) to another path"
    if not path.parent.is_dir():
        raise CacheCarError(
            f"cannot listen on {listen}: the directory {path.parent} does not exist; "
            f"create it (in Kubernetes, mount an emptyDir volume there) {fix}"
        )
    if path.exists() and not path.is_socket():
        raise CacheCarError(
            f"cannot listen on {listen}: {path} exists and is not a socket, and cachecar "
            f"does not replace files; remove it {fix}"
        )


class Sidecar:
    """One running cachecar: ``async with Sidecar(settings) as sidecar: ...``."""

    def __init__(
        self,
        settings: Settings,
        *,
        telemetry: Telemetry | None = None,
        health_interval: float = 1.0,
        stats_interval: float = 10.0,
        reuse_port: bool = False,
    ) -> None:
        self.settings = settings
        # Workers of one `cachecar serve` share their ports on purpose (sidecar/workers.py).
        self._options = [
            ("grpc.so_reuseport", int(reuse_port)) if name == "grpc.so_reuseport" else (name, v)
            for name, v in _SERVER_OPTIONS
        ]
        self.telemetry = telemetry or Telemetry.from_env()
        self.backends = BackendRegistry(settings.backends, self.telemetry)
        self.callbacks = CallbackClients(self.telemetry)
        self.namespaces = Namespaces(settings, self.backends, self.telemetry)
        #: Invalidation feeds some near cache subscribed to, by backend name.
        self.feeds: dict[str, InvalidationFeed] = {
            ns.backend.name: feed
            for ns in self.namespaces.values()
            if ns.near is not None
            and (feed := ns.backend.capabilities.get(InvalidationFeed)) is not None
        }
        #: The api layer's view: every call's caller is checked before its namespace.
        self.access = NamespaceAccess(
            self.namespaces, CallerAuth(settings.callers) if settings.callers else None
        )
        self.cache = CacheAside(
            self.callbacks, self.telemetry, max_loads=settings.limits.max_inflight_loads
        )
        self.pubsub = PubSub(self.telemetry, max_streams=settings.limits.max_streams)
        # Their `clock` attributes can be swapped (tests roll board windows over).
        self.sessions = Sessions()
        self.leaderboards = Leaderboards()
        self.writes = Writes(self.callbacks, self.cache, self.telemetry)
        self.flusher = Flusher(self.namespaces, self.writes, self.callbacks, self.telemetry)
        self.metrics_port = 0
        self._stats_every = max(1, round(stats_interval / health_interval))
        self.health = health_aio.HealthServicer()
        self._health_interval = health_interval
        self._monitor: asyncio.Task[None] | None = None
        self._last_status: dict[str, int] = {}
        self._warned_unpersisted: set[tuple[str, str]] = set()
        self._server = grpc.aio.server(
            options=[
                *self._options,
                # Refused by gRPC before it is buffered whole: limits.max_request_size.
                # Up to twice limits.max_request_size reaches the deserializer,
                # which answers REQUEST_TOO_LARGE with ErrorInfo; past that
                # gRPC refuses the message before buffering it whole.
                ("grpc.max_receive_message_length", 2 * settings.limits.max_request_size),
            ]
        )
        self._health_server: grpc.aio.Server | None = None
        self.port = 0
        self.health_port = 0
        self._register()

    def _register(self) -> None:
        server = self._server
        limit = self.settings.limits.max_request_size
        # Built from the descriptors rather than the generated add_*_to_server,
        # so that an undecodable request is INVALID_ARGUMENT (api/decode.py).
        servicers = [
            (
                cache_pb2.DESCRIPTOR.services_by_name["CacheService"],
                CacheServicer(self.access, self.cache, self.writes, self.flusher, self.telemetry),
            ),
            (
                session_pb2.DESCRIPTOR.services_by_name["SessionService"],
                SessionServicer(self.access, self.sessions, self.telemetry),
            ),
            (
                leaderboard_pb2.DESCRIPTOR.services_by_name["LeaderboardService"],
                LeaderboardServicer(self.access, self.leaderboards, self.telemetry),
            ),
        ]
        server.add_generic_rpc_handlers(
            (
                *(
                    service_handler(descriptor, servicer, max_request_size=limit)
                    for descriptor, servicer in servicers
                ),
                pubsub_service(
                    PubSubServicer(
                        self.access,
                        self.pubsub,
                        self.telemetry,
                        heartbeat_interval=self.settings.heartbeat_interval.total_seconds(),
                    ),
                    limit,
                ),
            )
        )
        services = [
            cache_pb2.DESCRIPTOR.services_by_name["CacheService"].full_name,
            session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
            leaderboard_pb2.DESCRIPTOR.services_by_name["LeaderboardService"].full_name,
            pubsub_pb2.DESCRIPTOR.services_by_name["PubSubService"].full_name,
        ]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        services.append(health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
        enable_reflection(services, server)
        self._services = [*services, *REFLECTION_SERVICES]

    def _options_reuse_port(self) -> bool:
        return ("grpc.so_reuseport", 1) in self._options

    @property
    def address(self) -> str:
        """Where clients connect (the real port when the config asked for port 0)."""
        listen = self.settings.listen
        if listen.startswith("unix:"):
            return listen
        return f"{listen.rpartition(':')[0]}:{self.port}"

    def _bind(self) -> int:
        listen = self.settings.listen
        tls = self.settings.tls
        credentials = server_credentials(tls) if tls is not None else None

        def add() -> int:
            if not self._options_reuse_port():
                _check_free(listen, "listen", "CACHECAR_LISTEN")
            try:
                if credentials is not None:
                    return int(self._server.add_secure_port(listen, credentials))
                return int(self._server.add_insecure_port(listen))
            except RuntimeError as exc:  # gRPC's "Failed to bind to address ..."
                raise _busy("listen", listen, "CACHECAR_LISTEN", str(exc)) from None

        if not listen.startswith("unix:"):
            return add()
        _check_unix_path(listen)
        # Bound under a umask that leaves everyone else out, then given its
        # configured mode and group: the socket is never open wider than asked
        # (with TLS on the socket too).
        umask = os.umask(0o177)
        try:
            port = add()
        finally:
            os.umask(umask)
        if port:
            secure_unix_socket(self.settings)
        return port

    async def start(self) -> None:
        self.port = self._bind()
        if self.port == 0:
            raise _busy("listen", self.settings.listen, "CACHECAR_LISTEN", "")
        await self._server.start()
        if self.settings.health_listen:
            await self._start_health_listener(self.settings.health_listen)
        if self.settings.metrics_listen:
            listen = self.settings.metrics_listen
            try:
                self.metrics_port = self.telemetry.metrics.serve(listen)
            except OSError as exc:
                raise _busy("metrics_listen", listen, "CACHECAR_METRICS_LISTEN", exc) from None
        for service in ("", *self._services):
            await self.health.set(service, _SERVING)
        for feed in self.feeds.values():
            await feed.start()
        await self._check_backends()
        self._monitor = asyncio.create_task(self._monitor_backends(), name="health-monitor")
        self.flusher.start()
        log.info(
            "cachecar serving",
            extra={
                "listen": self.address,
                "backends": ",".join(self.backends),
                "namespaces": ",".join(self.namespaces),
            },
        )

    async def _start_health_listener(self, listen: str) -> None:
        # Only grpc.health.v1 here: probes reach it on the pod IP, the data API
        # stays on loopback or a unix socket.
        server = grpc.aio.server(
            options=[*self._options, ("grpc.max_receive_message_length", 64 * 1024)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        if not self._options_reuse_port():
            _check_free(listen, "health_listen", "CACHECAR_HEALTH_LISTEN")
        try:
            self.health_port = server.add_insecure_port(listen)
        except RuntimeError as exc:
            raise _busy("health_listen", listen, "CACHECAR_HEALTH_LISTEN", str(exc)) from None
        await server.start()
        self._health_server = server

    async def _check_backends(self) -> None:
        for name, backend in self.backends.items():
            error = ""
            try:
                await asyncio.wait_for(backend.ping(), timeout=2.0)
                status = _SERVING
            except (CacheCarError, TimeoutError) as exc:
                status = _NOT_SERVING
                error = str(exc) or "ping timed out"
            service = HEALTH_BACKEND_PREFIX + name
            if self._last_status.get(name) != status:
                if status == _SERVING:
                    log.info("backend up", extra={"backend": name, "address": backend.address})
                else:
                    log.warning("backend down", extra={"backend": name, "error": error})
            self._last_status[name] = status
            await self.health.set(service, status)
            self.telemetry.metrics.backend_up.labels(name).set(1 if status == _SERVING else 0)
        # The near cache's invalidation link, its own health entry: while it is
        # down reads go to the backend (correct, slower), so the backend stays SERVING.
        for name, feed in self.feeds.items():
            linked = feed.healthy()
            await self.health.set(
                HEALTH_BACKEND_PREFIX + name + ".invalidation", _SERVING if linked else _NOT_SERVING
            )
            self.telemetry.metrics.near_link_up.labels(name).set(1 if linked else 0)

    async def _poll_backend_stats(self) -> None:
        # The backends' own memory use and evictions, as the seed's "monitor
        # hits, misses, memory usage" advice asks; a failed poll keeps the last.
        for name, backend in self.backends.items():
            try:
                stats = await asyncio.wait_for(backend.stats(), timeout=2.0)
            except (CacheCarError, TimeoutError):
                continue
            for server, figures in stats.items():
                self.telemetry.metrics.backend_stats.update(name, server, figures)
                if figures.get("aof_enabled") == 0.0:
                    self._warn_unpersisted_queue(name, server)

    def _warn_unpersisted_queue(self, backend: str, server: str) -> None:
        # Write-behind is as durable as its Redis: say so once, loudly, rather
        # than let a restart silently drop acknowledged writes.
        queued = sorted(
            ns
            for ns, s in self.settings.namespaces.items()
            if s.backend == backend and s.write_behind is not None
        )
        if not queued or (backend, server) in self._warned_unpersisted:
            return
        self._warned_unpersisted.add((backend, server))
        log.warning(
            "write-behind queue on a Redis without AOF: a restart of it loses the writes "
            "still queued; turn on appendonly (or ElastiCache Multi-AZ)",
            extra={"backend": backend, "server": server, "namespaces": ",".join(queued)},
        )

    async def _monitor_backends(self) -> None:
        tick = 0
        while True:
            if tick % self._stats_every == 0:
                await self._poll_backend_stats()
            tick += 1
            await asyncio.sleep(self._health_interval)
            await self._check_backends()
            # Sampled here, not counted on the load path (and a gauge function
            # would not cross processes with workers: N).
            self.telemetry.metrics.loads_in_flight.set(self.cache.loads_in_flight)

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting, finish in-flight calls (up to ``grace``), close everything."""
        if grace is None:
            grace = self.settings.shutdown_grace.total_seconds()
        log.info("cachecar stopping", extra={"grace_s": grace})
        if self._monitor is not None:
            # Cancel until it ends: on Python 3.11 a wait_for() (around the
            # ping, and inside redis-py) can swallow a cancellation, and the
            # monitor would then run on, with stop() waiting forever.
            for _ in range(20):
                self._monitor.cancel()
                done, _ = await asyncio.wait([self._monitor], timeout=0.5)
                if done:
                    break
        await self.health.enter_graceful_shutdown()
        # Subscribe streams never end by themselves: end them now with
        # UNAVAILABLE (clients resubscribe elsewhere with their last ids)
        # instead of letting them hold server.stop for the whole grace.
        self.pubsub.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        await self._server.stop(grace)
        await self.pubsub.aclose()
        # After the last call: writes those calls queued are drained too.
        await self.flusher.drain(max(0.5, deadline - loop.time()))
        if self._health_server is not None:
            await self._health_server.stop(None)
        await self.cache.aclose()
        await self.callbacks.aclose()
        await self.backends.aclose()
        # Whatever the trace exporter does (an unreachable collector retries for
        # 10 s), the shutdown stays within the grace; a floor gives a reachable
        # collector the moment it needs for the last spans.
        self.telemetry.close(timeout=max(0.2, deadline - loop.time()))
        log.info("cachecar stopped")

    async def __aenter__(self) -> Sidecar:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(grace=1.0)
