"""The gRPC layer: servicers for the four services, request decoding, the
mapping of the error tree onto status codes + ErrorInfo, and caller
authorisation (``access.py``). Patterns below it never see a gRPC context."""
