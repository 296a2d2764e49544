"""Riding through Redis Cluster resharding: a moving slot is not an outage.

While a slot migrates (``CLUSTER SETSLOT … MIGRATING/IMPORTING``, what
``redis-cli --cluster reshard`` and ElastiCache's online scaling do), a
command on several keys of that slot is answered ``TRYAGAIN`` whenever only
some of its keys have moved, and a script may be told it touched a "non
local key". redis-py follows ``MOVED`` and ``ASK`` itself, but retries
``TRYAGAIN`` only 16 times within about 0.4 s and then raises
``ClusterError("TTL exhausted.")``, which read like an unreachable backend:
the breaker opened for every slot, and health went NOT_SERVING.

Here such a command is retried with a short backoff for up to
:data:`PATIENCE` seconds; past that it fails as :class:`StillMigrating`
(the backend maps it to ``SLOT_MIGRATING``, which never counts toward the
breaker), naming the slot and the node that answered.

``ASK`` itself is fixed in ``node.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from redis.crc import key_slot
from redis.exceptions import ClusterError, RedisError, ResponseError, TryAgainError

__all__ = ["PATIENCE", "StillMigrating", "node_of", "patience", "riding_migrations"]

#: How long one command keeps retrying through a migration before it fails.
PATIENCE = 1.0
_PATIENCE: ContextVar[float] = ContextVar("cachecar_migration_patience", default=PATIENCE)
_FIRST_DELAY = 0.01
_MAX_DELAY = 0.2


class StillMigrating(RedisError):
    """A multi-key command kept meeting a slot migration for :data:`PATIENCE` s."""

    def __init__(self, slot: int | str, node: str, condition: str, waited: float) -> None:
        super().__init__(f"slot {slot} migrating: {condition} from {node}")
        self.slot = slot
        self.node = node
        self.condition = condition
        self.waited = waited


def node_of(exc: BaseException) -> str | None:
    """``host:port`` of the cluster node a redis-py error came from, if known."""
    node = getattr(exc, "connection", None)
    host, port = getattr(node, "host", None), getattr(node, "port", None)
    return f"{host}:{port}" if host and port else None


def migration_condition(exc: BaseException) -> str | None:
    """What the error says about a migration in progress; None for other errors."""
    if isinstance(exc, TryAgainError):
        return "TRYAGAIN"
    text = str(exc)
    if isinstance(exc, ClusterError) and "TTL exhausted" in text:
        # redis-py's own retries of TRYAGAIN/ASK ran out.
        return "TRYAGAIN (redirections exhausted)"
    if isinstance(exc, ResponseError) and "non local key" in text:
        return "a script key not (yet) on this node"
    return None


def _slot(args: tuple[Any, ...]) -> int | str:
    """The slot of a command's first key, for the message (EVALSHA sha n key…)."""
    try:
        if str(args[0]).upper() in ("EVALSHA", "EVAL", "FCALL") and int(args[2]) > 0:
            return key_slot(args[3])
        return key_slot(args[1])
    except (IndexError, ValueError, TypeError):
        return "?"


@contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Retry migrations for ``seconds`` in this block (a caller with a fallback
    need not wait the full :data:`PATIENCE`)."""
    token = _PATIENCE.set(seconds)
    try:
        yield
    finally:
        _PATIENCE.reset(token)


async def riding_migrations(call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, retried while its slot is migrating."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    delay = _FIRST_DELAY
    while True:
        try:
            return await call(*args, **kwargs)
        except (ClusterError, ResponseError) as exc:
            condition = migration_condition(exc)
            if condition is None:
                raise
            waited = loop.time() - started
            if waited + delay > _PATIENCE.get():
                raise StillMigrating(_slot(args), node_of(exc) or "?", condition, waited) from exc
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_DELAY)
