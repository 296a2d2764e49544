"""The Redis component: Redis and Redis Cluster (TLS, ACLs), every capability.

backend.py    RedisBackend: the core (get, lease/fill/release, overwrite,
              clear) and the declaration of every capability below
link.py       RedisLink: the redis-py client, breaker, spans, and the one
              translation of driver errors into the error tree
sessions.py   SessionStore, SubjectRevocation (Lua scripts)
boards.py     LeaderboardStore, CounterStore (sorted sets, Lua scripts)
queue.py      WriteQueue (Streams, consumer groups)
pubsub.py     PubSubTransport (PUBLISH/SUBSCRIBE, durable channels on Streams)
cluster.py    the cluster client: bounded connection waits
migration.py  commands that ride out a slot migration (ASK, TRYAGAIN)
node.py       a circuit breaker per cluster node
resp.py       the hand-written hit-path read (GET/MGET), standalone only
"""

from sidecar.backends.redis.backend import RedisBackend

__all__ = ["RedisBackend"]
