"""Reconnects resolve the backend's DNS name again (ElastiCache endpoints move on failover).

The name is one this test controls without touching the machine: the child
process runs in a private mount namespace (``unshare --mount``) whose
/etc/hosts is a bind-mounted test file, so the change is invisible to every
other process. glibc reads /etc/hosts on each lookup (no nscd here), which
is what a DNS record's change looks like to a client that does not cache
addresses. Server A listens on 127.0.0.1, server B on 127.0.0.2, same port;
the name moves from A to B and A drops the sidecar's connections: every
later write must land on B, and no call may fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.devmode import RedisServer, ServerStartError, free_port

ROOT = Path(__file__).resolve().parent.parent


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0


@pytest.fixture
def two_servers() -> Iterator[int]:
    for _ in range(5):
        port = free_port("127.0.0.1")
        a, b = RedisServer(port, host="127.0.0.1"), RedisServer(port, host="127.0.0.2")
        try:
            a.start()
            b.start()
        except ServerStartError:
            a.close()
            b.close()
            continue
        yield port
        a.close()
        b.close()
        return
    pytest.fail("could not start redis-server on 127.0.0.1 and 127.0.0.2 on one port")


def test_a_reconnect_follows_the_name_to_its_new_address(two_servers: int, tmp_path: Path) -> None:
    if not _can_unshare():
        pytest.skip("unshare --mount is not permitted here (needs CAP_SYS_ADMIN)")
    hosts = tmp_path / "hosts"
    name = "cachecar-dns-test.internal"
    hosts.write_text(f"127.0.0.1 {name}\n")
    child = f"mount --bind {hosts} /etc/hosts && exec {sys.executable} -m tests.dns_child"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'clients/python/src'}"}
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f'{child} "$0" "$1" "$2"', str(hosts), str(two_servers), name],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["before_on_a"] is True
    assert result["after_on_b"] == 20
    assert result["after_on_a"] == 0
