"""The floors: ports import only the standard library; domain only the stdlib and ports.

import-linter forbids named packages; this test closes the gap by allowing only the standard
library (``sys.stdlib_module_names``) and the permitted first-party floors, so a new
third-party import in the core fails here even if nobody thought to forbid it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ALLOWED = {"ports": {"ports"}, "domain": {"ports", "domain"}}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("floor", sorted(ALLOWED))
def test_core_floor_imports_only_the_standard_library_and_lower_floors(floor: str) -> None:
    offenders = []
    for path in sorted((REPO / floor).rglob("*.py")):
        for root in _imported_roots(path):
            # _typeshed: the standard library's own stubs, importable only under TYPE_CHECKING.
            if root in sys.stdlib_module_names or root in ("__future__", "_typeshed"):
                continue
            if root not in ALLOWED[floor]:
                offenders.append(f"{path.relative_to(REPO)} imports {root}")
    assert offenders == []


def test_the_checker_sees_a_third_party_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import numpy\nfrom ports import AudioFrame\n")
    assert _imported_roots(module) == {"numpy", "ports"}
