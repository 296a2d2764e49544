"""Pipelined ``add`` / ``cas`` on Memcached: one round trip per server.

pymemcache pipelines ``set_many`` but has no batch ``cas`` (its ``cas``
takes one key) nor batch ``add``: a versioned SetMany would cost a round
trip per key. Memcached's text protocol answers pipelined commands in
order, so this sends every store of one server in one write and reads the
replies back in order, on a connection taken from that server's pool
(through HashClient's own error handling, so a failing server leaves the
ring as it does for any other command).

It uses pymemcache internals, pinned by ``constraints.txt`` (pymemcache
4.0): ``HashClient._get_client`` / ``_safely_run_func``, a PooledClient's
``client_pool``, the base client's socket (``sock``, ``_connect``) and
``_raise_errors``, and ``pymemcache.client.base._readline``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymemcache.client.base import _readline
from pymemcache.exceptions import MemcacheUnknownError

__all__ = ["Store", "store_many"]

#: The replies that mean "stored" and "not stored" (the key changed or exists,
#: or is gone for a cas): the caller re-reads and decides again.
_STORED = b"STORED"
_NOT_STORED = (b"NOT_STORED", b"EXISTS", b"NOT_FOUND")


@dataclass(frozen=True, slots=True)
class Store:
    """One ``add`` (``cas`` None: only if the key is absent) or ``cas``."""

    key: bytes
    value: bytes
    expire: int
    cas: bytes | None = None


def store_many(client: Any, stores: Sequence[Store]) -> list[bool]:
    """Whether each store stored: one pipelined round trip per server, in order
    (two stores of one key apply in the order given)."""
    by_server: dict[Any, list[int]] = defaultdict(list)
    pooled: dict[Any, Any] = {}
    for i, store in enumerate(stores):
        server_client = client._get_client(store.key)
        by_server[server_client.server].append(i)
        pooled[server_client.server] = server_client
    results = [False] * len(stores)
    for server, indexes in by_server.items():
        batch = [stores[i] for i in indexes]
        done = client._safely_run_func(pooled[server], _send, None, pooled[server], batch)
        for i, stored in zip(indexes, done, strict=True):
            results[i] = stored
    return results


def _send(pooled: Any, batch: list[Store]) -> list[bool]:
    with pooled.client_pool.get_and_release(destroy_on_fail=True) as base:
        commands = []
        for store in batch:
            key = base.check_key(store.key, base.key_prefix)
            # As pymemcache's own stores: the serde picks the flags (bytes: 0).
            data, flags = base.serde.serialize(key, store.value)
            head = b"%s %s %d %d %d" % (
                b"add" if store.cas is None else b"cas",
                key,
                flags,
                store.expire,
                len(data),
            )
            if store.cas is not None:
                head += b" " + store.cas
            commands.append(head + b"\r\n" + data + b"\r\n")
        if base.sock is None:
            base._connect()
        try:
            base.sock.sendall(b"".join(commands))
            return _replies(base, batch)
        except Exception:
            # A half-read pipeline leaves replies on the socket: never reuse it.
            base.close()
            raise


def _replies(base: Any, batch: list[Store]) -> list[bool]:
    """One reply line per store, in the order sent."""
    replies: list[bool] = []
    buf = b""
    for store in batch:
        buf, line = _readline(base.sock, buf)
        base._raise_errors(line, b"cas" if store.cas else b"add")
        if line == _STORED:
            replies.append(True)
        elif line in _NOT_STORED:
            replies.append(False)
        else:
            raise MemcacheUnknownError(line[:32])
    return replies
