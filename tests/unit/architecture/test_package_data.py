"""The web pages' static files ship in the wheel, so ``pip install parley`` serves them.

``[tool.setuptools.package-data]`` lists them by pattern; a new file type or folder under
``adapters/http/static`` that no pattern covers would be left out of the wheel silently.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "adapters" / "http"


def _glob_match(path: str, pattern: str) -> bool:
    """Glob semantics as setuptools uses them: ``*`` never crosses a ``/``."""
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(map(fnmatch.fnmatchcase, parts, wanted))


def test_every_static_file_is_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["adapters.http"]
    files = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "static").rglob("*")]
    shipped = [f for f in files if (PACKAGE / f).is_file()]
    assert shipped, "no static files found"
    left_out = [f for f in shipped if not any(_glob_match(f, p) for p in patterns)]
    assert left_out == []


def test_a_star_never_crosses_a_folder() -> None:
    assert _glob_match("static/talk.js", "static/*.js")
    assert not _glob_match("static/worklets/player.js", "static/*.js")
