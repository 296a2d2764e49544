"""Plain Gets from replicas, falling back to the primary (``read_from``).

- Redis Cluster: a second cluster client whose reads go to replica nodes
  (``READONLY``; redis-py's ``load_balancing_strategy``): ``replica`` reads
  from replicas only, ``prefer_replica`` spreads reads over each shard's
  primary and replicas (round robin).
- Cluster mode disabled: the replication group's reader endpoint
  (``reader_url``), on the same hand-written RESP connections as the hit path.

A replica that fails (down, refusing, slow) costs nothing but the fallback:
the read goes to the primary, and replicas are skipped for a growing while
(0.5 s doubling to 30 s) so a dead replica does not tax every call. Replica
failures count toward no breaker: the primary's health is what callers see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from sidecar.backends.base import MISSING, Missing
from sidecar.backends.redis.link import RedisLink, replica_client
from sidecar.backends.redis.resp import RespError, RespPool
from sidecar.backends.tls import client_context
from sidecar.config import BackendSettings

__all__ = ["RedisReplicaReads"]

log = logging.getLogger("cachecar.backends.redis.replicas")

_FIRST_PAUSE, _LONGEST_PAUSE = 0.5, 30.0


class RedisReplicaReads:
    """The ReplicaReads capability of a Redis backend with ``read_from`` set."""

    def __init__(
        self,
        link: RedisLink,
        settings: BackendSettings,
        primary_get: Callable[[bytes], Awaitable[bytes | Missing]],
    ) -> None:
        self._primary_get = primary_get
        self._name = link.name
        self._cluster: Any = None
        self._pool: RespPool | None = None
        if link.cluster:
            url = settings.url.replace("+cluster", "", 1)
            self._cluster = replica_client(url, settings, link.credentials)
        else:
            assert settings.reader_url is not None
            age = settings.connection_age_limit
            self._pool = RespPool(
                settings.reader_url,
                username=settings.username,
                login=link.credentials,
                max_age=age.total_seconds() if age else None,
                timeout=settings.timeout.total_seconds(),
                connect_timeout=settings.connect_timeout.total_seconds(),
                ssl_context=client_context(settings),
            )
        self._seen_nodes: set[Any] = set()
        self._skip_until = 0.0
        self._pause = _FIRST_PAUSE
        #: Reads answered by a replica / sent to the primary instead (tests, stats).
        self.replica_reads = 0
        self.fallbacks = 0

    async def get_from_replica(self, key: bytes) -> bytes | Missing:
        if time.monotonic() >= self._skip_until:
            try:
                if self._pool is not None:
                    value = await self._pool.execute(b"GET", key)
                else:
                    value = await self._cluster.get(key)
            except (RedisError, RedisClusterException, RespError, OSError) as exc:
                self._remember_nodes()
                self._skip_until = time.monotonic() + self._pause
                self._pause = min(self._pause * 2, _LONGEST_PAUSE)
                log.debug(
                    "replica read failed; reading from the primary",
                    extra={"backend": self._name, "error": str(exc)},
                )
            else:
                self._pause = _FIRST_PAUSE
                self.replica_reads += 1
                return MISSING if value is None else bytes(value)
        self.fallbacks += 1
        return await self._primary_get(key)

    def _remember_nodes(self) -> None:
        # A failure may drop nodes from redis-py's topology while one of their
        # connections is still checked out; the client's aclose() no longer
        # sees those, so they are closed here (else: unclosed sockets).
        if self._cluster is not None:
            self._seen_nodes.update(self._cluster.nodes_manager.nodes_cache.values())

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._cluster is not None:
            self._remember_nodes()
            try:
                await self._cluster.aclose()
            except (RedisError, RedisClusterException, OSError) as exc:
                log.debug("closing the replica client failed: %s", exc)
            for node in self._seen_nodes:
                try:
                    await node.disconnect()
                except (RedisError, OSError) as exc:
                    log.debug("closing a replica connection failed: %s", exc)
