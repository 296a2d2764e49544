"""The embedded default: private redis-server / memcached child processes.

Dev mode and the test suite need real servers without asking anyone to run
them: this module spawns them on free ports, waits until they answer a
protocol-level ping, and stops, kills, restarts or pauses them. It is all
synchronous (``subprocess`` + ``socket``) so sync pytest fixtures and the CLI
can use it before or around the event loop.

Orphans: on Linux each child goes through a tiny exec shim that sets
``PR_SET_PDEATHSIG`` (SIGTERM), so even a SIGKILLed parent leaves no servers
behind. The kernel fires it when the *thread* that spawned the child exits,
so start servers from a long-lived thread (normally the main one). Elsewhere
only ``stop()``/``close()``/``with`` and interpreter-exit finalizers clean up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Self

from sidecar.config import Settings, settings_from_mapping
from sidecar.dev_namespaces import DESCRIPTION, example_namespaces
from sidecar.orphans import dies_with_parent

__all__ = [
    "DEV_LOADER",
    "ChildServer",
    "DevEnvironment",
    "MemcachedServer",
    "MissingBinary",
    "RedisServer",
    "ServerStartError",
    "dies_with_parent",
    "free_port",
    "require_binary",
]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class MissingBinary(RuntimeError):
    """The server executable is not on PATH."""


class ServerStartError(RuntimeError):
    """The child exited or did not answer its ping in time; carries its log tail."""


def require_binary(name: str, apt_package: str) -> str:
    """Return the path of ``name`` on PATH or raise MissingBinary saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise MissingBinary(
            f"{name} not found on PATH. Install it with `apt-get install {apt_package}` "
            "(Debian/Ubuntu) or `brew install redis memcached` (macOS)."
        )
    return path


class _Resources:
    """What must be released even if the owner is never closed (see finalize)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def release(self, *, keep_workdir: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class ChildServer:
    """A server process owned by this object: start, stop, kill, restart, pause."""

    binary: ClassVar[str]
    apt_package: ClassVar[str]
    ping_request: ClassVar[bytes]
    ping_reply: ClassVar[bytes]

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        self._host = host
        # An auto-picked port may be grabbed by someone else before the child
        # binds it; only then is it safe to retry on another port.
        self._auto_port = port is None
        self._port = free_port(host) if port is None else port
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self._started_once = False
        self._res = _Resources(Path(tempfile.mkdtemp(prefix=f"cachecar-{self.binary}-")))
        self._finalizer = weakref.finalize(self, self._res.release)

    # -- what subclasses provide -------------------------------------------

    def _command(self, binary: str) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    # -- state ---------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        proc = self._res.proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._res.proc.pid if self.running and self._res.proc else None

    @property
    def workdir(self) -> Path:
        return self._res.workdir

    @property
    def log_path(self) -> Path:
        return self._res.workdir / "server.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        """Spawn the child and return once it answers a ping; no-op if running."""
        if self.running:
            return self
        path = require_binary(self.binary, self.apt_package)
        retries = 2 if self._auto_port and not self._started_once else 0
        while True:
            try:
                self._spawn_and_wait(path)
            except ServerStartError:
                if retries == 0 or "in use" not in self.log_tail(5):
                    raise
                retries -= 1
                self._port = free_port(self._host)
            else:
                self._started_once = True
                return self

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM and wait, SIGKILL if it lingers. Keeps the workdir for restart()."""
        proc = self._res.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            # A paused child only acts on SIGTERM once it is continued.
            proc.send_signal(signal.SIGCONT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        self.kill()  # the SIGKILL fallback; a no-op if it already exited

    def kill(self) -> None:
        """SIGKILL, no goodbye: what fault tests use to simulate a crash."""
        self._res.release(keep_workdir=True)

    def restart(self) -> Self:
        """Stop if needed, then start again on the same port and workdir."""
        self.stop()
        return self.start()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the child and delete its workdir (logs included)."""
        self.stop()
        self._finalizer()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self._host}:{self._port} {state}>"

    # -- internals -----------------------------------------------------------

    def _signal(self, sig: signal.Signals) -> None:
        proc = self._res.proc
        if proc is None or proc.poll() is not None:
            raise RuntimeError(f"{self!r} is not running")
        proc.send_signal(sig)

    def _spawn_and_wait(self, path: str) -> None:
        cmd = dies_with_parent(self._command(path))
        # Append so a restart keeps the log of the run that crashed.
        with self.log_path.open("ab") as log:
            log.write(f"--- cachecar: starting {self.binary} on port {self._port}\n".encode())
            log.flush()
            self._res.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        problem = f"did not answer {self.ping_request!r} within {self.startup_timeout}s"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                problem = "exited during startup"
                break
            if self._ping():
                return
            time.sleep(0.02)
        self.kill()
        raise ServerStartError(
            f"{self.binary} on {self._host}:{self._port} {problem}; "
            f"log {self.log_path}, last lines:\n{self.log_tail()}"
        )

    def _ping(self) -> bool:
        try:
            with socket.create_connection((self._host, self._port), timeout=0.5) as sock:
                sock.sendall(self.ping_request)
                # Redis answers -LOADING while replaying an AOF: not ready yet.
                # A reply split across reads just fails this round; we retry.
                return sock.recv(64).startswith(self.ping_reply)
        except OSError:
            return False


class RedisServer(ChildServer):
    """A throwaway redis-server: no RDB snapshots, no AOF unless extra_args enable it."""

    binary = "redis-server"
    apt_package = "redis-server"
    ping_request = b"PING\r\n"
    ping_reply = b"+PONG"

    def _command(self, binary: str) -> list[str]:
        # Later arguments win in redis-server, so extra_args can override these.
        # fmt: off
        return [
            binary, "--port", str(self._port), "--bind", self._host,
            "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--dir", str(self._res.workdir), *self.extra_args,
        ]
        # fmt: on

    @property
    def url(self) -> str:
        return f"redis://{self._host}:{self._port}/0"


class MemcachedServer(ChildServer):
    """A throwaway memcached: TCP only, 64 MB."""

    binary = "memcached"
    apt_package = "memcached"
    ping_request = b"version\r\n"
    ping_reply = b"VERSION"

    def _command(self, binary: str) -> list[str]:
        cmd = [binary, "-l", self._host, "-p", str(self._port), "-U", "0", "-m", "64"]
        # memcached refuses to run as root unless told which user to become.
        if os.geteuid() == 0:
            cmd += ["-u", "root"]
        return [*cmd, *self.extra_args]

    @property
    def url(self) -> str:
        return f"memcached://{self._host}:{self._port}"


#: Where the dev-mode namespaces expect the app's LoaderService, unless
#: CACHECAR_DEV_LOADER says otherwise.
DEV_LOADER = "127.0.0.1:50071"


class DevEnvironment:
    """The embedded default: one private Redis and Memcached, example namespaces.

    ``with DevEnvironment() as dev: settings = dev.settings()`` starts both
    children on free ports and stops them (and deletes their data) on exit.
    """

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        self.loader = environ.get("CACHECAR_DEV_LOADER", DEV_LOADER)
        self.redis = RedisServer()
        self.memcached = MemcachedServer()

    def __enter__(self) -> Self:
        require_binary(RedisServer.binary, RedisServer.apt_package)
        require_binary(MemcachedServer.binary, MemcachedServer.apt_package)
        self.redis.start()
        try:
            self.memcached.start()
        except BaseException:
            self.redis.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.memcached.close()
        self.redis.close()

    def settings(self) -> Settings:
        """Every namespace the README and the examples use (sidecar/dev_namespaces.py);
        the app's Loader/WriterService is expected at ``self.loader``."""
        return settings_from_mapping(
            {
                "backends": {"redis": self.redis.url, "memcached": self.memcached.url},
                "namespaces": example_namespaces(self.loader),
            },
            self._environ,
        )

    def describe(self) -> dict[str, str]:
        """What dev mode started, for the log line that announces it."""
        return {
            "redis": self.redis.url,
            "memcached": self.memcached.url,
            "namespaces": DESCRIPTION,
            "loader": self.loader,
        }
