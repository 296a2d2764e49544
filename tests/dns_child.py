"""Run inside a private mount namespace by test_dns.py (its /etc/hosts is a test file).

argv: hosts file (naming A), port, name. Server A listens on 127.0.0.1:port, B on
127.0.0.2:port; the name points at A, then (rewritten in place: the bind
mount pins the inode) at B after A's connections are killed. Prints JSON:
which server each write landed on, and any failed call.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import redis

from sidecar.backends.redis import RedisBackend
from sidecar.config import settings_from_mapping


async def main(hosts: Path, port: int, name: str) -> dict[str, object]:
    settings = settings_from_mapping(
        {"backends": {"main": {"url": f"redis://{name}:{port}/0"}}, "namespaces": {}}
    )
    backend = RedisBackend("main", settings.backends["main"])
    a = redis.Redis("127.0.0.1", port, socket_timeout=5)
    b = redis.Redis("127.0.0.2", port, socket_timeout=5)
    failures: list[str] = []
    await backend.overwrite(b"cc:before", b"cc:lease", b"1", 60_000)
    assert (await backend.get(b"cc:before")) == b"1"
    # Failover, as ElastiCache does it: the name moves, the old node drops us.
    with hosts.open("r+") as f:
        f.seek(0)
        f.write(f"127.0.0.2 {name}\n")
        f.truncate()
    a.client_kill_filter(_type="normal", skipme=True)
    for i in range(20):
        try:
            await backend.overwrite(b"cc:after%d" % i, b"cc:lease", b"2", 60_000)
            await backend.get(b"cc:after%d" % i)
        except Exception as exc:  # noqa: BLE001  # every failure is reported, none hidden
            failures.append(f"{type(exc).__name__}: {exc}")
    await backend.aclose()
    return {
        "before_on_a": a.exists("cc:before") == 1,
        "after_on_b": sum(b.exists(f"cc:after{i}") for i in range(20)),
        "after_on_a": sum(a.exists(f"cc:after{i}") for i in range(20)),
        "failures": failures,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))))
