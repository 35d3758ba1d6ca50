"""PARLEY_RUNTIME_*: the call runtime's knobs from settings, and the rules where two overlap."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.containers import build_container
from bootstrap.runtime_settings import runtime_config, runtime_knobs, runtime_warnings
from bootstrap.settings import Settings, SettingsError, load_settings
from domain.runtime import RuntimeConfig


def settings_with(env: Path, text: str) -> Settings:
    env.write_text(text)
    return load_settings(env)


def test_an_empty_env_gives_the_runtime_defaults_but_the_server_idle_timeout(
    clean_env: Path,
) -> None:
    config = runtime_config(settings_with(clean_env, ""))
    # The end-of-turn model is on by default: a short pause starts the final's decode.
    assert config == RuntimeConfig(media_idle_timeout_ms=30_000.0, speech_stop_ms=150.0)


def test_without_an_end_of_turn_model_the_vad_waits_the_runtime_default(clean_env: Path) -> None:
    settings = settings_with(clean_env, "PARLEY_TURN=off\n")
    assert runtime_config(settings).speech_stop_ms == RuntimeConfig().speech_stop_ms
    sources = {k.field: k.source for k in runtime_knobs(settings)}
    assert sources["speech_stop_ms"] == "default"


def test_with_an_end_of_turn_model_the_short_pause_is_shown_with_its_source(
    clean_env: Path,
) -> None:
    settings = settings_with(clean_env, "PARLEY_TURN=smart_turn\n")
    sources = {k.field: (k.value, k.source) for k in runtime_knobs(settings)}
    assert sources["speech_stop_ms"] == (150.0, "PARLEY_TURN=smart_turn")
    explicit = settings_with(clean_env, "PARLEY_RUNTIME_SPEECH_STOP_MS=400\n")
    assert runtime_config(explicit).speech_stop_ms == 400.0


def test_every_knob_set_in_the_env_reaches_the_runtime(clean_env: Path) -> None:
    settings = settings_with(
        clean_env,
        "PARLEY_RUNTIME_PACING_LEAD_MS=40\nPARLEY_RUNTIME_SPEECH_STOP_MS=350\n"
        "PARLEY_RUNTIME_MEDIA_IDLE_TIMEOUT_MS=0\nPARLEY_RUNTIME_LANGUAGE=de-DE\n",
    )
    config = build_container(settings).runtime.config()
    assert (config.pacing_lead_ms, config.speech_stop_ms) == (40.0, 350.0)
    assert (config.media_idle_timeout_ms, config.language) == (0.0, "de-DE")
    sources = {k.field: k.source for k in runtime_knobs(settings)}
    assert sources["media_idle_timeout_ms"] == "PARLEY_RUNTIME_MEDIA_IDLE_TIMEOUT_MS"
    assert sources["token_timeout_ms"] == "default"


def test_a_bad_knob_fails_at_start_naming_its_env_key(clean_env: Path) -> None:
    with pytest.raises(SettingsError) as info:
        settings_with(
            clean_env, "PARLEY_RUNTIME_VAD_THRESHOLD=2\nPARLEY_RUNTIME_WATCHDOG_TICK_MS=0\n"
        )
    assert "PARLEY_RUNTIME_VAD_THRESHOLD" in str(info.value)
    assert "PARLEY_RUNTIME_WATCHDOG_TICK_MS" in str(info.value)


def test_the_openai_first_token_timeout_governs_the_runtime_deadline_plus_a_margin(
    clean_env: Path,
) -> None:
    settings = settings_with(clean_env, "PARLEY_LLM=openai\nOPENAI_FIRST_TOKEN_TIMEOUT_S=10\n")
    assert runtime_config(settings).first_token_timeout_ms == 11_000.0
    assert runtime_warnings(settings) == []


def test_an_explicit_runtime_first_token_deadline_wins_and_a_short_one_is_flagged(
    clean_env: Path,
) -> None:
    settings = settings_with(
        clean_env,
        "PARLEY_LLM=azure_openai\nAZURE_OPENAI_FIRST_TOKEN_TIMEOUT_S=10\n"
        "PARLEY_RUNTIME_FIRST_TOKEN_TIMEOUT_MS=4000\n",
    )
    assert runtime_config(settings).first_token_timeout_ms == 4000.0
    (warning,) = runtime_warnings(settings)
    assert "PARLEY_RUNTIME_FIRST_TOKEN_TIMEOUT_MS" in warning
    assert "AZURE_OPENAI_FIRST_TOKEN_TIMEOUT_S" in warning


def test_the_offline_model_keeps_the_runtime_default_first_token_deadline(
    clean_env: Path,
) -> None:
    settings = settings_with(clean_env, "PARLEY_LLM=offline\n")
    assert runtime_config(settings).first_token_timeout_ms == RuntimeConfig().first_token_timeout_ms
