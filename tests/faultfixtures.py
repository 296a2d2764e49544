"""The autouse fixtures of the fault modules (tests/test_faults.py, tests/test_cluster_failover.py).

Each module imports both, so they apply there and nowhere else: the fault table
is printed at the end of a session that recorded a row, and a test that failed
mid-fault leaves no workload running into the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.faulttable import cancel_leftovers, install_reporter


@pytest.fixture(autouse=True, scope="module")
def _fault_table(pytestconfig: pytest.Config) -> None:
    install_reporter(pytestconfig)


@pytest.fixture(autouse=True)
async def _no_leftover_workload() -> AsyncIterator[None]:
    yield
    await cancel_leftovers()
