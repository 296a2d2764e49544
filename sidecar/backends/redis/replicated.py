"""A write-behind append acknowledged only once replicas have it: script + WAIT.

``WAIT n timeout`` counts the replicas that acknowledged every write made *on
the connection that sends it*, so the enqueue script and WAIT must share one
connection (WAIT is refused inside a script). Both go as one pipelined send on
a connection taken from the pool: standalone, the client's pool; Redis
Cluster, the pool of the ClusterNode that owns the queue's slot
(``get_node_from_key``; every key of the script shares the partition's hash
tag). redis-py's own cluster pipeline would route a keyless WAIT to a random
node, and its pipelines read with the backend's command timeout, which a WAIT
may legitimately outlast; here the replies are read with that timeout plus
the WAIT's own.

On a cluster a MOVED/ASK/TRYAGAIN/CLUSTERDOWN reply means the script did not
run: the slot map is refreshed and the pair sent again (bounded). A connection
error is not retried: the script may have run, and a second append would
queue the write twice (the caller hears UNAVAILABLE and decides).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sidecar.backends.redis.cluster import _closed_writer_is_a_connection_error
from sidecar.backends.redis.link import RedisLink

__all__ = ["ReplicatedAppend"]

#: Sends per call: a redirect or NOSCRIPT means "not run", so a few are safe;
#: more would hide a cluster that cannot settle.
_ATTEMPTS = 4
_REDIRECTS = (MovedError, AskError, TryAgainError, ClusterDownError)


async def _reply(connection: Any, seconds: float) -> Any:
    """One reply; an error reply is returned, not raised (the pair is read whole)."""
    try:
        return await connection.read_response(timeout=seconds)
    except ResponseError as exc:
        return exc


class ReplicatedAppend:
    """Run one registered script and ``WAIT replicas wait_ms`` on one connection."""

    def __init__(self, link: RedisLink, script: Any) -> None:
        self._client = link.client
        self._cluster = link.cluster
        self._script = script

    async def run(
        self, keys: Sequence[bytes], args: Sequence[Any], replicas: int, wait_ms: int
    ) -> tuple[Any, int]:
        """The script's reply and how many replicas acknowledged it."""
        client = self._client
        if self._cluster:
            await client.initialize()  # a no-op once the slot map is known
        for attempt in range(_ATTEMPTS):
            node = client.get_node_from_key(keys[0]) if self._cluster else None
            try:
                reply, acked = await self._send(node, keys, args, replicas, wait_ms)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                if self._cluster:
                    # The owner is gone (a failover, most likely): the next call must
                    # not go to it again, so refresh the slot map before reporting.
                    with contextlib.suppress(RedisError, RedisClusterException, OSError):
                        await client.nodes_manager.initialize()
                raise
            last = attempt == _ATTEMPTS - 1
            if isinstance(reply, NoScriptError) and not last:
                # A node that never ran it (new, restarted, promoted): load, resend.
                await self._load(node)
                continue
            if isinstance(reply, _REDIRECTS) and self._cluster and not last:
                # The slot moved (failover, resharding): refresh the map and resend.
                await client.nodes_manager.initialize()
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if isinstance(reply, Exception):
                raise reply
            if isinstance(acked, Exception):
                raise acked
            return reply, int(acked)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _load(self, node: Any) -> None:
        if node is None:
            await self._client.script_load(self._script.script)
        else:
            await node.execute_command("SCRIPT", "LOAD", self._script.script)

    async def _send(
        self, node: Any, keys: Sequence[bytes], args: Sequence[Any], replicas: int, wait_ms: int
    ) -> tuple[Any, Any]:
        evalsha = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        wait = ("WAIT", replicas, wait_ms)
        if node is None:
            pool = self._client.connection_pool
            connection = await pool.get_connection()
            try:
                return await self._pair(connection, evalsha, wait, wait_ms)
            finally:
                await pool.release(connection)
        # The cluster client's permits (cluster.py) keep every node's pool within
        # its size; without one, a full pool raises instead of waiting.
        # A failover's topology refresh may close the connection under the send.
        async with self._client.permits.held(), _closed_writer_is_a_connection_error():
            connection = node.acquire_connection()
            try:
                return await self._pair(connection, evalsha, wait, wait_ms)
            finally:
                node.release(connection)

    @staticmethod
    async def _pair(
        connection: Any, evalsha: tuple[Any, ...], wait: tuple[Any, ...], wait_ms: int
    ) -> tuple[Any, Any]:
        await connection.send_packed_command(connection.pack_commands([evalsha, wait]))
        timeout = (connection.socket_timeout or 1.0) + wait_ms / 1000
        return await _reply(connection, timeout), await _reply(connection, timeout)
