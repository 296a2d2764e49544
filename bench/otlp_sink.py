"""A do-nothing OTLP/gRPC trace collector that counts what it receives.

The tracing scenarios export to a real collector endpoint (the sidecar's
exporter does its full work: encode, send, wait for the reply) without a
real collector's CPU landing on the measured machine's books: this runs as
its own process, whose CPU the bench does not count.

    python -m bench.otlp_sink [--listen 127.0.0.1:0]

prints ``sink listening on HOST:PORT``; on SIGTERM prints one JSON line
``{"spans": N, "exports": M}`` and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from bench.procs import serve_until_signalled

__all__ = ["main"]


class CountingSink(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts every export and counts its spans."""

    def __init__(self) -> None:
        self.spans = 0
        self.exports = 0

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.exports += 1
        self.spans += sum(
            len(scope.spans)
            for resource in request.resource_spans
            for scope in resource.scope_spans
        )
        return trace_service_pb2.ExportTraceServiceResponse()


async def serve(listen: str) -> CountingSink:
    sink = CountingSink()
    # The exporter sends batches of up to 512 spans; allow big messages.
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port(listen)
    await server.start()
    await serve_until_signalled(server, f"sink listening on {listen.rpartition(':')[0]}:{port}")
    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    args = parser.parse_args()
    sink = asyncio.run(serve(args.listen))
    print(json.dumps({"spans": sink.spans, "exports": sink.exports}), flush=True)


if __name__ == "__main__":
    main()
