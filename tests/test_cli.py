"""The command line as a stranger meets it: help, --version, and one-line refusals."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sidecar.cli import build_parser, main


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("cachecar 0.")


def test_every_option_has_help() -> None:
    parser = build_parser()
    top = parser.format_help()
    assert "``" not in top
    group = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert isinstance(group, argparse._SubParsersAction)
    subparsers: dict[str, argparse.ArgumentParser] = group.choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            assert action.help, f"cachecar {name} {action.option_strings} has no help"
    for action in parser._actions:
        assert action.help, f"cachecar {action.option_strings} has no help"
    serve = subparsers["serve"].format_help()
    for needle in ("development mode", "CACHECAR_CONFIG", "CACHECAR_LISTEN", "OTEL_"):
        assert needle in serve, needle


@pytest.mark.parametrize(
    ("setting", "env"),
    [
        ("listen", "CACHECAR_LISTEN"),
        ("health_listen", "CACHECAR_HEALTH_LISTEN"),
        ("metrics_listen", "CACHECAR_METRICS_LISTEN"),
    ],
)
def test_an_address_in_use_is_one_line(
    redis_url: str, tmp_path: Path, setting: str, env: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        config = {
            "listen": "127.0.0.1:0",
            "backends": {"main": redis_url},
            "namespaces": {"items": {"backend": "main"}},
            setting: busy,
        }
        path = tmp_path / "cachecar.yaml"
        path.write_text(yaml.safe_dump(config))
        done = _run("serve", "--config", str(path))
    assert done.returncode == 1, done.stderr
    refusals = [line for line in done.stderr.splitlines() if line.startswith("cachecar: ")]
    assert len(refusals) == 1, done.stderr
    assert busy in refusals[0]
    assert f"set {setting} in the config (or {env})" in refusals[0]
    assert "Traceback" not in done.stderr


def test_a_bad_url_never_reaches_serve(tmp_path: Path) -> None:
    path = tmp_path / "cachecar.yaml"
    path.write_text("backends: {m: 'redis://127.0.0.1:abc/0'}\nnamespaces: {a: {backend: m}}")
    done = _run("serve", "--config", str(path))
    assert done.returncode == 2
    assert "backends.m.url: host '127.0.0.1:abc': port 'abc'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["missing-directory", "regular-file"])
def test_a_unix_socket_path_that_cannot_be_bound_is_one_line(
    redis_url: str, tmp_path: Path, where: str
) -> None:
    # Found by the resharding probe: these exited with a gRPC traceback.
    if where == "regular-file":
        target = tmp_path / "taken"
        target.write_text("not a socket")
        hint = "exists and is not a socket"
    else:
        target = tmp_path / "nowhere" / "cachecar.sock"
        hint = "does not exist"
    config = {
        "listen": f"unix://{target}",
        "backends": {"main": redis_url},
        "namespaces": {"items": {"backend": "main"}},
    }
    path = tmp_path / "cachecar.yaml"
    path.write_text(yaml.safe_dump(config))
    done = _run("serve", "--config", str(path))
    assert done.returncode == 1, done.stderr
    refusals = [line for line in done.stderr.splitlines() if line.startswith("cachecar: ")]
    assert len(refusals) == 1, done.stderr
    assert hint in refusals[0]
    assert "CACHECAR_LISTEN" in refusals[0]
    assert "Traceback" not in done.stderr
    if where == "regular-file":
        assert target.read_text() == "not a socket"  # left as it was
