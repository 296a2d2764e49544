"""The README's first command: ``make demo`` (``cachecar demo``) runs every pattern.

The demo starts ``cachecar serve`` on its embedded default (dev mode: private
redis-server and memcached children) and walks an app through every pattern;
a dev-mode namespace that no longer matches what the demo calls must fail
here, not in front of a newcomer.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_demo_shows_every_pattern_and_cleans_up() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for section in (
        "stampede: 200 concurrent GetOrLoad of one cold key",
        "write-through: the database first, then the cache",
        "write-behind:",
        "session store on Redis and Memcached",
        "leaderboard:",
        "pub/sub: subscribe, publish, then resume after a disconnect",
        "resumed after",
        "bad input gets a clear error",
        "demo done: the sidecar drained and stopped its redis-server and memcached",
    ):
        assert section in done.stdout, section
    assert "database reads for 200 concurrent misses: 1\n" in done.stdout
    assert "Traceback" not in done.stderr
