"""What the soak run reads about the sidecar process from ``/proc`` (Linux, no psutil).

- RSS and threads from ``/proc/<pid>/status``;
- open file descriptors: the entries of ``/proc/<pid>/fd``;
- TCP connections: the process's socket inodes (``socket:[N]`` fd links)
  looked up in ``/proc/<pid>/net/tcp`` and ``tcp6``, so only *its*
  connections count, each classified by the peer's port.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ProcSample", "sample_process"]

_ESTABLISHED = "01"
_LISTEN = "0A"


@dataclass(frozen=True)
class ProcSample:
    rss_kib: int
    threads: int
    fds: int
    sockets: int
    #: ESTABLISHED TCP connections by peer role (see ``sample_process``'s ``roles``).
    conns: Counter[str] = field(default_factory=Counter)
    listening: int = 0

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024

    @property
    def established(self) -> int:
        return sum(self.conns.values())


def _status(pid: int) -> tuple[int, int]:
    rss = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, threads


def _socket_inodes(pid: int) -> tuple[int, set[str]]:
    fd_dir = f"/proc/{pid}/fd"
    names = os.listdir(fd_dir)
    inodes: set[str] = set()
    for name in names:
        with contextlib.suppress(OSError):  # closed between listdir and readlink
            target = os.readlink(f"{fd_dir}/{name}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return len(names), inodes


def _tcp_table(pid: int) -> dict[str, tuple[int, int, str]]:
    """inode -> (local port, remote port, state) for every TCP socket in the namespace."""
    table: dict[str, tuple[int, int, str]] = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10:
                continue
            local_port = int(parts[1].rpartition(":")[2], 16)
            remote_port = int(parts[2].rpartition(":")[2], 16)
            table[parts[9]] = (local_port, remote_port, parts[3])
    return table


def sample_process(pid: int, roles: Mapping[int, str], listen_port: int) -> ProcSample:
    """One reading of ``pid``. ``roles`` names peers by their port (redis, memcached,
    app…); a connection to ``listen_port`` (a client of the sidecar) is ``clients``."""
    rss, threads = _status(pid)
    fds, inodes = _socket_inodes(pid)
    table = _tcp_table(pid)
    conns: Counter[str] = Counter()
    listening = 0
    for inode in inodes:
        entry = table.get(inode)
        if entry is None:
            continue  # a unix socket, an eventfd pair…
        local_port, remote_port, state = entry
        if state == _LISTEN:
            listening += 1
        elif state == _ESTABLISHED:
            if local_port == listen_port:
                conns["clients"] += 1
            else:
                conns[roles.get(remote_port, "other")] += 1
    return ProcSample(rss, threads, fds, len(inodes), conns, listening)
