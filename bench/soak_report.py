"""The soak's report: time series, faults, totals, losses, growth and the verdict.

Only renders what the run recorded (and the sidecar's log); the verdict fails
on a lost acknowledged write or a dead sidecar, never on timings.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bench.procs import REPO, Child
from bench.soak_proc import ProcSample
from bench.soak_state import CHANNELS, CHAT, DURABLE, NS_ORDERS, SETTLE_S, WORKERS, Soak
from bench.soak_stats import ROW_HEADER, Row, markdown_table, ms

__all__ = ["log_summary", "render_report"]

#: Growth is measured from the first sample at this fraction of the run.
WARMUP_FRACTION = 0.2
#: Growth "after the faults" is measured from this long after the last one ended.
RECOVERY_S = 10.0


def _growth(soak: Soak) -> tuple[list[str], Row | None, Row | None]:
    during = [r for r in soak.rows if r.t <= soak.seconds + 1]
    if len(during) < 2:
        return ["not enough samples to judge growth"], None, None
    warm = next((r for r in during if r.t >= WARMUP_FRACTION * soak.seconds), during[0])
    end = during[-1]
    # The first sample at least RECOVERY_S after the last fault ended: growth
    # from there to the end is what a leak would look like, not a fault's bump.
    calm_from = max((f.ended or f.started for f in soak.faults), default=warm.t) + RECOVERY_S
    calm = next((r for r in during if r.t >= calm_from), end)

    def figures(r: Row) -> list[float]:
        return [r.proc.rss_mib, r.proc.fds, r.proc.threads, r.proc.established]

    lines = [
        f"- warm-up ends t={warm.t:.0f} s; faults over + {RECOVERY_S:g} s at t={calm.t:.0f} s; "
        f"end t={end.t:.0f} s (ratio > 1.10 is marked GREW; informational, never a failure)"
    ]
    labels = ("RSS MiB", "open fds", "threads", "TCP connections")
    for label, a, c, b in zip(labels, figures(warm), figures(calm), figures(end), strict=True):
        ratio = b / a if a else float("nan")
        calm_ratio = b / c if c else float("nan")
        lines.append(
            f"- {label}: {a:,.1f} -> {c:,.1f} -> {b:,.1f}: end/warm-up {ratio:.2f} "
            f"({'flat' if ratio <= 1.10 else 'GREW'}), end/after-faults {calm_ratio:.2f} "
            f"({'flat' if calm_ratio <= 1.10 else 'GREW'})"
        )
    peak = max(during, key=lambda r: r.proc.rss_kib)
    lines.append(f"- peak RSS {peak.proc.rss_mib:.1f} MiB at t={peak.t:.0f} s")
    return lines, warm, end


def _totals(soak: Soak) -> list[str]:
    total = sum(soak.calls.requests.values())
    errors = sum(n for (m, _, _), n in soak.calls.errors.items() if not m.endswith("[key]"))
    duration = soak.rows[-1].t if soak.rows else soak.seconds
    body = []
    for method, n in sorted(soak.calls.requests.items(), key=lambda kv: -kv[1]):
        hist = soak.calls.by_method.get(method)
        failed = sum(c for (m, _, _), c in soak.calls.errors.items() if m == method)
        body.append(
            [
                method,
                f"{n:,}",
                f"{failed:,}",
                ms(hist.percentile(50) if hist else None),
                ms(hist.percentile(99) if hist else None),
            ]
        )
    lines = [
        f"requests: {total:,} in {duration:.0f} s ({total / max(duration, 1):,.0f}/s), "
        f"errors: {errors:,} ({100 * errors / max(total, 1):.2f}%)",
        "",
        *markdown_table(["method", "calls", "errors", "p50 ms (ok)", "p99 ms (ok)"], body),
        "",
        "Errors by code and ErrorInfo reason:",
        "",
    ]
    if soak.calls.errors:
        err_body = [
            [m, code, reason, f"{n:,}"]
            for (m, code, reason), n in sorted(soak.calls.errors.items(), key=lambda kv: -kv[1])
        ]
        lines += markdown_table(["method", "code", "reason", "count"], err_body)
    else:
        lines.append("none")
    return lines


def _writes(soak: Soak, result: dict[str, Any]) -> tuple[list[str], bool]:
    app = result.get("app", {})
    keys: dict[str, list[int]] = app.get("keys", {})
    check = soak.writes.compare(keys, NS_ORDERS)
    wb_rows = sum(v[0] for k, v in keys.items() if k.startswith(f"{NS_ORDERS}/"))
    regressions = sum(v[3] for k, v in keys.items() if k.startswith(f"{NS_ORDERS}/"))
    drain = result.get("drain", {})
    lost: list[str] = check["lost"]
    lines = [
        f"- EnqueueWrite acknowledged: {soak.writes.acked:,}; failed (outcome unknown): "
        f"{soak.writes.failed:,}; keys: {check['keys']}",
        f"- writer received for `{NS_ORDERS}`: {wb_rows:,} rows in {app.get('batch_calls', 0):,} "
        f"WriteBatch calls (coalesced per key); duplicate write_ids (redelivery): "
        f"{app.get('duplicate_write_ids', 0):,}; a key going backwards: {regressions}",
        f"- queue after the drain ({drain.get('drained_in_s', 0):.1f} s): pending "
        f"{drain.get('pending')}, in flight {drain.get('in_flight')}, dead letters "
        f"{drain.get('dead_letters')}",
        f"- keys whose writer's last row is the last acknowledged update: {check['exact']}; "
        f"a later update whose call failed (applied after all): {check['later']}",
        f"- **lost acknowledged writes: {len(lost)}**",
        *[f"  - {item}" for item in lost[:50]],
        f"- loader: {app.get('loads', 0):,} loads, {app.get('load_errors', 0):,} answered "
        f"UNAVAILABLE by the fault; writer: {app.get('write_calls', 0):,} Write calls "
        f"(write-through), {app.get('writer_outages', 0)} outage(s)",
    ]
    return lines, not lost


def _pubsub(soak: Soak) -> list[str]:
    lines = [
        f"- published (acknowledged): {DURABLE} (durable) {soak.published[DURABLE]:,}, "
        f"{CHAT} (fire-and-forget) {soak.published[CHAT]:,}"
    ]
    for sub in soak.subscribers:
        ends = ", ".join(f"{k} {v}" for k, v in sub.ends.items()) or "-"
        line = (
            f"- {sub.name}: delivered {sub.delivered:,}, missed {sub.missed:,}, "
            f"duplicates {sub.duplicates:,}, reopened {sub.reopened} (ends: {ends})"
        )
        if sub.durable and sub.confirmed_at is not None:
            since = sub.confirmed_at
            owed = [mid for t, mid in soak.durable_published if t > since]
            missing = sum(1 for mid in owed if mid not in sub.ids)
            line += f"; acknowledged since it subscribed: {len(owed):,}, never delivered: {missing}"
        lines.append(line)
    return lines


def render_report(
    soak: Soak, result: dict[str, Any], exit_code: int | None, log_lines: list[str]
) -> tuple[str, bool]:
    growth, _, _ = _growth(soak)
    writes, writes_ok = _writes(soak, result)
    fault_lines = [
        f"- t={f.started:.0f}-{(f.ended or f.started):.0f} s: {f.label}: {f.note}"
        for f in soak.faults
    ]
    end = result.get("end_sample")
    end_line = (
        f"- after the drain and {SETTLE_S:g} s idle: RSS {end.rss_mib:.1f} MiB, "
        f"{end.fds} fds, {end.established} connections {dict(end.conns)}"
        if isinstance(end, ProcSample)
        else "- no sample after the drain (the sidecar was gone)"
    )
    ok = writes_ok and not soak.crashed
    lines = [
        "# cachecar soak report",
        "",
        f"{soak.seconds:.0f} s, {WORKERS} workers on {CHANNELS} channels + "
        f"{len(soak.subscribers)} subscribers; redis-server (AOF, fsync always), memcached, "
        "the app (bench.soak_app) and the sidecar each in its own process, loopback only.",
        "",
        "## Time series (errors and latency per interval; conns are ESTABLISHED TCP)",
        "",
        *markdown_table(ROW_HEADER, [r.cells() for r in soak.rows]),
        "",
        "## Faults injected",
        "",
        *(fault_lines or ["- none (the run was too short)"]),
        "",
        "## Totals",
        "",
        *_totals(soak),
        "",
        "## Write-behind: acknowledged vs received",
        "",
        *writes,
        "",
        "## Pub/Sub",
        "",
        *_pubsub(soak),
        "",
        "## Growth (after warm-up vs end of the workload)",
        "",
        *growth,
        end_line,
        "",
        "## Sidecar",
        "",
        f"- {soak.crashed or 'ran to the end'}; exit code on SIGTERM: {exit_code}",
        *log_lines,
        "",
        f"**Verdict: {'PASS' if ok else 'FAIL'}** — "
        + ("no acknowledged write lost, the sidecar stayed up" if ok else "see above"),
        "",
    ]
    return "\n".join(lines), ok


def log_summary(child: Child) -> list[str]:
    """The sidecar's JSON log lines counted by level and event; errors listed."""
    try:
        lines = child.stderr_path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ["- log: (no stderr)"]
    levels: Counter[str] = Counter()
    events: Counter[tuple[str, str, str]] = Counter()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            levels["not json"] += 1
            continue
        level = str(record.get("level", "?"))
        levels[level] += 1
        if level not in ("info", "debug"):
            exc = str(record.get("exception", "")).strip().splitlines()
            detail = f" ({exc[-1][:120]})" if exc else ""
            events[(level, str(record.get("logger", "?")), f"{record.get('event')}{detail}")] += 1
    counts = ", ".join(f"{k} {v:,}" for k, v in levels.most_common())
    out = [f"- log ({child.stderr_path.relative_to(REPO)}): {len(lines):,} lines: {counts}"]
    out += [
        f"  - {n:,} x {lvl} {logger}: {event}" for (lvl, logger, event), n in events.most_common(15)
    ]
    return out
