"""scripts/buf-breaking.sh (run by `make lint`) on a scratch git repository
holding this repo's protos: it fails on a breaking change against HEAD~1,
passes a compatible one, and skips only when there is no HEAD~1 to compare with.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUF = Path(sys.executable).parent / "buf"
REASONS = Path("protos/cachecar/v1/error_reason.proto")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(repo / "scripts" / "buf-breaking.sh")],
        env={"BUF": str(BUF), "PATH": "/usr/bin:/bin", "HOME": str(repo)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose first commit holds the script alone."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "buf-breaking.sh", tmp_path / "scripts")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "script")
    return tmp_path


def _commit_protos(repo: Path, message: str) -> None:
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", message)


def test_no_previous_commit_or_protos_is_a_noted_skip(repo: Path) -> None:
    first = _check(repo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "skipped, no previous commit" in first.stdout
    shutil.copytree(ROOT / "protos", repo / "protos")
    _commit_protos(repo, "protos")
    result = _check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout
    assert "has no protos/" in result.stdout


def test_a_breaking_change_fails_and_a_compatible_one_passes(repo: Path) -> None:
    shutil.copytree(ROOT / "protos", repo / "protos")
    _commit_protos(repo, "protos")
    proto = repo / REASONS
    original = proto.read_text()
    # Adding a reason is compatible.
    # A new value after the highest number in use: compatible.
    highest = max(int(n) for n in re.findall(r"= (\d+);", original))
    closing = original.rindex("}")
    proto.write_text(f"{original[:closing]}  NEW_ONE = {highest + 1};\n{original[closing:]}")
    _commit_protos(repo, "a new reason")
    passed = _check(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "compatible" in passed.stdout
    # Renaming one is not: clients branch on the name.
    proto.write_text(proto.read_text().replace("QUEUE_FULL = 41;", "QUEUE_IS_FULL = 41;"))
    _commit_protos(repo, "a renamed reason")
    failed = _check(repo)
    assert failed.returncode != 0
    assert "QUEUE_FULL" in failed.stdout + failed.stderr
