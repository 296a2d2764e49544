"""Several worker processes behind one port: ``workers: N`` in the config.

One Python process serves on about one core, so ``cachecar serve`` with
``workers > 1`` becomes a small supervisor instead of a server:

- It binds (but never listens on) the API and health ports itself, with
  ``SO_REUSEPORT``. That turns port 0 into one real port every worker shares,
  and keeps the port held while a crashed worker is restarted, so nobody
  else can take it in between. A bound socket that does not listen receives
  no connections: only the workers' listening sockets do.
- It starts N workers (``python -m sidecar.workers``, each through
  :func:`sidecar.orphans.dies_with_parent`, so even a SIGKILLed supervisor
  leaves no worker behind). Each reads its settings from stdin (pickled; the
  CLI already validated them and applied the environment overrides, the
  supervisor adds the resolved ports) and runs one ordinary
  :class:`~sidecar.server.Sidecar` with ``grpc.so_reuseport=1``; the kernel
  spreads new connections over them.
- It prints ``cachecar listening on ADDR`` once, when every worker is
  listening, forwards SIGTERM/SIGINT to the workers and waits for all of them
  to finish their graceful stop (SIGKILL after ``shutdown_grace`` + 15 s).
- A worker that dies while nobody asked it to is restarted after a backoff
  (0.5 s doubling to 10 s); past ``MAX_CRASHES`` crashes within
  ``CRASH_WINDOW`` seconds the supervisor stops the rest and exits 1, so the
  container runtime sees a broken sidecar instead of a restart loop.

Workers share nothing in memory: single-flight across them is the backend
lease (Redis ``SET NX`` / Memcached ``add``) that already makes several
sidecars load a key once, and write-behind partitions are owned through
their Redis leases, exactly as between sidecars.

The supervisor is kept small (about 25 MB of RSS instead of 53): ``cachecar serve``
validates the config, reduces it to a :class:`Plan` of plain values and the
workers' settings as opaque pickled bytes, and ``exec``s a fresh interpreter
(``python -m sidecar.workers --supervise FD``, same PID, so signals and the
container runtime see no difference) that imports only the standard library,
the JSON log formatter and prometheus-client. It never unpickles the settings,
so pydantic, gRPC, redis-py and OpenTelemetry are never loaded in it.

Metrics are one ``/metrics`` for the pod: the supervisor serves
``metrics_listen`` and adds up what the workers write to a shared directory
(sidecar/telemetry/multiprocess.py). In development mode the supervisor keeps owning the private
redis-server and memcached children; workers only connect to them. That is
why dev mode supervises in the CLI's own process (no ``exec``): the children's
cleanup lives there. Dev mode is not where the memory budget matters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from sidecar.orphans import dies_with_parent
from sidecar.telemetry.multiprocess import SharedMetrics

if TYPE_CHECKING:
    from sidecar.config import Settings

__all__ = [
    "CRASH_WINDOW",
    "MAX_CRASHES",
    "Plan",
    "Supervisor",
    "exec_supervisor",
    "plan_for",
    "supervise",
    "worker_main",
]

log = logging.getLogger("cachecar.workers")

ANNOUNCE = "cachecar listening on "
#: Exit codes of a worker ended by SIGTERM/SIGINT itself (Popen's -signum).
_STOP_SIGNALS = (-signal.SIGTERM, -signal.SIGINT)
#: More crashes than this within CRASH_WINDOW seconds: give up (exit 1).
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
#: Restart delay after a crash: doubles per recent crash, capped.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
#: How long a worker may take to print its listening line.
STARTUP_TIMEOUT = 30.0
#: Past shutdown_grace, how long the workers get to close backends and drain
#: write-behind before they are SIGKILLed.
STOP_MARGIN = 15.0
_TICK = 0.1


def _split(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host, int(port)


def reserve(listen: str, attempts: int = 20) -> tuple[str, list[socket.socket]]:
    """Bind ``listen`` with SO_REUSEPORT (no listen()); the resolved address and sockets.

    Port 0 becomes one free port bound on every address ``host`` resolves to
    (gRPC binds them all, e.g. 127.0.0.1 and ::1 for localhost).
    """
    host, port = _split(listen)
    infos = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    addresses = list(dict.fromkeys((info[0], info[4][0]) for info in infos))
    last_error: OSError | None = None
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        chosen = port
        try:
            for family, address in addresses:
                sock = socket.socket(family, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((address, chosen))
                chosen = sock.getsockname()[1]
        except OSError as exc:
            last_error = exc
            for sock in sockets:
                sock.close()
            if port != 0:
                break  # a fixed port that is taken stays taken: say so at once
            continue
        return f"{host}:{chosen}", sockets
    raise OSError(f"cannot reserve {listen} for the workers: {last_error}")


@dataclass(frozen=True)
class Plan:
    """What the supervisor needs, in plain values: it never loads the config model."""

    workers: int
    listen: str
    health_listen: str | None
    metrics_listen: str | None
    shutdown_grace_s: float
    log_level: str
    #: The workers' Settings, pickled: passed through to them, never unpickled here.
    worker_settings: bytes


def plan_for(settings: Settings, *, log_level: str = "info") -> Plan:
    """The plan for ``settings``: every worker runs one worker's settings, and the
    supervisor (not a worker) serves the metrics."""
    one = settings.model_copy(update={"workers": 1, "metrics_listen": None})
    return Plan(
        workers=settings.workers,
        listen=settings.listen,
        health_listen=settings.health_listen,
        metrics_listen=settings.metrics_listen,
        shutdown_grace_s=settings.shutdown_grace.total_seconds(),
        log_level=log_level,
        worker_settings=pickle.dumps(one),
    )


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False
    started: float = 0.0
    restart_at: float | None = None
    pending: bytes = b""
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    """Runs ``plan.workers`` workers until SIGTERM/SIGINT; :meth:`run` returns the exit code."""

    def __init__(self, plan: Plan, *, announce: Callable[[str], None] | None = None) -> None:
        self.plan = plan
        self._announce = announce or (lambda line: print(line, flush=True))
        self._workers = [_Worker(i) for i in range(plan.workers)]
        self._selector = selectors.DefaultSelector()
        self._signal: int | None = None
        self._forwarded: int | None = None
        self._stopping = False
        self._stop_deadline = 0.0
        self._killed = False
        self._failed = False
        self._announced = False
        self._crashes: list[float] = []
        self._reserved: list[socket.socket] = []
        self.address = ""
        self._health_address: str | None = None
        self.metrics = SharedMetrics() if plan.metrics_listen else None
        self.metrics_port = 0

    # -- the loop ------------------------------------------------------------

    def run(self) -> int:
        try:
            self._resolve_ports()
            if self.metrics is not None and self.plan.metrics_listen:
                self.metrics_port = self.metrics.serve(self.plan.metrics_listen)
        except OSError as exc:
            log.error("cannot start the workers", extra={"error": str(exc)})  # noqa: TRY400  (no traceback: the reason is the message)
            return 1
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for worker in self._workers:
                if worker.proc is not None and worker.proc.poll() is None:
                    worker.proc.kill()  # only reached on an exception in the loop
                    worker.proc.wait()
            for sock in self._reserved:
                sock.close()
            self._selector.close()
            if self.metrics is not None:
                self.metrics.close()

    def _resolve_ports(self) -> None:
        self.address, sockets = reserve(self.plan.listen)
        self._reserved += sockets
        if self.plan.health_listen:
            self._health_address, sockets = reserve(self.plan.health_listen)
            self._reserved += sockets

    def _loop(self) -> int:
        now = time.monotonic()
        for worker in self._workers:
            self._spawn(worker, now)
        startup_deadline = now + STARTUP_TIMEOUT
        # Bounded: every branch below ends in _begin_stop, whose deadline ends
        # in SIGKILL, after which the loop exits once the kernel reaped them.
        while True:
            for key, _ in self._selector.select(timeout=_TICK):
                self._read(key.data)
            now = time.monotonic()
            if self._signal is not None and not self._stopping:
                name = signal.Signals(self._signal).name
                log.info("stopping the workers", extra={"signal": name})
                self._begin_stop(now)
            self._reap(now)
            if self._stopping:
                if all(w.proc is None for w in self._workers):
                    break
                if now > self._stop_deadline and not self._killed:
                    log.error("workers did not stop in time; killing them")
                    self._kill_all()
                continue
            if self._announced:
                self._restart_due(now)
            elif all(w.ready for w in self._workers):
                self._announced = True
                log.info(
                    "workers ready",
                    extra={
                        "listen": self.address,
                        "workers": len(self._workers),
                        "metrics_port": self.metrics_port,
                    },
                )
                self._announce(f"{ANNOUNCE}{self.address}")
            elif now > startup_deadline:
                log.error("workers did not start in time", extra={"within_s": STARTUP_TIMEOUT})
                self._fail(now)
        codes = [code for w in self._workers for code in w.exit_codes[-1:]]
        return 1 if self._failed or any(codes) else 0

    # -- workers -------------------------------------------------------------

    def _restart_due(self, now: float) -> None:
        for worker in self._workers:
            if worker.restart_at is not None and now >= worker.restart_at:
                self._spawn(worker, now)
            elif (
                worker.proc is not None
                and not worker.ready
                and now - worker.started > STARTUP_TIMEOUT
            ):
                log.error("restarted worker did not start in time", extra={"worker": worker.index})
                worker.proc.kill()  # reaped next tick, counted as a crash

    def _spawn(self, worker: _Worker, now: float) -> None:
        worker.restart_at = None
        worker.ready = False
        worker.pending = b""
        worker.started = now
        proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            dies_with_parent([sys.executable, "-m", "sidecar.workers"]),
            env={**os.environ, **(self.metrics.env if self.metrics else {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # stderr inherited: the workers' log lines are the sidecar's log.
        )
        worker.proc = proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        payload = pickle.dumps(
            {
                "index": worker.index,
                "log_level": self.plan.log_level,
                "settings": self.plan.worker_settings,
                "listen": self.address,
                "health_listen": self._health_address,
            }
        )
        # A worker that died before reading is noticed (and handled) by _reap.
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(payload)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        os.set_blocking(proc.stdout.fileno(), False)
        self._selector.register(proc.stdout, selectors.EVENT_READ, worker)
        log.info("worker started", extra={"worker": worker.index, "pid": proc.pid})

    def _read(self, worker: _Worker) -> None:
        proc = worker.proc
        if proc is None or proc.stdout is None:
            return
        try:
            chunk = os.read(proc.stdout.fileno(), 4096)
        except BlockingIOError:
            return
        if not chunk:
            self._selector.unregister(proc.stdout)
            return
        worker.pending += chunk
        *lines, worker.pending = worker.pending.split(b"\n")
        if any(line.startswith(ANNOUNCE.encode()) for line in lines) and not worker.ready:
            worker.ready = True
            log.info("worker listening", extra={"worker": worker.index, "pid": proc.pid})

    def _reap(self, now: float) -> None:
        for worker in self._workers:
            proc = worker.proc
            if proc is None or (code := proc.poll()) is None:
                continue
            assert proc.stdout is not None
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(proc.stdout)
            proc.stdout.close()
            if self.metrics is not None:
                self.metrics.worker_exited(proc.pid)
            worker.proc = None
            worker.ready = False
            if self._stopping and code in _STOP_SIGNALS:
                # Killed by the very signal we forwarded, before its handlers
                # existed (a pod stopped while starting): stopped as asked.
                code = 0
            worker.exit_codes.append(code)
            if self._stopping:
                log.info("worker stopped", extra={"worker": worker.index, "exit_code": code})
            else:
                self._crashed(worker, code, now)

    def _crashed(self, worker: _Worker, code: int, now: float) -> None:
        if not self._announced:
            # Dying before every worker listened once is a broken start (port
            # taken, backend settings refused), not bad luck: stop, don't loop.
            log.error("worker failed to start", extra={"worker": worker.index, "exit_code": code})
            self._fail(now)
            return
        self._crashes = [t for t in self._crashes if now - t < CRASH_WINDOW] + [now]
        if len(self._crashes) > MAX_CRASHES:
            log.error(
                "workers keep crashing; giving up",
                extra={"crashes": len(self._crashes), "window_s": CRASH_WINDOW},
            )
            self._fail(now)
            return
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (len(self._crashes) - 1))
        worker.restart_at = now + delay
        log.warning(
            "worker exited unexpectedly; restarting it",
            extra={"worker": worker.index, "exit_code": code, "restart_in_s": delay},
        )

    # -- stopping ------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only recorded here; the loop forwards it (a handler can interrupt
        # the loop anywhere, including inside Popen).
        self._signal = signum

    def _begin_stop(self, now: float) -> None:
        self._stopping = True
        self._stop_deadline = now + self.plan.shutdown_grace_s + STOP_MARGIN
        sig = self._signal if self._signal is not None else signal.SIGTERM
        for worker in self._workers:
            worker.restart_at = None
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.send_signal(sig)

    def _fail(self, now: float) -> None:
        self._failed = True
        self._begin_stop(now)

    def _kill_all(self) -> None:
        self._killed = True
        for worker in self._workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.kill()


def supervise(settings: Settings, *, log_level: str = "info") -> int:
    """Run the workers from this process (dev mode: it owns the dev children); the exit code."""
    return Supervisor(plan_for(settings, log_level=log_level)).run()


def exec_supervisor(settings: Settings, *, log_level: str = "info") -> int:
    """``cachecar serve`` with ``workers > 1``: replace this process (same PID) with
    a small supervisor that has none of the data plane loaded. Where that cannot
    be done (no memfd outside Linux, a sandbox refusing it), supervise from this
    process instead: the same behaviour, only larger."""
    from sidecar.telemetry.native import (  # noqa: PLC0415
        route_native_stderr,
        unroute_native_stderr,
    )

    plan = pickle.dumps(dataclasses.asdict(plan_for(settings, log_level=log_level)))
    try:
        # A memfd, not a pipe: the plan carries the whole config, which may exceed
        # a pipe's buffer, and nobody would be reading it before the exec.
        fd = os.memfd_create("cachecar-plan", 0)
    except (AttributeError, OSError) as exc:
        log.warning("supervising in-process", extra={"reason": f"no memfd: {exc}"})
        return supervise(settings, log_level=log_level)
    os.write(fd, plan)
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    sys.stdout.flush()
    routed = unroute_native_stderr()
    try:
        os.execv(sys.executable, [sys.executable, "-m", "sidecar.workers", "--supervise", str(fd)])  # noqa: S606  (our own interpreter and module)
    except OSError as exc:
        os.close(fd)
        if routed:
            route_native_stderr()
        log.warning("supervising in-process", extra={"reason": f"exec failed: {exc}"})
    return supervise(settings, log_level=log_level)


def supervisor_main(fd: int) -> int:
    """The exec'd supervisor: read the plan, then supervise."""
    from sidecar.telemetry.logs import setup_logging  # noqa: PLC0415
    from sidecar.telemetry.native import route_native_stderr  # noqa: PLC0415

    with os.fdopen(fd, "rb") as plan_file:
        # Written by the same user's `cachecar serve` just before the exec; a
        # dict of plain values, so unpickling it imports nothing.
        plan = Plan(**pickle.load(plan_file))  # noqa: S301
    if not sys.stderr.isatty():
        # The workers inherit fd 2: their gRPC C-core lines join the log here.
        route_native_stderr()
    setup_logging(plan.log_level)
    return Supervisor(plan).run()


def worker_main() -> int:
    """One worker: settings from stdin, then an ordinary sidecar on a shared port."""
    import asyncio  # noqa: PLC0415  (only the worker needs these)

    from sidecar.cli import _serve  # noqa: PLC0415
    from sidecar.telemetry import setup_logging  # noqa: PLC0415

    # Written by our own supervisor through a pipe only it holds.
    job = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    index: int = job["index"]
    settings: Settings = pickle.loads(job["settings"])  # noqa: S301
    ports = {"listen": job["listen"]}
    if job["health_listen"]:
        ports["health_listen"] = job["health_listen"]
    settings = settings.model_copy(update=ports)
    setup_logging(job["log_level"])
    factory = logging.getLogRecordFactory()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        # Every line of a worker says which one wrote it.
        record = factory(*args, **kwargs)
        record.worker = index
        return record

    logging.setLogRecordFactory(tagged)
    asyncio.run(_serve(settings, reuse_port=True))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--supervise"]:
        sys.exit(supervisor_main(int(sys.argv[2])))
    sys.exit(worker_main())
