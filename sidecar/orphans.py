"""Children that die with their parent: the PR_SET_PDEATHSIG exec shim.

Standard library only, because the ``workers:`` supervisor imports it and is
kept free of the data plane (see sidecar/workers.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

__all__ = ["dies_with_parent"]

# Runs in the child between fork and exec; a shim instead of ``preexec_fn``
# because preexec_fn is unsafe with threads. PDEATHSIG survives execve, and the
# getppid check closes the race where the parent died before prctl ran.
_PDEATHSIG_SHIM = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def dies_with_parent(cmd: Sequence[str]) -> list[str]:
    """``cmd`` (absolute executable first) wrapped so the child gets SIGTERM when
    this process dies, even by SIGKILL (Linux; elsewhere ``cmd`` unchanged)."""
    if sys.platform == "linux" and sys.executable:
        return [sys.executable, "-I", "-S", "-c", _PDEATHSIG_SHIM, str(os.getpid()), *cmd]
    return list(cmd)
