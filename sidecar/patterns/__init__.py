"""The caching patterns, backend-agnostic: cache-aside (with single-flight,
leases, stale-while-revalidate), write-through and write-behind, sessions,
leaderboards and counters, pub/sub. They program against the interfaces in
``sidecar.backends`` and get a capability through ``Namespace.require``."""
