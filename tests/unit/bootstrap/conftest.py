"""Fixtures for bootstrap tests: a clean environment for settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.settings import all_env_keys


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Parley key in the environment; returns a path for a (not yet written) .env."""
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    # Call records (SQLite by default) go to the test's folder, not the working directory.
    monkeypatch.setenv("PARLEY_RECORDS_DIR", str(tmp_path / "records"))
    return tmp_path / ".env"
