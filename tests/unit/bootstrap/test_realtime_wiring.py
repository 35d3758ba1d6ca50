"""Realtime mode's composition: one setting picks the runtime; agent files stay valid."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.memory.realtime import FakeRealtimeModel
from bootstrap.agents import AgentFileError, load_agents
from bootstrap.containers import build_container, resolve
from bootstrap.realtime import base_config, effective_acs, with_pipeline
from bootstrap.settings import load_settings
from domain.runtime import CallRuntime
from domain.runtime.realtime import RealtimeCallRuntime
from ports.realtime import TurnDetection

REPO = Path(__file__).resolve().parents[3]


def write_agents(folder: Path, extra: str) -> Path:
    folder.mkdir()
    (folder / "desk.yaml").write_text(f"name: desk\ngreeting: Hi.\n{extra}")
    return folder


def test_an_agent_written_for_the_other_pipeline_is_rejected_naming_file_and_agent(
    tmp_path: Path,
) -> None:
    folder = write_agents(tmp_path / "agents", "pipeline: cascade\n")
    with pytest.raises(AgentFileError) as caught:
        load_agents(folder, pipeline="realtime")
    [problem] = caught.value.problems
    assert problem.startswith(f"{folder / 'desk.yaml'}: pipeline: agent 'desk'")
    load_agents(folder, pipeline="cascade")  # fine where it belongs


def test_an_agent_realtime_section_is_optional_and_validated(tmp_path: Path) -> None:
    folder = write_agents(
        tmp_path / "agents", "realtime:\n  voice: marin\n  turn_detection: semantic_vad\n"
    )
    loaded = load_agents(folder, pipeline="realtime")
    assert loaded.realtime["desk"].voice == "marin"
    bad = write_agents(tmp_path / "bad", "realtime:\n  turn_detection: shouting\n")
    with pytest.raises(AgentFileError, match="realtime.turn_detection"):
        load_agents(bad)
    assert load_agents(REPO / "agents").realtime == {}  # the bank agents need no change


@pytest.mark.parametrize("pipeline", ["cascade", "realtime"])
async def test_one_setting_picks_the_runtime(
    pipeline: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_PIPELINE", pipeline)
    monkeypatch.setenv("PARLEY_REALTIME", "fake")
    monkeypatch.setenv("PARLEY_AGENTS_DIR", str(REPO / "agents"))
    settings = load_settings(clean_env)
    container = build_container(settings)
    await container.init_resources()
    try:
        runtime = await resolve(container.runtime.call_runtime)
        model = await resolve(container.adapters.realtime)
    finally:
        await container.shutdown_resources()
    if pipeline == "realtime":
        assert type(runtime) is RealtimeCallRuntime
        assert isinstance(model, FakeRealtimeModel)
    else:
        assert type(runtime) is CallRuntime and model is None


def test_acs_is_answered_at_24_khz_in_realtime_mode(clean_env: Path) -> None:
    settings = load_settings(clean_env)
    assert effective_acs(settings).audio_format == settings.acs.audio_format
    realtime = with_pipeline(settings, "realtime")
    assert effective_acs(realtime).audio_format == "pcm24KMono"


def test_the_session_configuration_comes_from_the_settings(clean_env: Path) -> None:
    settings = load_settings(clean_env)
    rt = settings.realtime.model_copy(
        update={"voice": "alloy", "turn_detection": "parley", "silence_duration_ms": 400}
    )
    config = base_config(dataclasses.replace(settings, realtime=rt))
    assert config.voice == "alloy"
    assert config.turn_detection.mode is TurnDetection.PARLEY
    assert config.turn_detection.silence_duration_ms == 400
