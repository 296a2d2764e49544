"""Runs the Node.js client's own tests (``node --test clients/node/test``)
against a real sidecar over real Redis and Memcached.

The sidecar's loader/writer target is a port chosen here and handed to the
Node tests as CACHECAR_APP_ADDRESS: the Node suite serves its Loader/Writer
there with ``serveApp``, so the sidecar calls a Node loader on a miss.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from sidecar.devmode import free_port
from tests.clients.conftest import client_config, start_sidecar

NODE_DIR = Path(__file__).resolve().parents[2] / "clients" / "node"


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_node_client_suite(redis_url: str, memcached_url: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the Node.js client tests need Node 18+", pytrace=False)
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail(
            "clients/node has no node_modules: run `npm ci --prefix clients/node` "
            "(make test-clients does)",
            pytrace=False,
        )
    app = f"127.0.0.1:{free_port()}"
    sidecar = await start_sidecar(client_config(redis_url, memcached_url, app))
    try:
        proc = await asyncio.create_subprocess_exec(
            node,
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            *sorted(str(p.relative_to(NODE_DIR)) for p in NODE_DIR.glob("test/*.test.js")),
            cwd=NODE_DIR,
            env={**os.environ, "CACHECAR_TARGET": sidecar.address, "CACHECAR_APP_ADDRESS": app},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=200)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    finally:
        await sidecar.stop(grace=1.0)
    text = output.decode(errors="replace")
    print(text)  # visible with -s, and in the failure report below
    assert proc.returncode == 0, f"node --test failed:\n{text}"
    # A suite that ran nothing must not pass: find the spec reporter's summary.
    summary = dict(re.findall(r"^\N{INFORMATION SOURCE} (pass|fail|skipped) (\d+)$", text, re.M))
    assert summary.get("fail") == "0", text
    # Nothing may skip: an RPC the sidecar does not serve is a failure, not a skip.
    assert summary.get("skipped") == "0", text
    assert int(summary.get("pass", "0")) > 0, text
