"""The capability matrix in docs/architecture.md says what the components declare."""

from __future__ import annotations

import re
from pathlib import Path

from tests.contracts.support import COMPONENTS, INTERFACES, declared

_ROOT = Path(__file__).resolve().parents[2]
_DOC = _ROOT / "docs" / "architecture.md"
_BLOCK = re.compile(r"<!-- capability-matrix:begin -->\n(.*?)<!-- capability-matrix:end -->", re.S)


def _rows() -> tuple[list[str], list[list[str]]]:
    found = _BLOCK.search(_DOC.read_text())
    assert found, f"{_DOC} has no capability-matrix block"
    lines = [line.strip() for line in found.group(1).strip().splitlines()]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return cells[0], cells[2:]  # header, then rows after the alignment line


def test_the_docs_matrix_matches_the_declarations() -> None:
    header, rows = _rows()
    columns = header[1 : 1 + len(COMPONENTS)]
    assert columns == list(COMPONENTS), header
    documented = {}
    for row in rows:
        name = re.match(r"`(\w+)`", row[0])
        assert name, row
        documented[name.group(1)] = dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
    expected = {"Backend": dict.fromkeys(COMPONENTS, "yes")}
    for interface in INTERFACES:
        expected[interface.__name__] = {
            c: "yes" if interface in declared(c) else "no" for c in COMPONENTS
        }
    assert documented == expected


def test_every_row_names_a_suite_that_runs_it() -> None:
    _, rows = _rows()
    for row in rows:
        suite = Path(__file__).parent / row[-1].strip("`")
        assert suite.is_file(), row
        interface = row[0].split("`")[1]
        if interface != "Backend":  # the core suite runs against every component unmarked
            assert re.search(rf"needs\([^)]*\b{interface}\b", suite.read_text()), (suite, interface)
