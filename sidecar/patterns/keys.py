"""The stored key layout: collision-free across namespaces, cluster-slot aware.

Every key cachecar writes is ``<prefix><kind>{<namespace>:<app key>}``:

- ``kind`` is one letter (``v`` value, ``l`` lease, ...), so the records of
  one app key never collide with each other;
- namespace names cannot contain ``:`` or braces (config validation), so
  ``{ns:`` ends unambiguously and no app key of one namespace can produce a
  stored key of another, whatever bytes it contains;
- the braces are a Redis Cluster hash tag: every record of one app key hashes
  to the same slot (the tag ends at the first ``}``, and it always starts with
  ``ns:``, so it is never empty), which lets one Lua script touch a value and
  its lease together.

Memcached's own key rules are the Memcached backend's business (it encodes).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KeyLayout"]


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Builds stored keys for one namespace."""

    prefix: bytes
    namespace: str

    def record(self, kind: bytes, key: str) -> bytes:
        """The stored key of record ``kind`` for app key ``key``."""
        return b"%s%s{%s:%s}" % (self.prefix, kind, self.namespace.encode(), key.encode())

    def value(self, key: str) -> bytes:
        return self.record(b"v", key)

    def lease(self, key: str) -> bytes:
        return self.record(b"l", key)
