"""Reads a component may serve from replicas: plain cache Gets only.

A replica answers with whatever it has replicated so far, so only a read
that may be a little behind is offered here: the Get RPC (a cache hit or a
miss, nothing follows from it). Leases, fills, GetOrLoad's first look (it
decides whether to load), scripts and anything that must see this sidecar's
own write stay on the primary.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sidecar.backends.base import Missing

__all__ = ["ReplicaReads"]


@runtime_checkable
class ReplicaReads(Protocol):
    """A GET that may be answered by a replica (falling back to the primary)."""

    async def get_from_replica(self, key: bytes) -> bytes | Missing:
        """The value as a replica has it now, or as the primary has it when no
        replica answers; may lag the primary by the replication delay."""
        ...
