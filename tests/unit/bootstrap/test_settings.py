"""Settings: defaults, .env reading, and errors that name the env key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bootstrap.settings import SettingsError, all_env_keys, load_settings, unknown_keys

REPO = Path(__file__).resolve().parents[3]


def test_empty_env_file_gives_the_embedded_default(clean_env: Path) -> None:
    clean_env.write_text("")
    settings = load_settings(clean_env)
    chosen = settings.providers
    assert (chosen.stt, chosen.tts, chosen.llm, chosen.vad, chosen.turn, chosen.store) == (
        "whisper",
        "piper",
        "offline",
        "silero",
        "smart_turn",
        "memory",
    )


def test_missing_env_file_is_fine(clean_env: Path) -> None:
    assert load_settings(clean_env).server.port == 8000


def test_values_are_read_from_the_env_file(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_STT=fake\nPARLEY_PORT=9001\nAZURE_SPEECH_KEY=abc\n")
    settings = load_settings(clean_env)
    assert settings.providers.stt == "fake"
    assert settings.server.port == 9001
    assert settings.azure_speech.key is not None
    assert settings.azure_speech.key.get_secret_value() == "abc"


def test_environment_wins_over_env_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text("PARLEY_PORT=9001\n")
    monkeypatch.setenv("PARLEY_PORT", "9002")
    assert load_settings(clean_env).server.port == 9002


def test_empty_values_copied_from_the_example_mean_default(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_TOOLS_MODULE=\nPARLEY_PORT=\n")
    settings = load_settings(clean_env)
    assert settings.server.port == 8000
    assert settings.server.resolved_tools_module() == Path("agents/tools.py")


def test_bad_value_error_names_the_env_key(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_PORT=eighty\n")
    with pytest.raises(SettingsError, match="PARLEY_PORT") as info:
        load_settings(clean_env)
    assert "eighty" in str(info.value)


def test_bad_selection_value_lists_the_allowed_values(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_LLM=gpt\n")
    with pytest.raises(SettingsError) as info:
        load_settings(clean_env)
    assert "PARLEY_LLM" in str(info.value)
    assert "'offline'" in str(info.value)


def test_every_bad_key_is_reported_at_once(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_PORT=x\nPARLEY_VAD=bogus\nLOCAL_VAD_AGGRESSIVENESS=9\n")
    with pytest.raises(SettingsError) as info:
        load_settings(clean_env)
    keys = {p.split(":")[0] for p in info.value.problems}
    assert keys == {"PARLEY_PORT", "PARLEY_VAD", "LOCAL_VAD_AGGRESSIVENESS"}


def test_a_bad_secret_is_named_but_never_echoed(clean_env: Path) -> None:
    clean_env.write_text("REDIS_URL=\nPARLEY_PORT=1\n")
    load_settings(clean_env)  # empty secret means default: no error
    assert "REDIS_URL" in all_env_keys()


def test_log_level_is_case_insensitive(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_LOG_LEVEL=debug\n")
    assert load_settings(clean_env).server.log_level == "DEBUG"


def test_secret_values_are_collected_for_redaction(clean_env: Path) -> None:
    clean_env.write_text(
        "AZURE_OPENAI_API_KEY=k-123\nACS_CONNECTION_STRING=endpoint=https://x;accesskey=y\nACS_RESOURCE_ID=r\n"
    )
    secrets = load_settings(clean_env).secret_values()
    assert "k-123" in secrets
    assert "endpoint=https://x;accesskey=y" in secrets


def test_env_example_lists_every_key_with_a_comment() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    listed = {}
    for index, line in enumerate(lines):
        match = re.match(r"^([A-Z0-9_]+)=", line)
        if match:
            listed[match.group(1)] = lines[index - 1].startswith("#")
    assert set(listed) == set(all_env_keys())
    assert all(listed.values()), [k for k, v in listed.items() if not v]


def test_env_example_itself_is_valid_settings(clean_env: Path) -> None:
    clean_env.write_text((REPO / ".env.example").read_text())
    assert load_settings(clean_env).providers.llm == "offline"


def test_unknown_keys_with_a_known_prefix_are_spotted() -> None:
    assert unknown_keys(["PARLEY_STTT", "PARLEY_STT", "HOME", "REDIS_URL"]) == ["PARLEY_STTT"]
