"""The type of a call's context as the api layer sees it."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

__all__ = ["Context"]

#: A unary or streaming call's context. ``Any`` for the request and response
#: types: grpc's stubs make ServicerContext generic over them, and one handler
#: wrapper (rpc.py) serves every method, whatever its messages.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
