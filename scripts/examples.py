"""Runs every pattern example in every client language against one sidecar.

``make examples`` calls this. It starts ONE ``python -m sidecar serve``
child with no config, i.e. plain development mode (private redis-server and
memcached children, the namespaces of sidecar/dev_namespaces.py), exactly what
``make serve`` runs, then runs each example (Python and Node.js) with

    CACHECAR_TARGET       the sidecar's address
    CACHECAR_APP_ADDRESS  where the example serves its own Loader/Writer
                          (the namespaces' loader/writer target; a free port
                          chosen here, reused by one example at a time)

and fails if any example fails. Examples check what they demonstrate and
exit non-zero if the sidecar did not do it.

    python scripts/examples.py                  # all of them
    python scripts/examples.py cache_aside      # one pattern, both languages
    python scripts/examples.py --lang node
    python scripts/examples.py --smoke          # the Go and Java stub examples instead
    python scripts/examples.py --serve          # just the sidecar, for running examples by hand
    python scripts/examples.py --target 127.0.0.1:50070   # against a running `make serve`
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sidecar.devmode import DEV_LOADER, free_port  # noqa: E402

PATTERNS = [
    "cache_aside",
    "write_through",
    "write_behind",
    "session_store",
    "leaderboard",
    "pubsub",
    "change_feed",
]
EXAMPLE_TIMEOUT = 90.0


def example_command(lang: str, pattern: str) -> list[str]:
    """The command that runs one example."""
    if lang == "go":  # the generated-stub smoke examples (make clients-smoke builds them)
        return ["go", "-C", str(ROOT / "clients/go"), "run", "./examples/getorload"]
    if lang == "java":
        java = ROOT / "clients/java/target"
        # The library jar, its dependencies, and the example (kept out of the jar).
        classpath = f"{java / 'cachecar-java-0.1.0.jar'}:{java / 'test-classes'}:{java / 'lib'}/*"
        return ["java", "-cp", classpath, "examples.GetOrLoad"]
    if lang == "python":
        return [sys.executable, str(ROOT / "clients/python/examples" / f"{pattern}.py")]
    node = shutil.which("node") or "node"
    return [node, str(ROOT / "clients/node/examples" / f"{pattern.replace('_', '-')}.js")]


def _drain(stream: IO[str], sink: IO[str]) -> None:
    for line in stream:
        sink.write(line)
        sink.flush()


def start_sidecar(app: str, log: IO[str]) -> tuple[subprocess.Popen[str], str]:
    """``python -m sidecar serve`` in development mode; (process, address) once it listens."""
    env = {k: v for k, v in os.environ.items() if k != "CACHECAR_CONFIG"}
    env.update(CACHECAR_LISTEN=f"127.0.0.1:{free_port()}", CACHECAR_DEV_LOADER=app)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("cachecar listening on "):
        proc.kill()
        proc.wait()
        raise SystemExit(f"the sidecar did not start ({line!r}); see its log: {log.name}")
    # Keep reading its stdout so a chatty sidecar never blocks on a full pipe.
    threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
    return proc, line.removeprefix("cachecar listening on ").strip()


def run_example(lang: str, pattern: str, env: dict[str, str]) -> bool:
    """Run one example, streaming its output; True if it exited 0."""
    print(f"\n=== {lang}: {pattern} " + "=" * (60 - len(lang) - len(pattern)), flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - the examples of this repository
            example_command(lang, pattern), env=env, timeout=EXAMPLE_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"--- {lang} {pattern}: timed out after {EXAMPLE_TIMEOUT:.0f}s", flush=True)
        return False
    took = time.monotonic() - started
    verdict = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
    print(f"--- {lang} {pattern}: {verdict} in {took:.1f}s", flush=True)
    return done.returncode == 0


def run_all(langs: list[str], patterns: list[str], address: str, app: str) -> list[str]:
    """Every (language, pattern) example against the sidecar at ``address``; the failed ones."""
    env = {**os.environ, "CACHECAR_TARGET": address, "CACHECAR_APP_ADDRESS": app}
    return [
        f"{lang} {pattern}"
        for pattern in patterns
        for lang in langs
        if not run_example(lang, pattern, env)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patterns", nargs="*", choices=[[], *PATTERNS], default=[])
    parser.add_argument("--lang", choices=["python", "node", "all"], default="all")
    parser.add_argument("--serve", action="store_true", help="start the sidecar and wait")
    parser.add_argument(
        "--smoke", action="store_true", help="run the Go and Java GetOrLoad examples instead"
    )
    parser.add_argument(
        "--target",
        help="run against this already running dev-mode sidecar (make serve) instead of "
        "starting one; the examples then serve their app on --app",
    )
    parser.add_argument(
        "--app",
        default=os.environ.get("CACHECAR_DEV_LOADER", DEV_LOADER),
        help=f"with --target: the dev-mode loader/writer address (default {DEV_LOADER})",
    )
    args = parser.parse_args()
    langs = ["python", "node"] if args.lang == "all" else [args.lang]
    patterns = args.patterns or PATTERNS
    if args.smoke:
        langs, patterns = ["go", "java"], ["cache_aside"]
    if "java" in langs and not (ROOT / "clients/java/target/lib").is_dir():
        raise SystemExit("clients/java is not built: run `mvn -q -B -f clients/java package`")
    if "node" in langs and not (ROOT / "clients/node/node_modules/@grpc/grpc-js").is_dir():
        raise SystemExit("clients/node has no node_modules: run `npm ci --prefix clients/node`")

    if args.target:
        failed = run_all(langs, patterns, args.target, args.app)
        if failed:
            print(f"\n{len(failed)} example(s) failed: {', '.join(failed)}", file=sys.stderr)
            return 1
        print(f"\nall {len(patterns) * len(langs)} examples passed")
        return 0

    app = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="cachecar-examples-") as tmp:
        log_path = Path(tmp) / "sidecar.log"
        with log_path.open("w") as log:
            proc, address = start_sidecar(app, log)
            try:
                print(f"cachecar listening on {address}; examples serve their app on {app}")
                if args.serve:
                    print(f"export CACHECAR_TARGET={address} CACHECAR_APP_ADDRESS={app}")
                    print("Ctrl-C stops it.", flush=True)
                    proc.wait()
                    return 0
                failed = run_all(langs, patterns, address, app)
            except KeyboardInterrupt:
                return 130
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if failed:
            tail = "".join(log_path.read_text().splitlines(keepends=True)[-40:])
            print(f"\nsidecar log (last 40 lines):\n{tail}")
            print(f"\n{len(failed)} example(s) failed: {', '.join(failed)}", file=sys.stderr)
            return 1
    print(f"\nall {len(patterns) * len(langs)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
