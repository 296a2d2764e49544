"""The alerts in deploy/kubernetes/monitoring, checked and unit-tested by promtool.

promtool is Prometheus' own rule checker and evaluator, built from the Go
module proxy by ``make tools`` into .cache/bin. ``promtool test rules`` feeds
tests/alerts/cachecar.test.yaml's input series through the PrometheusRule's
groups and compares the alerts that fire. Which metric names the rules may
use is checked against a real sidecar's /metrics in tests/test_monitoring.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
MONITORING = REPO / "deploy" / "kubernetes" / "monitoring"
RULE = MONITORING / "prometheusrule.yaml"
UNIT_TESTS = REPO / "tests" / "alerts" / "cachecar.test.yaml"
OPERATIONS = REPO / "docs" / "operations.md"
#: Pinned in the Makefile's `tools` target.
PROMTOOL_MODULE = "github.com/prometheus/prometheus/cmd/promtool@v0.316.0"


def promtool() -> str:
    local = REPO / ".cache" / "bin" / "promtool"
    found = str(local) if local.exists() else shutil.which("promtool")
    assert found, f"promtool is missing: run `make tools` (go install {PROMTOOL_MODULE})"
    return found


def rules() -> list[dict[str, Any]]:
    """Every rule of the PrometheusRule, group by group."""
    doc = yaml.safe_load(RULE.read_text())
    assert doc["kind"] == "PrometheusRule"
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    # promtool reads plain rule files: the PrometheusRule's spec is one.
    spec = yaml.safe_load(RULE.read_text())["spec"]
    text = yaml.safe_dump(spec, sort_keys=False, width=1_000_000)  # one line per expression
    (tmp_path / "cachecar.rules.yaml").write_text(text)
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    return tmp_path


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_checks_the_rules(rules_dir: Path) -> None:
    result = _promtool("check", "rules", "cachecar.rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass(rules_dir: Path) -> None:
    result = _promtool("test", "rules", UNIT_TESTS.name, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_can_fail(rules_dir: Path) -> None:
    # A stricter threshold in the rules must break the unit tests: they have teeth.
    path = rules_dir / "cachecar.rules.yaml"
    path.write_text(path.read_text().replace("> 300", "> 500"))
    result = _promtool("test", "rules", UNIT_TESTS.name, cwd=rules_dir)
    assert result.returncode != 0
    assert "CachecarWriteBehindStale" in result.stdout + result.stderr


def test_every_alert_is_unit_tested_and_has_a_runbook() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in rules():
        name = rule["alert"]
        assert name in tested, f"{name} has no firing case in {UNIT_TESTS.name}"
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        runbook = rule["annotations"]["runbook_url"]
        assert runbook == f"docs/operations.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/operations.md has no '### {name}' runbook"
