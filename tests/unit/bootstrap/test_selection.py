"""Provider selection: every setting value picks its adapter, or is rejected naming the key."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from adapters.memory import ManualClock
from bootstrap.agents import load_agents
from bootstrap.factories import BuildContext, open_adapter
from bootstrap.selection import (
    SELECTION_TABLE,
    SETTING_OF,
    AdapterOption,
    SelectionError,
    check_selection,
    missing_keys,
    module_problem,
    selected_option,
)
from bootstrap.settings import ProviderSelection, load_settings

REPO = Path(__file__).resolve().parents[3]

EXPECTED = {
    ("stt", "whisper"): "WhisperSpeechToText",
    ("stt", "local"): "PocketsphinxSpeechToText",
    ("stt", "fake"): "FakeSpeechToText",
    ("tts", "piper"): "PiperTextToSpeech",
    ("tts", "local"): "EspeakTextToSpeech",
    ("tts", "fake"): "FakeTextToSpeech",
    ("llm", "offline"): "OfflineDialogModel",
    ("llm", "fake"): "ScriptedLanguageModel",
    ("vad", "silero"): "SileroVadFactory",
    ("vad", "webrtc"): "WebRtcVadFactory",
    ("vad", "fake"): "FakeVadFactory",
    ("turn", "smart_turn"): "SmartTurnDetector",
    ("turn", "off"): "NoneType",
    ("store", "memory"): "Stores",
    ("store", "redis"): "Stores",  # opening the pool does not connect
    ("call_records", "sqlite"): "WriteBehindCallHistory",
    ("call_records", "memory"): "WriteBehindCallHistory",
    ("realtime", "fake"): "FakeRealtimeModel",
}
"""The adapter class each available option builds (others are added with their adapters)."""


def test_every_setting_value_has_a_row_and_every_row_a_value() -> None:
    for port in SETTING_OF:
        allowed = set(typing.get_args(ProviderSelection.model_fields[port].annotation))
        rows = {o.value for o in SELECTION_TABLE if o.port == port}
        assert rows == allowed, port


@pytest.mark.parametrize("option", SELECTION_TABLE, ids=lambda o: f"{o.port}={o.value}")
async def test_each_setting_value_selects_its_adapter_or_is_rejected_by_name(
    option: AdapterOption, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = SETTING_OF[option.port]
    monkeypatch.setenv(key, option.value)
    if option.port == "realtime":
        monkeypatch.setenv("PARLEY_PIPELINE", "realtime")  # realtime rows open only then
    settings = load_settings(clean_env)
    assert selected_option(settings, option.port) == option
    ctx = BuildContext(settings, ManualClock(), load_agents(REPO / "agents"))
    problem = module_problem(option)
    report = next(r for r in check_selection(settings) if r.port == option.port)
    if problem is None and not report.problems and not report.warnings:
        assert (option.port, option.value) in EXPECTED, "add the new option to EXPECTED"
        generator = open_adapter(option.port, ctx)
        adapter = await anext(generator)
        assert type(adapter).__name__ == EXPECTED[(option.port, option.value)]
        await generator.aclose()
    elif option.optional:
        assert all(w.startswith(f"{key}={option.value}") for w in report.warnings)
        generator = open_adapter(option.port, ctx)
        assert await anext(generator) is None  # disabled, not fatal
        await generator.aclose()
    else:
        assert report.problems
        assert all(p.startswith(f"{key}={option.value}") for p in report.problems)
        if option.factory is None or missing_keys(settings, option):
            with pytest.raises(SelectionError, match=key):
                await anext(open_adapter(option.port, ctx))


def test_missing_keys_of_a_selected_option_are_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_STORE", "redis")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("PARLEY_LLM", "azure_openai")
    settings = load_settings(clean_env)
    problems = [p for r in check_selection(settings) for p in r.problems]
    assert any("PARLEY_LLM=azure_openai needs AZURE_OPENAI_ENDPOINT" in p for p in problems)
    assert any("AZURE_OPENAI_DEPLOYMENT" in p for p in problems)


def test_the_embedded_default_needs_no_key(clean_env: Path) -> None:
    settings = load_settings(clean_env)
    for report in check_selection(settings):
        assert not [p for p in report.problems if "needs" in p], report


def test_a_cascade_deployment_needs_no_realtime_key(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_REALTIME", "voicelive")
    settings = load_settings(clean_env)
    assert all(r.port != "realtime" for r in check_selection(settings))
    monkeypatch.setenv("PARLEY_PIPELINE", "realtime")
    settings = load_settings(clean_env)
    [report] = [r for r in check_selection(settings) if r.port == "realtime"]
    expected = "PARLEY_REALTIME=voicelive needs AZURE_VOICELIVE_ENDPOINT (not set)"
    assert report.problems == (expected,)
