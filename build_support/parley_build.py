"""Parley's in-tree PEP 517 build backend: setuptools, plus one step in ``build_py``.

``pyproject.toml`` names this module as the backend (``backend-path = ["build_support"]``)
and :class:`BuildPy` as setuptools' ``build_py`` command. Every PEP 517 hook is setuptools'
own; the only difference is what lands in the wheel (docs/adr/0007-one-import-package.md):

1. setuptools copies the packages and their data into its build directory, as usual;
2. :func:`parley_relocate.relocate_tree` moves ``domain``, ``ports``, ``adapters`` and
   ``bootstrap`` under ``parley/`` and rewrites their absolute imports and dotted-path strings;
3. the example agents (``agents/``: YAML, Jinja prompts, ``tools.py``) are copied to
   ``parley/_bundled/agents``, where :func:`bootstrap.bundled.bundled_agents_dir` finds them;
4. the metadata's ``top_level.txt`` names the one import package, ``parley``
   (``importlib.metadata.packages_distributions()`` reads it).

Editable installs (``pip install -e``, what ``make install`` does) skip steps 2 and 3: the
repository's own top-level folders are imported as they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from parley_relocate import NAMESPACE, relocate_tree
from setuptools.build_meta import (  # noqa: F401 (the PEP 517 hooks this backend exposes)
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

BUNDLED_AGENTS = Path(NAMESPACE, "_bundled", "agents")
"""Where the example agents go inside the wheel (relative to site-packages)."""

_SKIP = shutil.ignore_patterns("__pycache__", "*.py[co]")


class BuildPy(build_py):
    """setuptools' ``build_py``, then the relocation under ``parley`` (wheels only)."""

    def run(self) -> None:
        """Copy packages and data as setuptools does; then relocate and bundle the agents."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        build_lib = Path(self.build_lib)
        agents = Path.cwd() / "agents"
        if not (agents / "conversation.yaml").is_file():
            raise FileNotFoundError(f"{agents}: the example agents are missing from the source")
        bundled = build_lib / BUNDLED_AGENTS
        if bundled.exists():
            shutil.rmtree(bundled)
        shutil.copytree(agents, bundled, ignore=_SKIP)
        relocate_tree(build_lib)


class BdistWheel(bdist_wheel):
    """setuptools' ``bdist_wheel``; the dist-info's ``top_level.txt`` says ``parley`` only."""

    def egg2dist(self, egginfo_path: str, distinfo_path: str) -> None:
        """Convert the egg-info as setuptools does, then correct ``top_level.txt``."""
        super().egg2dist(egginfo_path, distinfo_path)
        top_level = Path(distinfo_path) / "top_level.txt"
        if top_level.is_file():
            top_level.write_text(f"{NAMESPACE}\n", encoding="utf-8")
