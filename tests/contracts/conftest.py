"""The ``component`` fixture: a real component on a real server, per declaration.

``component`` is parametrised at collection from the components'
declarations (``support.declared``): a test marked
``@pytest.mark.capability(I, ...)`` runs against exactly the components that
declare every listed interface; an unmarked one (the core) against all of
them; a test that also takes ``lacking`` runs once per (component, interface)
pair that is *not* declared. Servers are the session-wide ones of
tests/conftest.py (a 3-master cluster), flushed per test; keys are unique per
test as well (``keys``), so a suite never depends on an empty server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from sidecar.backends.base import Backend
from sidecar.backends.registry import open_backend
from sidecar.config import BackendSettings
from sidecar.patterns.keys import KeyLayout
from tests.contracts.support import declaring, undeclared


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capability(*interfaces): run against the components declaring them"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "component" not in metafunc.fixturenames:
        return
    if "lacking" in metafunc.fixturenames:
        pairs = undeclared()
        metafunc.parametrize(
            ("component", "lacking"),
            pairs,
            indirect=["component"],
            ids=[f"{c}-{i.__name__}" for c, i in pairs],
        )
        return
    marker = metafunc.definition.get_closest_marker("capability")
    interfaces = marker.args if marker else ()
    names = declaring(*interfaces)
    if not names:
        # An empty parameter list would be reported as a skip: say it instead.
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: no component declares "
            f"{', '.join(i.__name__ for i in interfaces)}"
        )
    metafunc.parametrize("component", names, indirect=True, ids=names)


@pytest.fixture
async def component(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The component named by the parameter, opened the way the sidecar opens it."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    backend = open_backend("contract", BackendSettings(url=url))
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
def keys() -> KeyLayout:
    """The stored-key layout of a namespace no other test uses."""
    return KeyLayout(b"cc:", f"t{uuid.uuid4().hex[:12]}")
