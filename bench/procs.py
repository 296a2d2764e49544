"""Child processes of the benchmark and the CPU they spend.

Every server the bench measures runs as its own process so that its CPU can
be read from ``/proc/<pid>/stat`` without counting the load generator's. A
:class:`Child` is started with a ``PR_SET_PDEATHSIG`` shim (as
``sidecar.devmode`` does for redis-server), so even a bench killed with
SIGKILL leaves no sidecar, sink or Node process behind; the normal path stops
each child explicitly (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Self

import grpc

from sidecar.devmode import dies_with_parent

__all__ = [
    "REPO",
    "Child",
    "ChildFailed",
    "clean_env",
    "cpu_us",
    "machine_busy_us",
    "sidecar_child",
    "spawn",
]

#: The repository root: ``python -m bench.<module>`` children run from here.
REPO = Path(__file__).resolve().parent.parent

_TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


async def serve_until_signalled(server: grpc.aio.Server, ready_line: str) -> None:
    """Announce ``ready_line`` on stdout (the parent waits for it), serve until
    SIGTERM or SIGINT, then stop: the main loop of every bench server process."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(ready_line, flush=True)
    await stop.wait()
    await server.stop(1.0)


class ChildFailed(RuntimeError):
    """A child exited early or did not get ready in time; carries its log tail."""


def cpu_us(pid: int) -> float:
    """User + system CPU of a process, all its threads included, in µs.

    Clock-tick resolution (10 ms at the usual 100 Hz), which is why the bench
    measures windows of seconds.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces or parentheses: split after it.
    fields = stat.rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) * _TICK_US


def machine_busy_us() -> float:
    """CPU time all CPUs spent running processes since boot (ours or not), in µs."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal; guest is inside user. Interrupt
    # time is left out: loopback traffic's softirq work belongs to no process, and
    # counting it would make every busy scenario look like outside noise.
    user, nice, system, steal = ticks[0], ticks[1], ticks[2], ticks[7]
    return (user + nice + system + steal) * _TICK_US


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without OTEL_* (tracing is off unless a scenario asks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra or {})
    return env


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    stdout: IO[bytes] | int,
    stderr: IO[bytes] | int,
    cwd: Path = REPO,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (argv[0] resolved on PATH) so that it dies with the bench."""
    binary = shutil.which(argv[0])
    if binary is None:
        raise ChildFailed(f"{argv[0]} not found on PATH")
    # The same parent-death shim as the dev-mode servers: children die with the bench.
    cmd = dies_with_parent([binary, *argv[1:]])
    # The commands are the bench's own (python, node) with arguments it built.
    return subprocess.Popen(  # noqa: S603
        cmd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd
    )


class Child:
    """A server process that announces ``<ready_prefix>HOST:PORT`` on stdout."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        logdir: Path,
        env: Mapping[str, str],
        ready_prefix: str,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.ready_prefix = ready_prefix
        # Files, not pipes: a chatty child can never block on a full pipe.
        self.stdout_path = logdir / f"{name}.out"
        self.stderr_path = logdir / f"{name}.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.address = ""

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ChildFailed(f"{self.name} is not running")
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> Self:
        """Spawn and wait for the ready line; returns once the child listens."""
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = spawn(self.argv, env=self.env, stdout=out, stderr=err)
        try:
            self._wait_ready(timeout)
        except BaseException:  # Ctrl-C while waiting too: never leave it running
            self.stop(timeout=2.0)
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout_lines():
                if line.startswith(self.ready_prefix):
                    self.address = line.removeprefix(self.ready_prefix).strip()
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise ChildFailed(
            f"{self.name} did not print {self.ready_prefix!r} within {timeout}s "
            f"(exit code {self.proc.poll()}); stderr tail:\n{self.stderr_tail()}"
        )

    def stdout_lines(self) -> list[str]:
        try:
            return self.stdout_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def stderr_tail(self, lines: int = 20) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no stderr)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        return proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def sidecar_child(
    name: str, config: Path, *, logdir: Path, env: Mapping[str, str] | None = None
) -> Child:
    """``python -m sidecar serve --config FILE`` as a :class:`Child` (not yet started)."""
    return Child(
        name,
        [sys.executable, "-m", "sidecar", "serve", "--config", str(config)],
        logdir=logdir,
        env=clean_env(env),
        ready_prefix="cachecar listening on ",
    )
