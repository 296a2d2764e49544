"""ErrorInfo reasons are one list: ``ErrorReason`` in protos/cachecar/v1/error_reason.proto.

The sidecar may only use its value names (checked here over the source, and at
run time by CacheCarError), and docs/errors.md's table lists exactly those
names, each under the status code its proto comment names.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import grpc
import pytest
from cachecar.v1 import error_reason_pb2
from google.protobuf import descriptor_pb2

from sidecar.callbacks import translate
from sidecar.errors import REASONS, CacheCarError, InvalidArgument, Reason

ROOT = Path(__file__).resolve().parent.parent
_STATUS_CODES = {code.name for code in grpc.StatusCode}


@dataclass(frozen=True)
class Found:
    """A reason written in the source: a literal, or an f-string's regex."""

    where: str
    text: str
    pattern: bool = False

    def valid(self) -> bool:
        if not self.pattern:
            return self.text in REASONS
        return any(re.fullmatch(self.text, name) for name in REASONS)


def _reason_params(trees: dict[str, ast.Module]) -> dict[str, set[int]]:
    """Function name -> the positional index of its ``reason`` parameter
    (``self``/``cls`` not counted), for every def in the source that has one."""
    found: dict[str, set[int]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names[:1] in (["self"], ["cls"]):
                names = names[1:]
            if "reason" in names:
                found.setdefault(node.name, set()).add(names.index("reason"))
    return found


def _values(node: ast.expr, constants: dict[str, str]) -> list[tuple[str, bool]]:
    """The reason strings (or f-string patterns) an expression can evaluate to;
    [] for what is not written in place (a parameter, an attribute)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value, False)]
    if isinstance(node, ast.Name) and node.id in constants:
        return [(constants[node.id], False)]
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(part.value)
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
            else "[A-Z0-9_]+"
            for part in node.values
        ]
        return [("".join(parts), True)]
    if isinstance(node, ast.IfExp):
        return _values(node.body, constants) + _values(node.orelse, constants)
    return []


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def scan(trees: dict[str, ast.Module]) -> list[Found]:
    """Every reason written in ``trees`` (path -> module): ``reason=`` arguments,
    positional arguments in a ``reason`` parameter's place, ``reason`` and
    ``default_reason`` assignments, and module constants passed as a reason."""
    params = _reason_params(trees)
    found: list[Found] = []
    for path, tree in trees.items():
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        written: list[tuple[int, ast.expr]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                written += [(node.lineno, k.value) for k in node.keywords if k.arg == "reason"]
                for index in params.get(_call_name(node), ()):
                    if index < len(node.args):
                        written.append((node.lineno, node.args[index]))
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if names & {"reason", "default_reason"} and node.value is not None:
                    written.append((node.lineno, node.value))
        for line, expr in written:
            found += [Found(f"{path}:{line}", text, pat) for text, pat in _values(expr, constants)]
    return found


def _sidecar_trees() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(), str(path))
        for path in sorted((ROOT / "sidecar").rglob("*.py"))
    }


def test_every_reason_written_in_the_sidecar_is_an_error_reason() -> None:
    found = scan(_sidecar_trees())
    bad = [f"{f.where}: {f.text}" for f in found if not f.valid()]
    assert not bad, "reasons that are not ErrorReason values:\n" + "\n".join(bad)
    literals = {f.text for f in found if not f.pattern}
    # The scan sees the call sites, not just the defaults: a sanity floor.
    assert {"NAMESPACE_UNKNOWN", "QUEUE_FULL", "RESUME_ID_INVALID", "INTERNAL"} <= literals
    assert any(f.pattern for f in found)  # callbacks.py's f"{upper}_UNAVAILABLE"


def test_the_scan_catches_a_reason_outside_the_enum() -> None:
    source = """
HELPER_REASON = "NOT_A_REASON_1"
def _invalid(ns, message, reason): ...
class Mine(InvalidArgument):
    default_reason = "NOT_A_REASON_2"
def f(what):
    raise InvalidArgument("m", reason="NOT_A_REASON_3")
    raise _invalid(ns, "m", "NOT_A_REASON_4")
    reason = "NOT_A_REASON_5" if what else "KEY_INVALID"
    raise InvalidArgument("m", reason=HELPER_REASON)
    raise InvalidArgument("m", reason=f"{what}_NOT_A_REASON_6")
"""
    found = scan({"x.py": ast.parse(source)})
    bad = sorted(f.text for f in found if not f.valid())
    assert bad == [
        "NOT_A_REASON_1",
        "NOT_A_REASON_2",
        "NOT_A_REASON_3",
        "NOT_A_REASON_4",
        "NOT_A_REASON_5",
        "[A-Z0-9_]+_NOT_A_REASON_6",
    ]
    assert [f.text for f in found if f.valid()] == ["KEY_INVALID"]


def test_reason_is_the_generated_enum() -> None:
    assert Reason is error_reason_pb2.ErrorReason
    assert Reason.Value("ERROR_REASON_UNSPECIFIED") == 0
    assert set(Reason.keys()) - {"ERROR_REASON_UNSPECIFIED"} == REASONS
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in REASONS)


def test_an_error_refuses_a_reason_outside_the_enum() -> None:
    assert InvalidArgument("m", reason="KEY_INVALID").reason == "KEY_INVALID"
    assert InvalidArgument("m", reason=Reason.KEY_INVALID).reason == "KEY_INVALID"
    assert InvalidArgument("m").reason == "ARGUMENT_INVALID"
    with pytest.raises(ValueError, match="KEY_INVALD"):
        InvalidArgument("m", reason="KEY_INVALD")
    with pytest.raises(ValueError, match="ERROR_REASON_UNSPECIFIED"):
        InvalidArgument("m", reason=Reason.ERROR_REASON_UNSPECIFIED)
    with pytest.raises(ValueError, match="NOT_A_REASON"):

        class _Bad(CacheCarError):
            default_reason = "NOT_A_REASON"


@pytest.mark.parametrize("role", ["loader", "writer"])
@pytest.mark.parametrize(
    ("code", "suffix"),
    [
        (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "TIMEOUT"),
        (grpc.StatusCode.INTERNAL, "FAILED"),
    ],
)
def test_app_callback_reasons_are_error_reasons(
    role: str, code: grpc.StatusCode, suffix: str
) -> None:
    """callbacks.py builds these names from the role, so no scan can read them."""
    exc = grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "app said no")
    error = translate(exc, role=role, target="127.0.0.1:1", namespace="ns")
    assert error.reason == f"{role.upper()}_{suffix}"


def _proto_codes() -> dict[str, str]:
    """Reason -> the status code its comment in the proto opens with (the
    descriptors with source info that ``make gen`` writes next to the stubs)."""
    data = resources.files("cachecar.v1").joinpath("descriptors.binpb").read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    (file,) = [f for f in files if f.name == "cachecar/v1/error_reason.proto"]
    (enum,) = file.enum_type
    comments = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
    codes = {}
    for index, value in enumerate(enum.value):
        if value.number == 0:
            continue
        # Path to a value: enum_type (5), enum 0, value (2), its index.
        comment = comments[(5, 0, 2, index)].strip()
        first = comment.split(".", 1)[0]
        codes[value.name] = first if first in _STATUS_CODES else "the app's own code"
    return codes


def _docs_table(path: Path) -> dict[str, str]:
    """Reason -> the code column of its row, from the `| code | reasons |` table."""
    rows: dict[str, str] = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("code", "---"):
            continue
        code = cells[0].strip("`")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[1]):
            assert name not in rows, f"{name} is listed twice in {path.name}"
            rows[name] = code
    return rows


def test_docs_reason_table_lists_exactly_the_enum() -> None:
    table = _docs_table(ROOT / "docs" / "errors.md")
    assert set(table) == REASONS, (
        f"missing from docs/errors.md: {sorted(REASONS - set(table))}; "
        f"not in the enum: {sorted(set(table) - REASONS)}"
    )
    codes = _proto_codes()
    wrong = {name: (code, codes[name]) for name, code in table.items() if code != codes[name]}
    assert not wrong, f"docs row vs proto comment: {wrong}"


def test_readme_reason_table_if_any_lists_exactly_the_enum() -> None:
    """DESIGN: the README links to docs/errors.md rather than copy the reasons;
    should it grow a table of them, that table must be complete too."""
    table = _docs_table(ROOT / "README.md")
    assert not table or set(table) == REASONS
