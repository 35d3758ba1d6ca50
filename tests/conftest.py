"""Fixtures shared by every test suite."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """The shared/ folder with real speech clips, or None when absent.

    PARLEY_SHARED_DIR overrides the default ``<repo>/../shared``.
    """
    path = Path(os.environ.get("PARLEY_SHARED_DIR", REPO_ROOT.parent / "shared"))
    return path if (path / "audio" / "manifest.json").is_file() else None


@pytest.fixture(scope="session")
def shared_audio_dir() -> Path:
    """The folder of real human speech clips; skips (or fails in CI) when missing."""
    path = shared_dir()
    if path is None:
        if os.environ.get("PARLEY_REQUIRE_SHARED") == "1":
            pytest.fail("shared/audio is required (PARLEY_REQUIRE_SHARED=1) but was not found")
        pytest.skip("shared/audio not found; set PARLEY_SHARED_DIR")
    return path / "audio"


@pytest.fixture(scope="session")
def speech_manifest(shared_audio_dir: Path) -> list[dict[str, Any]]:
    """Entries of shared/audio/manifest.json (keys: file, dur, ref, hyp, wer, ...)."""
    data = json.loads((shared_audio_dir / "manifest.json").read_text())
    return list(data if isinstance(data, list) else data.get("clips", data))


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cyclic garbage collector off for the test (reference counting alone frees)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(scope="session", autouse=True)
def call_records_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``PARLEY_RECORDS_DIR`` for the whole session: call records (SQLite by default) and own
    recordings of in-process servers go to a temp folder, never the working directory."""
    path = tmp_path_factory.mktemp("records")
    before = os.environ.get("PARLEY_RECORDS_DIR")
    os.environ["PARLEY_RECORDS_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("PARLEY_RECORDS_DIR", None)
    else:
        os.environ["PARLEY_RECORDS_DIR"] = before


# Real-server fixtures shared by the contract and end-to-end suites.
from tests.fixtures.postgres_server import (  # noqa: E402, F401
    postgres_server_process,
    postgres_url,
)
from tests.fixtures.redis_server import redis_server, redis_server_process  # noqa: E402, F401
