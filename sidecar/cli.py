"""The ``cachecar`` command: serve, demo, probe, check-config.

``cachecar serve`` with no config (no ``--config``, no ``CACHECAR_CONFIG``)
starts the embedded default: private redis-server and memcached children on
free ports with example namespaces, announced in the log.
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
from sidecar.telemetry import setup_logging

__all__ = ["main"]

log = logging.getLogger("cachecar.cli")
DEFAULT_TARGET = "127.0.0.1:50070"


async def _serve(settings: Settings, *, reuse_port: bool = False) -> None:
    from sidecar.server import Sidecar  # noqa: PLC0415  (keeps `cachecar probe` fast to start)

    # reuse_port: one of several workers sharing the port (sidecar/workers.py).
    sidecar = Sidecar(settings, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await sidecar.start()
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
            from sidecar.workers import supervise  # noqa: PLC0415

            return supervise(settings, log_level=args.log_level)
        asyncio.run(_serve(settings))
        return 0
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
            asyncio.run(_serve(settings))
    except devmode.MissingBinary as exc:
        print(f"cachecar: {exc}", file=sys.stderr)
        return 2
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
    parser = argparse.ArgumentParser(prog="cachecar", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default=os.environ.get("CACHECAR_LOG_LEVEL", "info"))
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sidecar (embedded default when no config)")
    serve.add_argument("--config", help="YAML config file (default: $CACHECAR_CONFIG)")
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config")
    check.set_defaults(func=cmd_check_config)

    probe = sub.add_parser(
        "probe", help="gRPC health check of a running sidecar; exit 0 if serving"
    )
    probe.add_argument("--target", default=os.environ.get("CACHECAR_PROBE_TARGET", DEFAULT_TARGET))
    probe.add_argument("--service", default="", help="health service name ('' = overall)")
    probe.add_argument("--timeout", type=float, default=2.0)
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
    setup_logging(args.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        return int(args.func(args))
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
