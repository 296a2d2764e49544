"""The Memcached component: the core key-value interface (CAS-fenced leases) and
sessions as whole records.

    backend.py    MemcachedBackend: the core, over pymemcache's HashClient
    sessions.py   SessionStore (gets/cas)
"""

from sidecar.backends.memcached.backend import MemcachedBackend, memcached_key

__all__ = ["MemcachedBackend", "memcached_key"]
