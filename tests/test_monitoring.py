"""The dashboard and the alerts name only metrics a running sidecar exports.

A real sidecar (real Redis, the fake app as its loader) takes some traffic
and is scraped over HTTP. Every dashboard query and every alert expression
is parsed with promql-parser (the Python binding of GreptimeDB's PromQL
parser) and each metric it selects must be in that scrape: a family the
sidecar declares (``# TYPE``) with the sample names its type produces. The
committed dashboard JSON must be what sidecar/ops/dashboard.py generates, and
the monitoring kustomization must select the pods and port that
``cachecar inject`` produces.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import urllib.request
from typing import Any

import promql_parser
import pytest
import yaml
from cachecar.v1 import cache_pb2
from prometheus_client.parser import text_string_to_metric_families

from sidecar.ops import dashboard
from sidecar.ops import sidecar_spec as spec
from tests.appfixtures import FakeApp, SidecarFactory
from tests.test_alerts import MONITORING, rules
from tests.test_deploy import _kustomize

DASHBOARD = MONITORING / "cachecar-dashboard.json"
#: What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*", "$pod": ".*"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "unknown": ("",),
}


def exported_names(text: str) -> set[str]:
    """Every sample name the exposition has or declares (a family with no
    label values yet still declares its type)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def selected_metrics(expr: str) -> set[str]:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr}"
            found.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return found


def dashboard_queries() -> dict[str, list[str]]:
    board = json.loads(DASHBOARD.read_text())
    queries = {}
    for panel in board["panels"]:
        if panel["type"] != "row":
            queries[panel["title"]] = [target["expr"] for target in panel["targets"]]
    return queries


@pytest.fixture
async def scraped(redis_url: str, fake_app: FakeApp, sidecar_for: SidecarFactory) -> set[str]:
    fake_app.rows["k"] = b"v"
    sc = await sidecar_for(redis_url, loader=fake_app.target, listen_metrics=True)
    get = cache_pb2.GetOrLoadRequest(namespace="items", key="k")
    for _ in range(3):
        await sc.cache.GetOrLoad(get)
    url = f"http://127.0.0.1:{sc.sidecar.metrics_port}/metrics"

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    return exported_names(await asyncio.to_thread(fetch))


def test_the_committed_dashboard_is_generated() -> None:
    assert DASHBOARD.read_text() == dashboard.render(), (
        "regenerate: python -m sidecar.ops.dashboard > " + str(DASHBOARD.relative_to(MONITORING))
    )


async def test_dashboard_queries_name_exported_metrics(scraped: set[str]) -> None:
    assert "cachecar_cache_hits_total" in scraped  # the traffic reached the scrape
    queries = dashboard_queries()
    assert len(queries) >= 15
    for title, exprs in queries.items():
        assert exprs, title
        for expr in exprs:
            names = selected_metrics(expr)
            assert names, f"{title}: {expr}"
            assert names <= scraped, f"{title}: {sorted(names - scraped)} not exported"


async def test_alert_expressions_name_exported_metrics(scraped: set[str]) -> None:
    for rule in rules():
        names = selected_metrics(rule["expr"])
        assert names, rule["alert"]
        assert names <= scraped, f"{rule['alert']}: {sorted(names - scraped)} not exported"


def test_a_misspelt_metric_is_caught() -> None:
    # The check above has teeth: a name the sidecar does not export is found.
    names = selected_metrics('sum(rate(cachecar_cache_hit_total{pod=~"$pod"}[$__rate_interval]))')
    assert names == {"cachecar_cache_hit_total"}
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        promql_parser.parse("sum(rate(cachecar_cache_hits_total[5m])")


def test_panels_use_cachecar_labels() -> None:
    # cachecar's namespace label arrives as cache_namespace (the PodMonitor's relabeling).
    for title, exprs in dashboard_queries().items():
        for expr in exprs:
            assert "namespace)" not in expr.replace("cache_namespace)", ""), (title, expr)
            assert 'namespace=~"$namespace"' in expr, (title, expr)


def test_monitoring_kustomization_targets_injected_pods() -> None:
    tool = _kustomize()
    assert tool is not None, "kustomize is missing: run `make tools`"
    result = subprocess.run(
        [tool, "build", str(MONITORING)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    monitor = docs["PodMonitor"]["spec"]
    key, value = spec.INJECTED_LABEL
    assert monitor["selector"] == {"matchLabels": {key: value}}
    (endpoint,) = monitor["podMetricsEndpoints"]
    ports = {p["name"]: p["containerPort"] for p in spec.container(spec.SidecarOptions())["ports"]}
    assert ports[endpoint["port"]] == spec.METRICS_PORT
    relabel = endpoint["metricRelabelings"][0]
    assert (relabel["sourceLabels"], relabel["targetLabel"]) == (
        ["exported_namespace"],
        "cache_namespace",
    )
    assert "PrometheusRule" in docs
    board = docs["ConfigMap"]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert re.fullmatch(r"cachecar-dashboard-[a-z0-9]+", board["metadata"]["name"])
    assert json.loads(board["data"]["cachecar-dashboard.json"]) == json.loads(DASHBOARD.read_text())
