"""Secrets never reach the logs: a scan of everything logged during the whole run.

Tests that use a secret (a caller token, a backend password, a session id)
call :func:`remember_secret`. Every log record of the run, from any logger,
with cachecar's own loggers at DEBUG, is formatted as the sidecar formats it
(JSON, extra fields included) and kept; when the session ends, any remembered
secret found in those lines fails the run and names the line. Spans, metrics
and error messages are scanned by ``tests/test_security.py``'s secrecy test.
"""

from __future__ import annotations

import logging

import pytest

from sidecar.telemetry.logs import JsonFormatter

__all__ = ["captured_log_lines", "remember_secret"]

_SECRETS: set[str] = set()
_LINES: list[str] = []


def remember_secret(value: str) -> None:
    """Fail the run if ``value`` is ever logged."""
    if value:
        _SECRETS.add(value)


def captured_log_lines() -> list[str]:
    return list(_LINES)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _LINES.append(self.format(record))
        except Exception:  # noqa: BLE001  (a log line must never fail a test by itself)
            self.handleError(record)


_HANDLER = _Capture()


def _install() -> None:
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    logging.getLogger("cachecar").setLevel(logging.DEBUG)


def pytest_sessionstart(session: pytest.Session) -> None:
    _install()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Again before every test: `cachecar` run in-process (setup_logging)
    # replaces the root logger's handlers.
    _install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    leaks = [(s, line) for line in _LINES for s in _SECRETS if s in line]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"secret scan: {len(_SECRETS)} secrets checked against {len(_LINES)} log lines, "
            f"{len(leaks)} leaks"
        )
        for secret, line in leaks[:20]:
            reporter.write_line(f"  LEAK of {secret[:4]}...: {line[:300]}", red=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
