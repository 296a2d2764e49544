"""A gRPC health check of a running sidecar (``cachecar probe``).

Used by the container image's HEALTHCHECK and by operators; needs no shell
tools, only the grpc runtime the sidecar already ships.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["probe"]


def probe(target: str, service: str = "", timeout: float = 2.0) -> tuple[bool, str]:
    """(serving?, a one-line message) for ``service`` ('' = the whole sidecar) at ``target``."""
    name = service or "(overall)"
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            return False, f"{target} {name}: {exc.code().name}: {exc.details()}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return response.status == health_pb2.HealthCheckResponse.SERVING, f"{target} {name}: {status}"
