"""Which Redis client stack does what cachecar needs? Tried, not read off a feature list.

``python -m bench.redis_capabilities`` starts a private standalone
redis-server and a 3-master Redis Cluster and, for redis-py asyncio and
valkey-glide's asyncio client (when installed), tries each capability the
sidecar needs beyond GET: a Lua script by EVALSHA with keys, a stream
consumer group (XREADGROUP, XAUTOCLAIM), sharded pub/sub on the cluster,
WAIT after a write on the same connection (and whether a WAIT holds up the
client's other commands), and client-side-caching invalidations
(``CLIENT TRACKING``) delivered to the application. Each probe is bounded
(3 s) and prints ``ok``, ``FAILED`` or ``no`` with what it saw. resp.py's
``RespPool`` is not probed: it speaks RESP2 to one standalone server and
returns one reply per command, so none of these apply to it.

What cannot be tried here (IAM auth against ElastiCache, AZ-affinity reads)
is documented, with sources, in docs/performance.md. Exit code 0 whatever
the outcome, 2 when the servers could not start.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncCluster

from bench.redis_client_server import GLIDE_INSTALL, glide_installed
from sidecar.devmode import MissingBinary, RedisServer, ServerStartError
from tests.servers import RedisCluster

__all__ = ["main"]

_LUA = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
_PROBE_S = 3.0
Probe = Callable[[], Awaitable[str]]


async def _redispy_probes(url: str, cluster_url: str) -> dict[str, Probe]:
    # Any: redis-py's annotations describe RESP2 and RESP3 replies as one union that
    # matches neither (xreadgroup is typed as a dict, answers a list under RESP2).
    plain: Any = aioredis.Redis.from_url(url)
    cluster: Any = AsyncCluster.from_url(cluster_url)

    async def script() -> str:
        run = cluster.register_script(_LUA)  # EVALSHA, EVAL on NOSCRIPT
        return f"ok: cluster EVALSHA returned {await run(keys=['cap:lua'], args=['v'])!r}"

    async def streams() -> str:
        await plain.xadd("cap:s", {"f": "v"})
        await plain.xgroup_create("cap:s", "g", id="0")
        got = await plain.xreadgroup("g", "c1", {"cap:s": ">"}, count=1)
        claimed = await plain.xautoclaim("cap:s", "g", "c2", min_idle_time=0)
        return f"ok: XREADGROUP {len(got[0][1])} entry, XAUTOCLAIM {len(claimed[1])} entry"

    async def sharded() -> str:
        pubsub = cluster.pubsub()
        await pubsub.ssubscribe("cap:shard")
        await cluster.spublish("cap:shard", "hello")
        message = None
        async with asyncio.timeout(2):
            while message is None or message["type"] != "smessage":
                message = await pubsub.get_sharded_message(timeout=0.5)
        await pubsub.aclose()
        return f"ok: SSUBSCRIBE received {message['data']!r}"

    async def wait() -> str:
        # A pipeline holds one pooled connection for both commands.
        async with plain.pipeline(transaction=False) as pipe:
            pipe.set("cap:w", "v").wait(0, 100)
            replies = await pipe.execute()
        stalled = await _stall(lambda: plain.wait(1, 300), lambda: plain.get("cap:w"))
        return f"ok: SET+WAIT on one connection -> {replies[1]} replicas; {stalled}"

    async def tracking() -> str:
        # RESP2 way: a pub/sub connection on __redis__:invalidate, reads REDIRECTed to
        # it. RESP2 because redis-py 8 speaks RESP3 by default, and a RESP3 redirect
        # target gets `invalidate` pushes, which redis.asyncio drops (no public hook).
        resp2: Any = aioredis.Redis.from_url(url, protocol=2)
        pubsub = resp2.pubsub()
        await pubsub.connect()
        await pubsub.connection.send_command("CLIENT", "ID")
        target = await pubsub.connection.read_response()
        await pubsub.subscribe("__redis__:invalidate")
        reader: Any = aioredis.Redis.from_url(url, single_connection_client=True)
        await reader.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", target)
        await reader.get("cap:t")
        await plain.set("cap:t", "changed")
        message = None
        async with asyncio.timeout(2):
            while message is None or message["type"] != "message":
                message = await pubsub.get_message(timeout=0.5)
        await reader.aclose()
        await pubsub.aclose()
        await resp2.aclose()
        return (
            f"ok, hand-wired (RESP2 REDIRECT to a pub/sub connection): got {message['data']!r}; "
            "redis.asyncio has no client-side cache and no public hook for RESP3 pushes"
        )

    async def close() -> str:
        await plain.aclose()
        await cluster.aclose()
        return "closed"

    return {
        "EVALSHA with keys (cluster)": script,
        "XREADGROUP + XAUTOCLAIM": streams,
        "sharded pub/sub (SSUBSCRIBE)": sharded,
        "WAIT on the same connection": wait,
        "CLIENT TRACKING invalidations": tracking,
        "_close": close,
    }


async def _glide_probes(url: str, cluster_url: str) -> dict[str, Probe]:
    from glide import (  # noqa: PLC0415  # optional, bench-only
        ClientSideCache,
        GlideClient,
        GlideClientConfiguration,
        GlideClusterClient,
        GlideClusterClientConfiguration,
        NodeAddress,
        Script,
        StreamGroupOptions,
    )

    def address(u: str) -> list[Any]:
        host, _, port = u.split("://", 1)[1].split("/", 1)[0].rpartition(":")
        return [NodeAddress(host, int(port))]

    # 1 s request timeout: the stall probe's WAIT blocks for 300 ms (default 250 ms).
    plain: Any = await GlideClient.create(
        GlideClientConfiguration(address(url), request_timeout=1000)
    )
    cluster: Any = await GlideClusterClient.create(
        GlideClusterClientConfiguration(address(cluster_url))
    )

    async def script() -> str:
        got = await cluster.invoke_script(Script(_LUA), keys=["cap:lua"], args=["v"])
        return f"ok: cluster invoke_script (EVALSHA) returned {got!r}"

    async def streams() -> str:
        await plain.xadd("cap:gs", [("f", "v")])
        await plain.xgroup_create("cap:gs", "g", "0", StreamGroupOptions())
        got = await plain.xreadgroup({"cap:gs": ">"}, "g", "c1")
        claimed = await plain.xautoclaim("cap:gs", "g", "c2", 0, "0-0")
        entries = sum(len(v) for v in (got or {}).values())
        return f"ok: XREADGROUP {entries} entry, XAUTOCLAIM {len(claimed[1])} entry"

    async def sharded() -> str:
        listener: Any = await GlideClusterClient.create(
            GlideClusterClientConfiguration(address(cluster_url))
        )
        await listener.ssubscribe({"cap:gshard"}, timeout_ms=2000)
        await cluster.publish("hello", "cap:gshard", sharded=True)
        async with asyncio.timeout(2):
            message = await listener.get_pubsub_message()
        await listener.close()
        return f"ok: ssubscribe received {message.message!r}"

    async def wait() -> str:
        await plain.set("cap:gw", "v")
        replicas = await plain.wait(0, 100)
        stalled = await _stall(lambda: plain.wait(1, 300), lambda: plain.get("cap:gw"))
        return f"ok: SET then WAIT -> {replicas} replicas; {stalled}"

    async def tracking() -> str:
        # glide's own near cache, kept coherent by the server (BCAST tracking, RESP3).
        cache = ClientSideCache.create(max_cache_kb=64, entry_ttl_ms=0, server_assisted=True)
        cached: Any = await GlideClient.create(
            GlideClientConfiguration(address(url), client_side_cache=cache)
        )
        await plain.set("cap:gt", "old")
        first = await cached.get("cap:gt")
        await plain.set("cap:gt", "new")
        seen = first
        deadline = time.monotonic() + 2
        while seen == first and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            seen = await cached.get("cap:gt")
        await cached.close()
        verdict = "ok" if seen == b"new" else "FAILED"
        return (
            f"{verdict}: ClientSideCache(server_assisted) read {first!r} then {seen!r} after "
            "another client's SET; the invalidations stay inside glide (no app callback)"
        )

    async def close() -> str:
        await plain.close()
        await cluster.close()
        return "closed"

    return {
        "EVALSHA with keys (cluster)": script,
        "XREADGROUP + XAUTOCLAIM": streams,
        "sharded pub/sub (SSUBSCRIBE)": sharded,
        "WAIT on the same connection": wait,
        "CLIENT TRACKING invalidations": tracking,
        "_close": close,
    }


async def _stall(blocker: Callable[[], Awaitable[Any]], probe: Callable[[], Awaitable[Any]]) -> str:
    """How long a GET takes while a 300 ms WAIT (no replica to answer it) is pending."""
    pending = asyncio.ensure_future(blocker())
    await asyncio.sleep(0.02)
    began = time.perf_counter()
    await probe()
    took_ms = (time.perf_counter() - began) * 1000
    await pending
    held = "HELD UP behind it" if took_ms > 200 else "not held up"
    return f"a GET during a pending WAIT took {took_ms:.0f} ms ({held})"


async def _run(url: str, cluster_url: str) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    stacks: list[tuple[str, Callable[[str, str], Awaitable[dict[str, Probe]]]]] = [
        ("redis-py asyncio", _redispy_probes)
    ]
    if glide_installed():
        stacks.append(("valkey-glide asyncio", _glide_probes))
    else:
        found.append(("valkey-glide asyncio", "all", f"not installed: {GLIDE_INSTALL}"))
    for stack, build in stacks:
        probes = await build(url, cluster_url)
        for name, probe in probes.items():
            try:
                async with asyncio.timeout(_PROBE_S):
                    outcome = await probe()
            except Exception as exc:  # noqa: BLE001  # any failure is the probe's answer
                outcome = f"FAILED: {type(exc).__name__}: {exc}"
            if not name.startswith("_"):
                found.append((stack, name, outcome))
    return found


def main() -> int:
    try:
        with RedisServer() as standalone, RedisCluster(masters=3) as cluster:
            cluster.wait_healthy(30.0)
            cluster_url = cluster.url.replace("+cluster", "")
            found = asyncio.run(_run(standalone.url, cluster_url))
    except (MissingBinary, ServerStartError) as exc:
        print(f"redis_capabilities: {exc}", file=sys.stderr)
        return 2
    for stack, name, outcome in found:
        print(f"{stack:22} | {name:30} | {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
