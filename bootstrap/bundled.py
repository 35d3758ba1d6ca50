"""What ships inside Parley besides code: the example agents, and the installed version.

The example agents (the bank scenario: YAML, Jinja prompts and ``tools.py``) are the
repository's ``agents/`` folder. In a wheel the build copies them to ``parley/_bundled/agents``
(``build_support/parley_build.py``); in a source checkout they are the folder itself. Either
way :func:`bundled_agents_dir` finds them from this file's place, so ``parley check``,
``parley demo``, ``parley call`` and ``parley serve`` work from an empty folder, and
``parley init DIR`` copies them into a folder the user then edits.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

__all__ = [
    "DISTRIBUTION",
    "StarterExistsError",
    "bundled_agents_dir",
    "parley_version",
    "write_starter_agents",
]

DISTRIBUTION = "parley"
"""The distribution name (``pip install parley``); its metadata holds the one version."""

_MARKER = "conversation.yaml"


def bundled_agents_dir() -> Path:
    """The example agents folder shipped with Parley.

    Returns:
        ``<site-packages>/parley/_bundled/agents`` in an installed wheel, the repository's
        ``agents/`` in a source checkout (editable install).

    Raises:
        FileNotFoundError: Neither exists (a broken installation).
    """
    here = Path(__file__).resolve().parent  # .../bootstrap or .../parley/bootstrap
    candidates = (here.parent / "_bundled" / "agents", here.parent / "agents")
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    raise FileNotFoundError(
        "the example agents are missing from this installation: looked in "
        + ", ".join(str(c) for c in candidates)
    )


class StarterExistsError(FileExistsError):
    """``parley init`` would overwrite a folder that already has files."""


def write_starter_agents(destination: Path, *, force: bool = False) -> list[Path]:
    """Copy the example agents into ``destination`` (created), for the user to edit.

    Args:
        destination: The new agents folder.
        force: Overwrite files of the same name in a folder that is not empty.

    Returns:
        The files written, sorted.

    Raises:
        StarterExistsError: ``destination`` exists, is not empty and ``force`` is false.
        FileNotFoundError: The installation has no example agents.
    """
    source = bundled_agents_dir()
    if destination.exists() and any(destination.iterdir()) and not force:
        raise StarterExistsError(f"{destination} is not empty (use --force to overwrite)")
    shutil.copytree(
        source,
        destination,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"),
    )
    return sorted(p for p in destination.rglob("*") if p.is_file())


def parley_version() -> str:
    """The installed distribution's version (``pyproject.toml`` ``[project] version``).

    Returns:
        The version string, or ``"0+unknown"`` when Parley runs without being installed.
    """
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
