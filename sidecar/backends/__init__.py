"""Backends: the interfaces patterns program against, and the components that
implement them.

    base.py          Backend (the key-value + lease/fence core), Capabilities
    capabilities.py  SessionStore, SubjectRevocation, LeaderboardStore, CounterStore
    queue.py         WriteQueue (write-behind's durable partitioned queue)
    pubsub.py        PubSubTransport, Subscriber (channels, durable streams)
    breaker.py       the circuit breaker every component runs its commands through
    tls.py           TLS client contexts shared by the components
    registry.py      builds the configured components (the one importer of them)
    redis/           the Redis / Redis Cluster component
    memcached/       the Memcached component

Patterns import the interfaces only; which component serves a namespace is
configuration (an import-linter contract in pyproject.toml keeps it so).
"""

from sidecar.backends.base import MISSING, Backend, BackendKind, Capabilities, Fence, Missing

__all__ = ["MISSING", "Backend", "BackendKind", "Capabilities", "Fence", "Missing"]
