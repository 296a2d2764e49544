"""cachecar: a gRPC caching sidecar."""
