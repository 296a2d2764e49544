"""The framework floor: a grpc.aio server whose one unary method does nothing.

It has the sidecar's process model (one asyncio process, ``grpc.aio.server``)
and answers ``/bench.Echo/Echo`` at once with a fixed reply the size of a
cache hit's (1 KiB by default), so its server CPU per RPC is what any
Python grpc.aio service pays before doing any work. No proto: a generic
handler with identity (bytes in, bytes out) serializers.

    python -m bench.echo_server [--listen 127.0.0.1:0] [--reply-bytes 1024]

prints ``echo listening on HOST:PORT`` once it serves, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import grpc

from bench.procs import serve_until_signalled

__all__ = ["METHOD", "main"]

#: The full method path the load generator calls.
METHOD = "/bench.Echo/Echo"


async def serve(listen: str, reply_bytes: int) -> None:
    reply = b"a" * reply_bytes

    async def echo(request: bytes, context: Any) -> bytes:
        return reply

    # No serializers: grpc hands the handler raw bytes and sends its bytes as is.
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(listen)
    await server.start()
    await serve_until_signalled(server, f"echo listening on {listen.rpartition(':')[0]}:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--reply-bytes", type=int, default=1024)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.reply_bytes))


if __name__ == "__main__":
    main()
