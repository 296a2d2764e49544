"""Generated gRPC stubs for the cachecar.v1 API (make gen; never edit by hand)."""
