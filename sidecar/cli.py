"""The ``cachecar`` command: serve, demo, probe, check-config.

``cachecar serve`` with no config (no ``--config``, no ``CACHECAR_CONFIG``)
starts the embedded default: private redis-server and memcached children on
free ports with example namespaces, announced in the log. Every mistake a
user can make here ends in one line on stderr naming what to fix and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from sidecar.config import ConfigError, Settings, load_settings
from sidecar.errors import CacheCarError
from sidecar.telemetry import setup_logging
from sidecar.telemetry.native import route_native_stderr

__all__ = ["main"]

log = logging.getLogger("cachecar.cli")
DEFAULT_TARGET = "127.0.0.1:50070"

_SERVE_EPILOG = """\
Without --config and without CACHECAR_CONFIG, serve starts in development mode:
private redis-server and memcached children (from PATH) on free ports, with
the example namespaces of the README; their data is thrown away on exit.

environment:
  CACHECAR_CONFIG          the config file, when --config is not given
  CACHECAR_LISTEN          overrides listen (the gRPC API, host:port or unix:///path)
  CACHECAR_HEALTH_LISTEN   overrides health_listen (grpc.health.v1 only, for probes)
  CACHECAR_METRICS_LISTEN  overrides metrics_listen (Prometheus /metrics)
  CACHECAR_WORKERS         overrides workers (processes sharing the listen port)
  CACHECAR_LOG_LEVEL       the default of --log-level
  CACHECAR_DEV_LOADER      development mode: the app's LoaderService/WriterService address
  OTEL_*                   tracing (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...)
  GRPC_VERBOSITY           gRPC's own log level (default error); its lines join the log
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("cachecar-sidecar")
    except PackageNotFoundError:  # pragma: no cover  (a source tree run without install)
        return "unknown"


async def _serve(settings: Settings, *, reuse_port: bool = False) -> None:
    from sidecar.server import Sidecar  # noqa: PLC0415  (keeps `cachecar probe` fast to start)

    # reuse_port: one of several workers sharing the port (sidecar/workers.py).
    sidecar = Sidecar(settings, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await sidecar.start()
    except CacheCarError:
        # A later listener failed after the API one started: close what is open.
        await sidecar.stop(grace=0)
        raise
    # Announced on stdout so a parent process (the demo, tests) can find the port.
    print(f"cachecar listening on {sidecar.address}", flush=True)
    await stop.wait()
    await sidecar.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    path = args.config or os.environ.get("CACHECAR_CONFIG")
    if path:
        try:
            settings = load_settings(path)
        except ConfigError as exc:
            print(f"cachecar: {exc}", file=sys.stderr)
            return 2
        if settings.workers > 1:
            from sidecar.workers import exec_supervisor  # noqa: PLC0415

            return exec_supervisor(settings, log_level=args.log_level)
        return _run(settings)
    from sidecar import devmode  # noqa: PLC0415

    try:
        with devmode.DevEnvironment() as dev:
            log.warning(
                "no config given: development mode on the embedded default "
                "(private redis-server and memcached children; data is thrown away on exit)",
                extra=dev.describe(),
            )
            settings = dev.settings()
            if settings.workers > 1:  # CACHECAR_WORKERS; the dev children stay ours
                from sidecar.workers import supervise  # noqa: PLC0415

                return supervise(settings, log_level=args.log_level)
            return _run(settings)
    except devmode.MissingBinary as exc:
        print(f"cachecar: {exc}", file=sys.stderr)
        return 2


def _run(settings: Settings) -> int:
    try:
        asyncio.run(_serve(settings))
    except CacheCarError as exc:
        # A port in use and the like: one line naming the setting, no traceback.
        print(f"cachecar: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"cachecar: {exc}", file=sys.stderr)
        return 2
    print(
        f"config OK: listen {settings.listen}, backends {', '.join(settings.backends)}, "
        f"namespaces {', '.join(settings.namespaces)}"
    )
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from sidecar.probe import probe  # noqa: PLC0415

    ok, message = probe(args.target, args.service, args.timeout)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from sidecar.demo import run_demo  # noqa: PLC0415

    return run_demo()


def cmd_top(args: argparse.Namespace) -> int:
    from sidecar.ops import top  # noqa: PLC0415  (rich loads only for `top`)

    return top.run(args)


def _top_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:9464", help="metrics host:port or URL")
    parser.add_argument("--workers", type=int, default=1, help="also scrape the next N-1 ports")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    parser.add_argument("--once", action="store_true", help="print one frame and exit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachecar",
        description="cachecar: a caching sidecar (serve, demo, probe, check-config).",
    )
    parser.add_argument("--version", action="version", version=f"cachecar {_version()}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("CACHECAR_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error", "critical"],
        type=str.lower,
        help="log level (default: $CACHECAR_LOG_LEVEL or info); logs are JSON lines on "
        "stderr, key=value lines on a terminal",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="command", help="cachecar <command> --help for more"
    )

    serve = sub.add_parser(
        "serve",
        help="run the sidecar (development mode when no config)",
        description="Run the sidecar.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", help="YAML config file (default: $CACHECAR_CONFIG)")
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config", help="the YAML config file to validate")
    check.set_defaults(func=cmd_check_config)

    probe = sub.add_parser(
        "probe", help="gRPC health check of a running sidecar; exit 0 if serving"
    )
    probe.add_argument(
        "--target",
        default=os.environ.get("CACHECAR_PROBE_TARGET", DEFAULT_TARGET),
        help=f"the sidecar's address, host:port or unix:///path "
        f"(default: $CACHECAR_PROBE_TARGET or {DEFAULT_TARGET})",
    )
    probe.add_argument(
        "--service",
        default="",
        help="health service name: '' = overall (default), cachecar.backend.<name> = one backend",
    )
    probe.add_argument(
        "--timeout", type=float, default=2.0, help="seconds to wait for an answer (default: 2)"
    )
    probe.set_defaults(func=cmd_probe)

    demo = sub.add_parser("demo", help="run the sidecar on its embedded default and a demo app")
    demo.set_defaults(func=cmd_demo)

    from sidecar.ops import inject  # noqa: PLC0415  (only PyYAML; no server imports)

    inject.add_arguments(
        sub.add_parser("inject", help="add the cachecar sidecar to Kubernetes YAML (stdout)")
    )
    top = sub.add_parser("top", help="live terminal view of a running sidecar's metrics")
    top.set_defaults(func=cmd_top)
    _top_arguments(top)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve" and not sys.stderr.isatty():
        # gRPC's C core writes its own lines to fd 2: keep the log one JSON object a line.
        route_native_stderr()
    setup_logging(args.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        return int(args.func(args))
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
