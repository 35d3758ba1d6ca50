"""Fixtures of the harness tests: the example bank agents, copied when a test breaks them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BANK = REPO_ROOT / "agents"


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    """A copy of the bank agents folder (prompts, tools, scenarios) a test may break."""
    target = tmp_path / "agents"
    shutil.copytree(BANK, target)
    return target
