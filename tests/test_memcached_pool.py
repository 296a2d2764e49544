"""A Memcached node dying under concurrent calls is a backend error, never a bug.

pymemcache's HashClient takes a failed node out of its ring from whichever
pool thread noticed; unguarded, concurrent threads raced on that bookkeeping
and raised ValueError/KeyError, which callers saw as INTERNAL (found by
``make soak``). The backend serialises it (``backends/memcached._HashClient``).
"""

from __future__ import annotations

import asyncio

from sidecar.backends.memcached import MemcachedBackend
from sidecar.config import BackendSettings
from sidecar.devmode import MemcachedServer
from sidecar.errors import BackendUnavailable


async def test_node_death_under_concurrent_calls_is_only_backend_unavailable(
    memcached_server: MemcachedServer, fresh_memcached: MemcachedServer
) -> None:
    url = f"memcached://{memcached_server.host}:{memcached_server.port},{fresh_memcached.host}:{fresh_memcached.port}"
    backend = MemcachedBackend(
        "mc", BackendSettings.model_validate({"url": url, "timeout": "200ms"})
    )
    unexpected: list[BaseException] = []
    failures = successes = 0
    stop = asyncio.Event()

    async def hammer(worker: int) -> None:
        nonlocal failures, successes
        for i in range(100_000):  # bounded; ends when the faults are over
            if stop.is_set():
                return
            try:
                await backend.get(b"k%d-%d" % (worker, i % 50))
                successes += 1
            except BackendUnavailable:
                failures += 1
            except Exception as exc:  # noqa: BLE001  (any other exception is the bug)
                unexpected.append(exc)

    workers = [asyncio.create_task(hammer(w)) for w in range(48)]
    try:
        for _ in range(3):
            await asyncio.sleep(0.3)
            fresh_memcached.kill()
            await asyncio.sleep(0.5)
            fresh_memcached.restart()
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*workers)
        await backend.aclose()
    assert not unexpected, [repr(e) for e in unexpected[:5]]
    assert successes > 0
    assert failures > 0  # the faults really reached the callers
