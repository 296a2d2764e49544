"""Python client for the cachecar sidecar.

The generated gRPC stubs live in :mod:`cachecar.v1` (import path = proto package);
the sidecar itself imports them from here, so they exist exactly once.
"""

__all__: list[str] = []
