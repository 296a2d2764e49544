"""The invalidation feed of Redis and Redis Cluster: RESP3 client-side caching.

One dedicated connection per Redis node speaks RESP3 (``HELLO 3``) and turns
on ``CLIENT TRACKING ON BCAST PREFIX <p> ...`` for the subscribed prefixes;
Redis then pushes ``invalidate [key ...]`` for every key under them that any
client modifies on that node (writes, deletes, expiries, evictions), and
``invalidate nil`` on FLUSHALL / FLUSHDB.

Why BCAST and not the default mode: default tracking remembers, per key, which
client read it (the tracking table: ~100 bytes per key per tracked reader, up
to ``tracking-table-max-keys``), and a hot key read by 300 sidecars is 300
table entries per key; BCAST keeps no per-key state, only one prefix list per
connection, and sends one message per write per subscribed sidecar. A cache is
read far more than it is written, so the fan-out (writes x sidecars) is the
cheaper side: 300 sidecars x 1,000 writes/s is 300,000 small pushes/s spread
over the cluster's nodes, with zero server memory per cached key; the default
mode would hold 300 x (hot keys) table entries and still send one push per
reading sidecar per write. The prefixes are the namespaces' value-key
prefixes (``<prefix>v{<ns>:``), so lease, queue and session writes push
nothing.

Redis Cluster: every node is tracked, replicas included. A replica does not
push invalidations for writes it replays from its master (measured on Redis
7.0), so tracking it costs nothing while it is a replica; once it is promoted
its link is already subscribed, and a failover leaves no window in which the
new master's writes go unheard. Each node's link vouches for the slots of its
shard; a shard is *covered* while the links to all its nodes are up.

The hazards the Redis documentation names, and what this module does:

- a link that drops (``CLIENT KILL``, a restart, a network error): the
  shard's slots (everything, standalone) are flushed in the connection-lost
  callback itself, before any later read is served, and stay uncovered until
  the link is subscribed again;
- a link that goes silent: a PING every ``ping_interval`` (the backend's
  ``invalidation.ping_interval``); no answer within ``ping_interval`` closes
  the link (and so flushes);
- a topology change (failover, slot move), seen by ``CLUSTER SLOTS`` every
  ``topology_interval``: slots whose master changed are flushed;
- an invalidation that arrives before the reply it invalidates is the near
  cache's concern (its per-key generation, ``patterns/near_cache.py``).

A link logs in through the backend's :class:`Credentials` when it has them,
so a rotated password or a fresh IAM token serves its redials as it serves
every other connection (credentials.py); with IAM it also re-AUTHs between
PINGs every ``token_refresh``, as pooled connections do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any

import hiredis
from redis.crc import key_slot

from sidecar.backends.invalidation import InvalidationSink
from sidecar.backends.redis.credentials import Attempt, Credentials

__all__ = ["RedisTracking"]

log = logging.getLogger("cachecar.tracking")

_ALL_SLOTS = frozenset(range(16384))


class Refused(ConnectionError):
    """An error reply; the connection stays usable (a refused AUTH may be retried)."""


class _Conn(asyncio.Protocol):
    """A RESP3 connection: replies to commands in order, pushes to a callback."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_push: Callable[[list[Any]], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self._loop = loop
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self._on_push = on_push
        self._on_lost = on_lost
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if isinstance(reply, hiredis.PushNotification):
                self._on_push(list(reply))
            elif self._waiters:
                waiter = self._waiters.popleft()
                if waiter.done():
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    waiter.set_exception(Refused(f"Redis refused: {reply}"))
                else:
                    waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(f"connection lost: {exc}" if exc else "connection closed by Redis")

    def close(self, cause: str) -> None:
        if self.closed:
            return
        self.closed = True
        # First: the sinks are flushed before anything else runs on the loop.
        self._on_lost(cause)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError(cause))
        if self._transport is not None:
            self._transport.abort()  # nothing of a dead link is worth a goodbye

    async def call(self, *args: Any, within: float) -> Any:
        if self.closed:
            raise ConnectionError("link closed")
        waiter: asyncio.Future[Any] = self._loop.create_future()
        self._waiters.append(waiter)
        assert self._transport is not None
        self._transport.write(hiredis.pack_command(args))
        try:
            async with asyncio.timeout(within):
                return await waiter
        except TimeoutError:
            # Replies come in order: after a lost one this link cannot be trusted.
            self.close("no answer in time")
            raise


class _Dialer:
    """How to open an authenticated connection to one node."""

    def __init__(
        self,
        username: str | None,
        login: Credentials | None,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
    ) -> None:
        self.username = username
        self.login = login
        self.ssl = ssl_context
        self.timeout = timeout

    def auth(self, conn: _Conn) -> Attempt:
        """An AUTH attempt on a live link (a re-AUTH with a fresh IAM token)."""

        async def attempt(username: str | None, password: str | None) -> None:
            if password is not None:
                await conn.call("AUTH", username or "default", password, within=self.timeout)

        return attempt

    async def dial(
        self, address: str, on_push: Callable[[list[Any]], None], on_lost: Callable[[str], None]
    ) -> _Conn:
        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            _, conn = await loop.create_connection(
                lambda: _Conn(loop, on_push, on_lost), host, int(port), ssl=self.ssl
            )

        async def hello(username: str | None, password: str | None) -> None:
            command: list[Any] = ["HELLO", "3"]
            if password is not None:
                command += ["AUTH", username or "default", password]
            await conn.call(*command, within=self.timeout)

        try:
            if self.login is None:
                await hello(self.username, None)
            else:
                # Every candidate (rotation) or a fresh token (IAM), as any
                # other connection of this backend logs in.
                await self.login.login(hello, Refused)
            await conn.call("CLIENT", "SETNAME", "cachecar-tracking", within=self.timeout)
        except BaseException:
            conn.close("handshake failed")
            raise
        return conn


class _Link:
    """The tracking connection to one node, redialled until the feed closes."""

    def __init__(self, feed: RedisTracking, address: str) -> None:
        self.feed = feed
        self.address = address
        self.up = False
        self.conn: _Conn | None = None
        self.client_id = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"tracking {self.address}")

    def _lost(self, cause: str) -> None:
        if self.up:
            self.up = False
            self.feed.link_changed(self, cause)

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._session()
                backoff = 0.05
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.debug("tracking link down", extra={"node": self.address, "error": str(exc)})
            except Exception as exc:  # noqa: BLE001  (the link's task must never end)
                # A garbled stream, an unexpected reply, or a login that could
                # not be signed (no AWS credentials, a botocore error): the link
                # stays down (near cache bypassed for its slots) and retries.
                log.warning(
                    "tracking link failed", extra={"node": self.address, "error": repr(exc)}
                )
            finally:
                if self.conn is not None:
                    self.conn.close("link stopped")
            await asyncio.sleep(backoff)
            backoff = min(2.0, backoff * 2)

    async def _session(self) -> None:
        feed = self.feed
        self.conn = conn = await feed.dialer.dial(
            self.address, lambda push: feed.pushed(self, push), self._lost
        )
        timeout = feed.ping_interval
        self.client_id = int(await conn.call("CLIENT", "ID", within=timeout))
        prefixes = [part for prefix in feed.prefixes for part in (b"PREFIX", prefix)]
        await conn.call("CLIENT", "TRACKING", "ON", "BCAST", *prefixes, within=timeout)
        # Subscribed: every write from here on is pushed to us.
        self.up = True
        feed.link_changed(self, "subscribed")
        loop = asyncio.get_running_loop()
        login = feed.dialer.login
        renew = login.renew_every if login is not None else None
        authed = loop.time()
        while not conn.closed:
            await asyncio.sleep(feed.ping_interval)
            if login is not None and renew is not None and loop.time() - authed >= renew:
                # IAM: keep the live link's login fresh, as every connection does;
                # a refusal (Refused, a ConnectionError) ends the session: flush, redial.
                authed = loop.time()
                await login.login(feed.dialer.auth(conn), Refused)
            await conn.call("PING", within=feed.ping_interval)

    async def aclose(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.conn is not None:
            self.conn.close("closed")


class RedisTracking:
    """:class:`~sidecar.backends.invalidation.InvalidationFeed` over RESP3 tracking."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        cluster: bool,
        username: str | None,
        login: Credentials | None,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        ping_interval: float = 0.5,
        topology_interval: float = 1.0,
    ) -> None:
        self.name = name
        self.seed = address
        self.cluster = cluster
        self.dialer = _Dialer(username, login, ssl_context, connect_timeout)
        #: Seconds between pings of a link; one unanswered for as long closes it.
        #: A silent link is noticed within two of these: the staleness bound of a
        #: write acknowledged just before its server froze.
        self.ping_interval = ping_interval
        #: Seconds between CLUSTER SLOTS polls (Redis Cluster only).
        self.topology_interval = topology_interval
        self._sinks: list[tuple[bytes, InvalidationSink]] = []
        self._links: dict[str, _Link] = {}
        #: Cluster: per master address, the shard's nodes and slots.
        self._shards: dict[str, tuple[tuple[str, ...], frozenset[int]]] = {}
        self._owner: list[str | None] = [None] * 16384
        self._covered: frozenset[int] = frozenset()
        self._topology: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self.flushes = 0

    @property
    def prefixes(self) -> list[bytes]:
        return sorted({prefix for prefix, _ in self._sinks})

    # -- InvalidationFeed --------------------------------------------------------

    def subscribe(self, prefix: bytes, sink: InvalidationSink) -> None:
        self._sinks.append((prefix, sink))

    def slot(self, key: bytes) -> int:
        return int(key_slot(key)) if self.cluster else 0

    def healthy(self) -> bool:
        if not self.cluster:
            return any(link.up for link in self._links.values())
        assigned = {s for _, slots in self._shards.values() for s in slots}
        return bool(assigned) and self._covered >= assigned

    def describe(self) -> str:
        up = sum(link.up for link in self._links.values())
        text = f"{up}/{len(self._links)} tracking links subscribed"
        if self.cluster:
            text += f", {len(self._covered)}/16384 slots covered"
        return text

    async def start(self) -> None:
        if not self._sinks or self._links or self._topology is not None:
            return
        if self.cluster:
            self._topology = asyncio.create_task(self._watch_topology(), name="tracking topology")
        else:
            self._add_link(self.seed)

    async def aclose(self) -> None:
        if self._topology is not None:
            self._topology.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._topology
        for link in list(self._links.values()):
            await link.aclose()
        self._links.clear()

    # -- events ------------------------------------------------------------------

    def pushed(self, link: _Link, push: list[Any]) -> None:
        if not push or push[0] != b"invalidate":
            return
        keys = push[1] if len(push) > 1 else None
        if keys is None:  # FLUSHALL / FLUSHDB on that node
            slots = self._link_slots(link)
            self._flush(slots, "server_flush")
            if slots is None:
                self._resume(None)
            else:
                self._resume(slots & self._covered)
            return
        for prefix, sink in self._sinks:
            mine = [k for k in keys if k.startswith(prefix)]
            if mine:
                sink.invalidate(mine)

    def link_changed(self, link: _Link, cause: str) -> None:
        if not self.cluster:
            if link.up:
                self._resume(None)
            else:
                self._flush(None, _cause(cause))
            return
        self._reconcile(_cause(cause))

    # -- cluster topology --------------------------------------------------------

    def _link_slots(self, link: _Link) -> frozenset[int] | None:
        if not self.cluster:
            return None
        return frozenset(
            s for nodes, slots in self._shards.values() if link.address in nodes for s in slots
        )

    def _reconcile(self, cause: str) -> None:
        covered: set[int] = set()
        for nodes, slots in self._shards.values():
            if all(n in self._links and self._links[n].up for n in nodes):
                covered |= slots
        now = frozenset(covered)
        lost, gained = self._covered - now, now - self._covered
        self._covered = now
        if lost:
            self._flush(lost, cause)
        if gained:
            self._resume(gained)

    async def _slots_reply(self) -> list[Any]:
        candidates = [a for a, link in self._links.items() if link.up] or [self.seed]
        candidates += [a for a in self._links if a not in candidates]
        error: Exception | None = None
        for address in candidates:
            try:
                conn = await self.dialer.dial(address, lambda _: None, lambda _: None)
            except (OSError, ConnectionError, TimeoutError) as exc:
                error = exc
                continue
            try:
                reply: list[Any] = await conn.call("CLUSTER", "SLOTS", within=self.ping_interval)
            except (OSError, ConnectionError, TimeoutError) as exc:
                error = exc
                continue
            finally:
                conn.close("done")
            return reply
        raise ConnectionError(f"no node answered CLUSTER SLOTS: {error}")

    async def _watch_topology(self) -> None:
        while True:
            try:
                self._apply_topology(await self._slots_reply())
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.debug("cluster topology poll failed", extra={"error": str(exc)})
            await asyncio.sleep(self.topology_interval)

    def _apply_topology(self, reply: list[Any]) -> None:
        shards: dict[str, tuple[set[str], set[int]]] = {}
        owner: list[str | None] = [None] * 16384
        for start, end, master, *replicas in reply:
            address = _address(master)
            nodes, slots = shards.setdefault(address, (set(), set()))
            nodes.add(address)
            nodes.update(_address(r) for r in replicas)
            slots.update(range(int(start), int(end) + 1))
            for s in range(int(start), int(end) + 1):
                owner[s] = address
        moved = frozenset(s for s in range(16384) if owner[s] != self._owner[s])
        self._owner = owner
        self._shards = {m: (tuple(sorted(n)), frozenset(s)) for m, (n, s) in shards.items()}
        wanted = {n for nodes, _ in self._shards.values() for n in nodes}
        for address in wanted - self._links.keys():
            self._add_link(address)
        for address in self._links.keys() - wanted:
            closing = asyncio.ensure_future(self._links.pop(address).aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if moved and moved & self._covered:
            self._flush(moved & self._covered, "topology")
            self._covered -= moved
        self._reconcile("link_lost")

    def _add_link(self, address: str) -> None:
        link = self._links[address] = _Link(self, address)
        link.start()

    # -- to the sinks --------------------------------------------------------------

    def _flush(self, slots: Collection[int] | None, cause: str) -> None:
        self.flushes += 1
        log.info(
            "near cache flushed",
            extra={
                "backend": self.name,
                "cause": cause,
                "slots": "all" if slots is None else len(slots),
            },
        )
        for _, sink in self._sinks:
            sink.flush(slots, cause)

    def _resume(self, slots: Collection[int] | None) -> None:
        for _, sink in self._sinks:
            sink.resume(slots)


def _address(node: Sequence[Any]) -> str:
    host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
    return f"{host}:{int(node[1])}"


def _cause(text: str) -> str:
    """A flush cause for metrics: a few fixed words, not free text."""
    if text == "subscribed":
        return "subscribed"
    if text == "no answer in time":
        return "ping_timeout"
    return "link_lost"
