"""Session expiry against real Redis, Redis Cluster and Memcached.

TTLs of about a second; the tests sleep only as long as a TTL needs to run
out, and assert on found / not found and on the reported expiry timestamps,
never on how long a call took.
"""

from __future__ import annotations

import asyncio

from cachecar.v1 import session_pb2

from tests import calls
from tests.appfixtures import SidecarFactory
from tests.calls import NS


async def test_reads_slide_the_expiry(backend_url: str, sidecar_for: SidecarFactory) -> None:
    sc = await sidecar_for(backend_url)
    stub = calls.sessions(sc)
    created = await calls.create(stub, ttl=1.0)
    await asyncio.sleep(0.6)
    read = await calls.get(stub, created.session_id)
    assert calls.ms(read.expires_at) >= calls.ms(created.expires_at) + 500
    await asyncio.sleep(0.6)  # 1.2 s after creation: alive only thanks to the read
    touched = await stub.TouchSession(
        session_pb2.TouchSessionRequest(namespace=NS, session_id=created.session_id)
    )
    assert calls.ms(touched.expires_at) >= calls.ms(read.expires_at) + 500
    assert touched.version == 1
    await asyncio.sleep(1.2)  # idle for longer than the TTL
    await calls.gone(stub, created.session_id)


async def test_without_sliding_only_touch_extends(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, session_sliding=False)
    stub = calls.sessions(sc)
    read_only = await calls.create(stub, ttl=1.0)
    touched = await calls.create(stub, ttl=1.0)
    await asyncio.sleep(0.6)
    got = await calls.get(stub, read_only.session_id)
    assert calls.ms(got.expires_at) == calls.ms(read_only.expires_at)  # a read does not extend
    touch = await stub.TouchSession(
        session_pb2.TouchSessionRequest(namespace=NS, session_id=touched.session_id)
    )
    assert calls.ms(touch.expires_at) > calls.ms(touched.expires_at)
    await asyncio.sleep(0.6)
    await calls.gone(stub, read_only.session_id)
    assert (await calls.get(stub, touched.session_id)).subject == "alice"


async def test_absolute_lifetime_caps_sliding(
    backend_url: str, sidecar_for: SidecarFactory
) -> None:
    sc = await sidecar_for(backend_url, session_max_lifetime="2s")
    stub = calls.sessions(sc)
    created = await calls.create(stub, ttl=1.0)
    absolute = calls.ms(created.absolute_expires_at)
    assert absolute == calls.ms(created.created_at) + 2000
    touch = session_pb2.TouchSessionRequest(namespace=NS, session_id=created.session_id)
    await asyncio.sleep(0.5)
    first = await stub.TouchSession(touch)
    assert calls.ms(first.expires_at) < absolute  # now + ttl, still short of the cap
    await asyncio.sleep(0.7)
    second = await stub.TouchSession(touch)
    assert calls.ms(second.expires_at) == absolute  # now + ttl would pass it: capped
    assert calls.ms(second.absolute_expires_at) == absolute  # touching never moves it
    await asyncio.sleep((absolute - calls.ms(created.created_at)) / 1000 - 1.2 + 0.15)
    await calls.gone(stub, created.session_id)
