"""A write-behind append acknowledged only once replicas have it: script + WAIT.

``WAIT n timeout`` counts the replicas that acknowledged every write made *on
the connection that sends it*, so the enqueue script and WAIT must share one
connection (WAIT is refused inside a script). Standalone Redis: a pipeline
(transaction=False) of EVALSHA + WAIT, which redis-py sends on one pooled
connection. Redis Cluster: redis-py's cluster pipeline routes a keyless WAIT
to a random node, so the two commands go as one pipeline to the ClusterNode
that owns the queue's slot (``get_node_from_key``; every key of the script
shares the partition's hash tag), which runs it on one of its connections.

On a cluster a MOVED/ASK/TRYAGAIN/CLUSTERDOWN reply means the script did not
run: the slot map is refreshed and the pipeline sent again (bounded). A
connection error is not retried: the script may have run, and a second append
would queue the write twice (the caller hears UNAVAILABLE and decides).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import PipelineCommand
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sidecar.backends.redis.link import RedisLink

__all__ = ["ReplicatedAppend"]

#: Sends of the cluster pipeline per call: a redirect means "not run", so a few
#: are safe; more would hide a cluster that cannot settle.
_ATTEMPTS = 4
_REDIRECTS = (MovedError, AskError, TryAgainError, ClusterDownError)


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
        if not self._cluster:
            pipe = self._client.pipeline(transaction=False)
            # Queued, not sent: the pipeline loads the script first if need be.
            await self._script(keys=list(keys), args=list(args), client=pipe)
            pipe.execute_command("WAIT", replicas, wait_ms)
            reply, acked = await pipe.execute()
            return reply, int(acked)
        return await self._on_owner(keys, args, replicas, wait_ms)

    async def _on_owner(
        self, keys: Sequence[bytes], args: Sequence[Any], replicas: int, wait_ms: int
    ) -> tuple[Any, int]:
        client = self._client
        await client.initialize()  # no-op once the slot map is known
        for attempt in range(_ATTEMPTS):
            node = client.get_node_from_key(keys[0])
            evalsha = PipelineCommand(0, "EVALSHA", self._script.sha, len(keys), *keys, *args)
            wait = PipelineCommand(1, "WAIT", replicas, wait_ms)
            try:
                await node.execute_pipeline([evalsha, wait])
            except (RedisConnectionError, RedisTimeoutError, OSError):
                # The owner is gone (a failover, most likely): the next call must
                # not go to it again, so refresh the slot map before reporting.
                with contextlib.suppress(RedisError, RedisClusterException, OSError):
                    await client.nodes_manager.initialize()
                raise
            reply = evalsha.result
            if isinstance(reply, NoScriptError):
                # A node that never ran it (new, or restarted): load, then again.
                await node.execute_command("SCRIPT", "LOAD", self._script.script)
                continue
            if isinstance(reply, _REDIRECTS) and attempt < _ATTEMPTS - 1:
                # The slot moved (failover, resharding): refresh the map and resend.
                await client.nodes_manager.initialize()
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if isinstance(reply, Exception):
                raise reply
            if isinstance(wait.result, Exception):
                raise wait.result
            return reply, int(wait.result)
        raise ClusterDownError(f"the queue's slot did not settle after {_ATTEMPTS} attempts")
