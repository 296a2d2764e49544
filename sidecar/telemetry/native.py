"""What native code writes to stderr, turned into log lines of the sidecar's format.

gRPC's C core (through absl logging) writes its own lines, such as a GOAWAY
received or a failed bind, straight to file descriptor 2, bypassing Python's
logging. Between JSON log lines those break every log collector that parses
one JSON object per line. :func:`route_native_stderr` points fd 2 at a pipe
and a thread re-emits each line through the ``grpc.core`` logger (level
taken from absl's E/W/I prefix); Python's own ``sys.stderr`` keeps the
original descriptor. Lines that already are JSON objects (the log of a
worker process, which inherits fd 2) pass through unchanged.

Verbosity stays gRPC's (``GRPC_VERBOSITY``, errors only by default;
``GRPC_TRACE`` for more): this only changes where the lines go.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading

__all__ = ["route_native_stderr", "unroute_native_stderr"]

log = logging.getLogger("grpc.core")
#: absl's notice that it was not initialised: says nothing about the sidecar.
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog()"
_LEVELS = {"E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "F": logging.CRITICAL}


def _emit(line: str, out: int) -> None:
    stripped = line.strip()
    if not stripped or stripped.startswith(_ABSL_PREAMBLE):
        return
    if stripped.startswith("{") and stripped.endswith("}"):
        os.write(out, (stripped + "\n").encode())
        return
    # absl: "E1204 16:50:01.123456   123 chttp2_transport.cc:1234] message".
    head, sep, message = stripped.partition("] ")
    level = _LEVELS.get(stripped[0], logging.WARNING) if sep and " " in head else logging.WARNING
    source = head.rsplit(" ", 1)[-1] if sep else ""
    if not sep:
        message = stripped
    log.log(level, message, extra={"source": source} if source else None)


def _pump(read_end: int, out: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                _emit(raw.decode(errors="replace"), out)
        if pending:
            _emit(pending.decode(errors="replace"), out)


#: fd 2 as it was before route_native_stderr, while routed.
_original: int | None = None


def unroute_native_stderr() -> bool:
    """Give fd 2 back its original target, before an ``exec`` (the pump thread
    would not survive it, and nothing would read the pipe); whether it was routed."""
    global _original  # noqa: PLW0603  (once per process, like the routing itself)
    if _original is None:
        return False
    with contextlib.suppress(AttributeError, ValueError):
        sys.stderr.flush()
    os.dup2(_original, 2)
    _original = None
    return True


def route_native_stderr() -> None:
    """Point fd 2 at the log (call before logging is set up; once per process)."""
    global _original  # noqa: PLW0603
    with contextlib.suppress(AttributeError, ValueError):
        sys.stderr.flush()
    original = _original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    # Python's writes (the log handler, a last-resort traceback) go straight out.
    sys.stderr = os.fdopen(original, "w", buffering=1, closefd=False)
    pump = threading.Thread(
        target=_pump, args=(read_end, original), name="native-stderr", daemon=True
    )
    pump.start()

    def finish() -> None:
        # Closing our write end lets the pump read what is left, then stop.
        os.dup2(original, 2)
        pump.join(timeout=1.0)

    atexit.register(finish)
