"""The Grafana dashboard of deploy/kubernetes/monitoring, generated from code.

Built with grafana-foundation-sdk (Grafana's own typed builders; a dev
dependency, needed only to regenerate). The committed JSON must equal what
this module writes (tests/test_monitoring.py checks it, and checks that every
query parses and names only metrics a running sidecar exports):

    .venv/bin/python -m sidecar.ops.dashboard > deploy/kubernetes/monitoring/cachecar-dashboard.json

Label names are those the PodMonitor stores: ``namespace`` and ``pod`` are
Kubernetes', ``cache_namespace`` is cachecar's namespace.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

__all__ = ["ROWS", "Chart", "build", "render"]

UID = "cachecar-sidecar"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
#: Every query is scoped to the chosen Kubernetes namespace and pods.
SCOPE = 'namespace=~"$namespace", pod=~"$pod"'
RATE = "[$__rate_interval]"


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    unit: str
    #: (PromQL, legend) pairs.
    queries: tuple[tuple[str, str], ...]


def _rate(metric: str, by: str, extra: str = "") -> str:
    selector = f"{{{SCOPE}{', ' + extra if extra else ''}}}"
    return f"sum by ({by}) (rate({metric}{selector}{RATE}))"


def _agg(how: str, metric: str, by: str) -> str:
    return f"{how} by ({by}) ({metric}{{{SCOPE}}})"


def _quantiles(metric: str, by: str) -> tuple[tuple[str, str], ...]:
    legend = " ".join("{{" + label.strip() + "}}" for label in by.split(","))
    return tuple(
        (
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{SCOPE}}}{RATE})))",
            f"p{int(q * 100)} {legend}",
        )
        for q in (0.5, 0.99)
    )


HITS = _rate("cachecar_cache_hits_total", "cache_namespace")
READS = " + ".join(
    _rate(f"cachecar_cache_{what}_total", "cache_namespace")
    for what in ("hits", "misses", "stale_served")
)

ROWS: tuple[tuple[str, tuple[Chart, ...]], ...] = (
    (
        "Calls",
        (
            Chart(
                "RPC rate by method",
                "Completed RPCs per second, all workers and pods in scope.",
                "reqps",
                ((_rate("cachecar_rpc_handled_total", "method"), "{{method}}"),),
            ),
            Chart(
                "RPC errors by method and code",
                "RPCs that ended with a status other than OK (the gRPC code; the "
                "ErrorInfo reason is in the sidecar's logs and traces).",
                "reqps",
                (
                    (
                        _rate("cachecar_rpc_handled_total", "method, code", 'code!="OK"'),
                        "{{method}} {{code}}",
                    ),
                ),
            ),
            Chart(
                "RPC latency p50 / p99",
                "Server-side latency per method, from the sidecar's histogram.",
                "s",
                _quantiles("cachecar_rpc_duration_seconds", "method"),
            ),
        ),
    ),
    (
        "Cache",
        (
            Chart(
                "Hit ratio by cache namespace",
                "Reads served from the cache (fresh hits) over all reads.",
                "percentunit",
                ((f"({HITS}) / ({READS})", "{{cache_namespace}}"),),
            ),
            Chart(
                "Reads by source",
                "Per cache namespace: CACHE (hits), LOADER (misses) and STALE (served in grace).",
                "ops",
                tuple(
                    (
                        _rate(f"cachecar_cache_{what}_total", "cache_namespace"),
                        f"{{{{cache_namespace}}}} {what}",
                    )
                    for what in ("hits", "misses", "stale_served")
                ),
            ),
            Chart(
                "Loads and single-flight joins",
                "Calls to the app's loader by outcome, and loads avoided because a caller "
                "joined one in flight (singleflight: this sidecar; lease: another sidecar).",
                "ops",
                (
                    (
                        _rate("cachecar_loads_total", "cache_namespace, outcome"),
                        "load {{cache_namespace}} {{outcome}}",
                    ),
                    (
                        _rate("cachecar_loads_suppressed_total", "cache_namespace, by"),
                        "joined {{cache_namespace}} {{by}}",
                    ),
                ),
            ),
            Chart(
                "Loader latency p50 / p99",
                "How long the app's LoaderService.Load takes.",
                "s",
                _quantiles("cachecar_load_duration_seconds", "cache_namespace"),
            ),
        ),
    ),
    (
        "Backends",
        (
            Chart(
                "Backend command latency p50 / p99",
                "Latency of Redis / Memcached commands, by backend and operation.",
                "s",
                _quantiles("cachecar_backend_duration_seconds", "backend, operation"),
            ),
            Chart(
                "Backend errors",
                "Backend commands that failed.",
                "ops",
                (
                    (
                        _rate("cachecar_backend_errors_total", "backend, operation"),
                        "{{backend}} {{operation}}",
                    ),
                ),
            ),
            Chart(
                "Backend up and breaker open",
                "1 = the backend answers its health ping / the circuit breaker is skipping it.",
                "short",
                (
                    (_agg("min", "cachecar_backend_up", "backend"), "up {{backend}}"),
                    (
                        _agg("max", "cachecar_backend_breaker_open", "backend"),
                        "breaker open {{backend}}",
                    ),
                ),
            ),
            Chart(
                "Backend memory",
                "Memory the cache servers report using, and their limit (0 = none).",
                "bytes",
                (
                    (
                        _agg("max", "cachecar_backend_memory_bytes", "backend, server"),
                        "used {{server}}",
                    ),
                    (
                        _agg("max", "cachecar_backend_memory_limit_bytes", "backend, server"),
                        "limit {{server}}",
                    ),
                ),
            ),
            Chart(
                "Backend evictions",
                "Keys the cache servers evicted for memory (every sidecar polls the same "
                "servers, hence max).",
                "ops",
                (
                    (
                        "max by (backend, server) "
                        f"(rate(cachecar_backend_evictions_total{{{SCOPE}}}{RATE}))",
                        "{{server}}",
                    ),
                ),
            ),
        ),
    ),
    (
        "Write-behind",
        (
            Chart(
                "Backlog",
                "Writes accepted and not yet written, per cache namespace (a shared queue: "
                "every sidecar reports the same figure).",
                "short",
                (
                    (
                        _agg("max", "cachecar_writebehind_pending", "cache_namespace"),
                        "{{cache_namespace}}",
                    ),
                ),
            ),
            Chart(
                "Oldest pending write",
                "Age of the oldest write not yet applied by the app's writer.",
                "s",
                (
                    (
                        _agg("max", "cachecar_writebehind_lag_seconds", "cache_namespace"),
                        "{{cache_namespace}}",
                    ),
                ),
            ),
            Chart(
                "Flushes, retries and dead letters",
                "Writes enqueued and flushed, WriteBatch calls by outcome, retries, and "
                "writes moved to the dead-letter stream.",
                "ops",
                (
                    (
                        _rate("cachecar_writebehind_enqueued_total", "cache_namespace"),
                        "enqueued {{cache_namespace}}",
                    ),
                    (
                        _rate("cachecar_writebehind_flushed_total", "cache_namespace"),
                        "flushed {{cache_namespace}}",
                    ),
                    (
                        _rate("cachecar_writebehind_batches_total", "cache_namespace, outcome"),
                        "batch {{outcome}} {{cache_namespace}}",
                    ),
                    (
                        _rate("cachecar_writebehind_retries_total", "cache_namespace"),
                        "retries {{cache_namespace}}",
                    ),
                    (
                        _rate("cachecar_writebehind_dead_letters_total", "cache_namespace"),
                        "dead letters {{cache_namespace}}",
                    ),
                ),
            ),
        ),
    ),
    (
        "Pub/Sub",
        (
            Chart(
                "Published and delivered",
                "Messages published by channel kind, and handed to Subscribe streams.",
                "ops",
                (
                    (
                        _rate("cachecar_pubsub_published_total", "cache_namespace, kind"),
                        "published {{cache_namespace}} {{kind}}",
                    ),
                    (
                        _rate("cachecar_pubsub_delivered_total", "cache_namespace"),
                        "delivered {{cache_namespace}}",
                    ),
                ),
            ),
            Chart(
                "Drops and subscribers",
                "Messages subscribers missed (slow_subscriber, trimmed), open Subscribe "
                "streams, and reconnects of the shared subscriber connection.",
                "short",
                (
                    (
                        _rate("cachecar_pubsub_dropped_total", "cache_namespace, reason"),
                        "dropped {{cache_namespace}} {{reason}}",
                    ),
                    (
                        _agg("sum", "cachecar_pubsub_subscribers", "cache_namespace"),
                        "subscribers {{cache_namespace}}",
                    ),
                    (
                        _rate("cachecar_pubsub_reconnects_total", "backend"),
                        "reconnects {{backend}}",
                    ),
                ),
            ),
        ),
    ),
)


def _panel(chart: Chart) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(chart.title)
        .description(chart.description)
        .unit(chart.unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(8)
    )
    for index, (expr, legend) in enumerate(chart.queries):
        panel = panel.with_target(
            prometheus.Dataquery()
            .expr(expr)
            .legend_format(legend)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
    return panel


def _variable(name: str, query: str) -> gdash.QueryVariable:
    return (
        gdash.QueryVariable(name)
        .label(name)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
    )


def build() -> gdash.Dashboard:
    board = (
        gdash.Dashboard("cachecar")
        .uid(UID)
        .tags(["cachecar"])
        .refresh("30s")
        .time("now-1h", "now")
        .with_variable(
            gdash.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
        )
        .with_variable(
            _variable("namespace", "label_values(cachecar_rpc_handled_total, namespace)")
        )
        .with_variable(
            _variable(
                "pod", 'label_values(cachecar_rpc_handled_total{namespace=~"$namespace"}, pod)'
            )
        )
    )
    # Grafana keys panel state (links, repeat, edit) by id: number them all.
    next_id = 1
    for title, charts in ROWS:
        board = board.with_row(gdash.Row(title).id(next_id))
        next_id += 1
        for chart in charts:
            board = board.with_panel(_panel(chart).id(next_id))
            next_id += 1
    return board


def render() -> str:
    return json.dumps(build().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
