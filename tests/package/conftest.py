"""Fixtures of the packaging and deployment tests: the build helpers, loaded by path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_build_module(name: str) -> ModuleType:
    """A module of ``build_support/`` (not a package: the PEP 517 backend path), by path."""
    spec = importlib.util.spec_from_file_location(name, REPO / "build_support" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def relocate() -> ModuleType:
    """``build_support/parley_relocate.py``."""
    return load_build_module("parley_relocate")
