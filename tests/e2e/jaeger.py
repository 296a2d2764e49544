"""A real Jaeger v2 for the end-to-end tracing check, and its two query APIs read back.

``scripts/jaeger.sh exec`` runs the Jaeger that ``scripts/jaeger.sh install``
built from the Go module proxy, with ``scripts/jaeger.yaml``: every listener on
127.0.0.1, ports from the ``JAEGER_*_PORT`` variables set here to free ones.

A trace is read through both query APIs Jaeger v2 serves on its HTTP port and
flattened into :class:`Span` records, so a test states the tree's shape once
and checks it against each API:

- ``/api/v3/traces/{id}``: OTLP JSON (``resourceSpans`` → ``scopeSpans`` →
  ``spans``), service name in the resource, kind an enum number, attributes
  as OTLP ``AnyValue``;
- ``/api/traces/{id}``: the classic Jaeger JSON the UI reads (``processes``
  hold the service names, ``references`` the parent, kind is the
  ``span.kind`` tag).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.devmode import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "jaeger.sh"
# Every listener scripts/jaeger.yaml opens; each gets a free loopback port.
PORTS = (
    "JAEGER_OTLP_GRPC_PORT",
    "JAEGER_OTLP_HTTP_PORT",
    "JAEGER_QUERY_PORT",
    "JAEGER_QUERY_GRPC_PORT",
)
# OTLP's Span.SpanKind numbers, named as the classic API's span.kind tag names them.
_OTLP_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Span:
    """One span as either query API reports it."""

    service: str
    name: str
    kind: str
    trace_id: int
    span_id: int
    parent_id: int | None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """One answer of a query API: the spans, and the raw body (to search for leaks)."""

    api: str
    spans: list[Span]
    raw: bytes


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP ``AnyValue`` in proto3 JSON (64-bit ints arrive as strings)."""
    if "intValue" in value:
        return int(value["intValue"])
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    return value  # arrays, maps, bytes: not used by these checks


def spans_from_v3(body: dict[str, Any]) -> list[Span]:
    spans = []
    for resource_spans in body["result"].get("resourceSpans") or ():
        resource = {
            a["key"]: _any_value(a["value"])
            for a in resource_spans.get("resource", {}).get("attributes") or ()
        }
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                parent = span.get("parentSpanId")
                spans.append(
                    Span(
                        service=str(resource.get("service.name")),
                        name=span["name"],
                        kind=_OTLP_KINDS.get(span.get("kind", 0), "unspecified"),
                        trace_id=int(span["traceId"], 16),
                        span_id=int(span["spanId"], 16),
                        parent_id=int(parent, 16) if parent else None,
                        attributes={
                            a["key"]: _any_value(a["value"]) for a in span.get("attributes") or ()
                        },
                    )
                )
    return spans


def spans_from_v1(body: dict[str, Any]) -> list[Span]:
    spans = []
    for trace in body.get("data") or ():
        services = {pid: proc["serviceName"] for pid, proc in trace["processes"].items()}
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span.get("tags") or ()}
            parents = [
                int(r["spanID"], 16)
                for r in span.get("references") or ()
                if r["refType"] == "CHILD_OF"
            ]
            spans.append(
                Span(
                    service=services[span["processID"]],
                    name=span["operationName"],
                    kind=str(tags.pop("span.kind", "unspecified")),
                    trace_id=int(span["traceID"], 16),
                    span_id=int(span["spanID"], 16),
                    parent_id=parents[0] if parents else None,
                    attributes=tags,
                )
            )
    return spans


@dataclass(frozen=True)
class Jaeger:
    ports: dict[str, int]
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['JAEGER_OTLP_GRPC_PORT']}"

    def _get(self, port: str, path: str) -> bytes | None:
        """GET ``path``; None on 404 (both APIs' answer for an unknown trace)."""
        url = f"http://127.0.0.1:{self.ports[port]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def read_trace(self, api: str, trace_id: int) -> Reading:
        """The trace through one query API (``v3`` or ``v1``); no spans if unknown yet."""
        path, parse = {
            "v3": ("/api/v3/traces/", spans_from_v3),
            "v1": ("/api/traces/", spans_from_v1),
        }[api]
        raw = self._get("JAEGER_QUERY_PORT", f"{path}{trace_id:032x}")
        return Reading(api, parse(json.loads(raw)) if raw else [], raw or b"")

    def wait_for_trace(
        self,
        api: str,
        trace_id: int,
        complete: Callable[[list[Span]], bool],
        within: float = 20.0,
    ) -> Reading:
        """Poll until ``complete(spans)``: spans arrive in batches, from several exporters."""
        deadline = time.monotonic() + within
        reading = Reading(api, [], b"")
        while time.monotonic() < deadline:
            reading = self.read_trace(api, trace_id)
            if complete(reading.spans):
                return reading
            time.sleep(0.25)
        raise AssertionError(
            f"trace {trace_id:032x} incomplete in the {api} API after {within}s: "
            f"{[(s.service, s.name, s.kind) for s in reading.spans]}\n"
            f"answer: {reading.raw[:2000]!r}\njaeger log tail:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, within: float = 30.0) -> None:
        """OTLP in accepts connections (receivers start last) and the query API answers."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Jaeger exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(
                    ("127.0.0.1", self.ports["JAEGER_OTLP_GRPC_PORT"]), timeout=1
                ):
                    pass
                if self._get("JAEGER_QUERY_PORT", "/api/v3/services") is not None:
                    return
            except OSError:  # URLError is one too: not listening yet
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Jaeger not ready within {within}s:\n{self.log_tail()}")

    def listeners(self) -> set[tuple[str, int]]:
        """Every (address, port) Jaeger's process listens on: TCP LISTEN or bound UDP."""
        inodes = set()
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
        found = set()
        for table in ("tcp", "tcp6", "udp", "udp6"):
            rows = Path(f"/proc/{self.proc.pid}/net/{table}").read_text().splitlines()[1:]
            for row in rows:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if inode in inodes and (state == "0A" or table.startswith("udp")):
                    found.add(_address(local))
        return found


def _address(hex_address: str) -> tuple[str, int]:
    """``0100007F:1F90`` (as /proc/net/tcp writes it, host byte order) -> ("127.0.0.1", 8080)."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc prints each 32-bit word in host byte order.
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port, 16)


@contextmanager
def running_jaeger(log: Path) -> Iterator[Jaeger]:
    """Jaeger as a child process on free loopback ports, killed at the end."""
    # A no-op once built; `make jaeger-e2e` has done it before pytest starts.
    subprocess.run([str(SCRIPT), "install"], check=True, timeout=1900)
    ports = {name: free_port() for name in PORTS}
    with log.open("wb") as out:
        # `exec` replaces the script's shell, so proc is Jaeger itself.
        proc = subprocess.Popen(
            [str(SCRIPT), "exec"],
            env={**os.environ, **{name: str(port) for name, port in ports.items()}},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        jaeger = Jaeger(ports, log, proc)
        jaeger.wait_ready()
        yield jaeger
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
