"""One grpc.aio server per Redis client stack: the child side of ``bench.redis_clients``.

    python -m bench.redis_client_server --stack STACK --redis URL [--cluster]

serves two raw-bytes unary methods on a generic handler (no proto, as
``bench.echo_server``): ``/bench.Redis/Get`` does one GET of a 1 KiB value
(the next of 100 stored keys, round robin, so a cluster spreads the calls
over its masters) and returns it; ``/bench.Redis/MGet`` does one MGET of 10
keys and returns the values joined. A reply of the wrong size is an error,
which the load generator counts, so a stack that answers fast but wrong
cannot look good. Stacks:

- ``floor``: no Redis call at all, a fixed 1 KiB (or 10 KiB) reply;
- ``redispy``: ``redis.asyncio`` with hiredis, set up as
  ``sidecar/backends/redis.py``'s ``_connect`` (a BlockingConnectionPool of
  64, or RedisCluster with ``reinitialize_steps=0``; MGET on a cluster is
  ``mget_nonatomic``, as the sidecar's get_many);
- ``resp``: ``sidecar.backends.redis.resp.RespPool`` (standalone only), as
  ``_fast_pool`` builds it;
- ``glide``: valkey-glide's asyncio ``GlideClient`` / ``GlideClusterClient``
  (an optional, bench-only install; imported only here).

Prints ``redisclient listening on HOST:PORT`` once it serves; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import grpc

from bench.procs import serve_until_signalled

__all__ = [
    "GET_METHOD",
    "GLIDE_INSTALL",
    "MGET_KEYS",
    "MGET_METHOD",
    "READY",
    "STACKS",
    "VALUE_BYTES",
    "glide_installed",
    "stored_keys",
]

READY = "redisclient listening on "
GET_METHOD = "/bench.Redis/Get"
MGET_METHOD = "/bench.Redis/MGet"
STACKS = ("floor", "redispy", "resp", "glide")
VALUE_BYTES = 1024
MGET_KEYS = 10
#: The optional bench-only install (also the ``bench`` extra in pyproject.toml).
GLIDE_INSTALL = "pip install 'valkey-glide>=2.1,<3'"

_TIMEOUT_S = 0.5  # the sidecar's default backend timeout and connect timeout
_POOL_SIZE = 64  # the sidecar's default pool_size

Get = Callable[[bytes], Awaitable[Any]]
MGet = Callable[[list[bytes]], Awaitable[Sequence[Any]]]
Close = Callable[[], Awaitable[None]]


def stored_keys() -> list[bytes]:
    """The keys the parent stores, 1 KiB each; no hash tags, so a cluster spreads them."""
    return [f"bench:client:{i:03d}".encode() for i in range(100)]


def glide_installed() -> bool:
    """Whether valkey-glide can be imported here (it is not a runtime dependency)."""
    try:
        import glide  # noqa: F401, PLC0415  # the optional import is the question asked
    except ImportError:
        return False
    return True


async def _redispy(url: str, cluster: bool) -> tuple[Get, MGet, Close]:
    # The options of sidecar/backends/redis.py's _connect, copied rather than
    # imported: the sidecar's backends are being restructured, and the bench
    # measures the library as configured, not the sidecar's wrappers around it.
    import redis.asyncio as aioredis  # noqa: PLC0415
    from redis.asyncio.cluster import RedisCluster  # noqa: PLC0415
    from redis.asyncio.retry import Retry  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415

    options: dict[str, Any] = {
        "socket_timeout": _TIMEOUT_S,
        "socket_connect_timeout": _TIMEOUT_S,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 0,
        "decode_responses": False,
    }
    if cluster:
        client: Any = RedisCluster.from_url(
            url, max_connections=_POOL_SIZE + 2, reinitialize_steps=0, **options
        )
        await client.initialize()
        return client.get, client.mget_nonatomic, client.aclose
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=_POOL_SIZE, timeout=_TIMEOUT_S, **options
    )
    plain = aioredis.Redis.from_pool(pool)
    return plain.get, plain.mget, plain.aclose


async def _resp(url: str, cluster: bool) -> tuple[Get, MGet, Close]:
    if cluster:
        raise SystemExit("resp.py's RespPool serves standalone Redis only")
    from sidecar.backends.redis.resp import RespPool  # noqa: PLC0415

    pool = RespPool(
        url,
        username=None,
        timeout=_TIMEOUT_S,
        connect_timeout=_TIMEOUT_S,
        ssl_context=None,
    )

    async def get(key: bytes) -> Any:
        return await pool.execute(b"GET", key)

    async def mget(keys: list[bytes]) -> Any:
        return await pool.execute(b"MGET", *keys)

    async def close() -> None:
        pool.close()

    return get, mget, close


async def _glide(url: str, cluster: bool) -> tuple[Get, MGet, Close]:
    # Optional and untyped where it is not installed (pyproject's mypy override).
    from glide import (  # noqa: PLC0415
        GlideClient,
        GlideClientConfiguration,
        GlideClusterClient,
        GlideClusterClientConfiguration,
        NodeAddress,
    )

    parts = urlsplit(url)
    address = [NodeAddress(parts.hostname or "127.0.0.1", parts.port or 6379)]
    timeout_ms = int(_TIMEOUT_S * 1000)
    # Defaults otherwise: RESP3, one multiplexed connection per node, reads from the primary.
    client: Any
    if cluster:
        client = await GlideClusterClient.create(
            GlideClusterClientConfiguration(address, request_timeout=timeout_ms)
        )
    else:
        client = await GlideClient.create(
            GlideClientConfiguration(address, request_timeout=timeout_ms)
        )
    return client.get, client.mget, client.close


async def _floor(url: str, cluster: bool) -> tuple[Get, MGet, Close]:
    one = b"a" * VALUE_BYTES

    async def get(key: bytes) -> bytes:
        return one

    async def mget(keys: list[bytes]) -> list[bytes]:
        return [one] * len(keys)

    async def close() -> None:
        return None

    return get, mget, close


_OPEN = {"floor": _floor, "redispy": _redispy, "resp": _resp, "glide": _glide}


async def serve(stack: str, url: str, cluster: bool, listen: str) -> None:
    get, mget, close = await _OPEN[stack](url, cluster)
    keys = stored_keys()
    turn = itertools.cycle(range(len(keys)))

    async def get_one(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        value = await get(keys[next(turn)])
        if not isinstance(value, bytes) or len(value) != VALUE_BYTES:
            raise RuntimeError(f"GET answered {type(value).__name__}, not {VALUE_BYTES} bytes")
        return value

    async def get_many(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        start = next(turn) % (len(keys) - MGET_KEYS)
        values = await mget(keys[start : start + MGET_KEYS])
        if len(values) != MGET_KEYS or not all(
            isinstance(v, bytes) and len(v) == VALUE_BYTES for v in values
        ):
            raise RuntimeError(f"MGET did not answer {MGET_KEYS} values of {VALUE_BYTES} bytes")
        return b"".join(values)

    # No serializers: grpc hands the handlers raw bytes and sends theirs as is.
    handler = grpc.method_handlers_generic_handler(
        "bench.Redis",
        {
            "Get": grpc.unary_unary_rpc_method_handler(get_one),
            "MGet": grpc.unary_unary_rpc_method_handler(get_many),
        },
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(listen)
    await server.start()
    try:
        await serve_until_signalled(server, f"{READY}{listen.rpartition(':')[0]}:{port}")
    finally:
        await close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", choices=STACKS, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--listen", default="127.0.0.1:0")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.stack, args.redis, args.cluster, args.listen))


if __name__ == "__main__":
    main()
