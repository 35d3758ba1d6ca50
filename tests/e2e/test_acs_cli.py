"""`parley call` as a command: outputs, exit codes (fake engines, so it is quick)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.audio.convert import read_wav
from bootstrap.cli import app

from .acs_support import REPO_ROOT, words

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The command configures logging onto CliRunner's stream; put the root logger back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def fake_env(tmp_path: Path) -> Path:
    env = tmp_path / "fake.env"
    env.write_text(
        "PARLEY_STT=fake\nPARLEY_TTS=fake\nPARLEY_LLM=fake\nPARLEY_VAD=fake\n"
        f"PARLEY_AGENTS_DIR={REPO_ROOT / 'agents'}\nPARLEY_LOG_LEVEL=WARNING\n"
    )
    return env


def test_parley_call_writes_the_agent_audio_and_transcripts(
    tmp_path: Path, shared_audio_dir: Path
) -> None:
    # Real recognition (the fake one hears nothing, and the agent would wait 8 s to re-prompt);
    # fake speech out keeps it quick.
    env = tmp_path / "local.env"
    env.write_text(
        f"PARLEY_TTS=fake\nPARLEY_LOG_LEVEL=WARNING\nPARLEY_AGENTS_DIR={REPO_ROOT / 'agents'}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "call",
            str(shared_audio_dir / "book_a_room.wav"),  # real time (test_wheel_install says why)
            "--out",
            str(out),
            "--env-file",
            str(env),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "transcript.json").read_text())
    assert data["ok"] and data["sample_rate_hz"] == 16000
    assert [t["caller"] for t in data["turns"]] == ["book_a_room.wav"]
    assert any(e["kind"] == "assistant" for e in data["transcript"])
    # The words, whatever the recogniser's case and punctuation (Whisper: "Book a Room").
    heard = [words(e["text"]) for e in data["transcript"] if e["kind"] == "user"]
    assert heard == [["book", "a", "room"]]
    # A one-turn call has its own server latency record (it used to be null: off by one).
    assert data["turns"][0]["server"]["voice_to_voice"] > 0
    assert "plotly" in (out / "call.html").read_text()[:200_000].lower()
    assert read_wav(out / "agent.wav").format.sample_rate_hz == 16000
    assert "reply on the wire" in (out / "transcript.txt").read_text()


def test_parley_call_exits_non_zero_on_a_missing_file(fake_env: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["call", str(tmp_path / "nope.wav"), "--env-file", str(fake_env)]
    )
    assert result.exit_code == 1


def test_parley_call_exits_non_zero_when_the_call_fails(tmp_path: Path) -> None:
    env = tmp_path / "bad.env"
    # --server names nothing listening: the Event Grid offer cannot be delivered.
    env.write_text(
        "PARLEY_STT=fake\nACS_CONNECTION_STRING=endpoint=http://127.0.0.1:0/;accesskey=a2V5\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "call",
            "--server",
            "http://127.0.0.1:9",
            "--out",
            str(tmp_path / "o"),
            "--env-file",
            str(env),
        ],
    )
    assert result.exit_code == 1, result.output
