"""Development mode declares every namespace the docs and the examples use.

``make examples`` runs the examples against plain development mode; this
catches the README and docs snippets too, which nothing runs: a namespace
named in one of them and missing from sidecar/dev_namespaces.py would answer
NAMESPACE_UNKNOWN to a reader trying it against ``make serve``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sidecar.config import settings_from_mapping
from sidecar.dev_namespaces import example_namespaces

ROOT = Path(__file__).resolve().parents[1]
#: namespace="x" (Python), namespace: 'x' (JS objects), cc.method("x", ...) / cc.method('x', ...).
_USES = [
    re.compile(r"""namespace\s*[=:]\s*["']([a-z][a-z0-9_-]*)["']"""),
    re.compile(r"""\bcc\.[A-Za-z_]+\(\s*["']([a-z][a-z0-9_-]*)["']"""),
]


def _sources() -> list[Path]:
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("clients/*/README.md")]
    files += [*ROOT.glob("clients/python/examples/*.py"), *ROOT.glob("clients/node/examples/*.js")]
    return files


def test_every_namespace_used_is_declared() -> None:
    used: dict[str, set[str]] = {}
    for path in _sources():
        text = path.read_text()
        for pattern in _USES:
            for name in pattern.findall(text):
                used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert {"products", "orders", "sessions", "games", "events"} <= set(used), used
    declared = set(example_namespaces("127.0.0.1:50071"))
    missing = {name: sorted(where) for name, where in used.items() if name not in declared}
    assert not missing, f"used but not declared in development mode: {missing}"


def test_the_dev_namespaces_validate() -> None:
    settings = settings_from_mapping(
        {
            "backends": {"redis": "redis://127.0.0.1:6379/0", "memcached": "memcached://127.0.0.1"},
            "namespaces": example_namespaces("127.0.0.1:50071"),
        },
        {},
    )
    assert settings.backends[settings.namespaces["products-mc"].backend].kind == "memcached"
    assert settings.namespaces["orders"].write_behind is not None
