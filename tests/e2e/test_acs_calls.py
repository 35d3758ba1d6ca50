"""Whole ACS calls through the emulator and the in-process server on the offline default.

Each clip goes the way ``parley call`` sends it: Event Grid offer, answer through the real SDK
(HMAC-signed REST), media over the JWT-signed WebSocket, the real runtime with the embedded
default (Whisper, Silero VAD, Smart Turn, Piper) and the offline dialog model. In the
twelve-clip call the agent speaks through the quick fake voice: what is measured there is
recognition, and the agent's Piper replies, heard in real time, would more than double the
call (Piper on the wire is under test in ``test_server_embedded_default.py``,
``test_network_cut.py`` and the demo). WER per clip
and pooled is printed in the terminal summary (the issue 15 figure: pooled <= 0.27 through a
whole call; the bound here leaves room for a loaded machine).

Runtime budget: the clips are the caller's turns of one call (``parley call a.wav b.wav ...``),
at real-time caller speed: all twelve clips of shared/audio (about 3 minutes);
``PARLEY_E2E_CLIP_SUBSET=1`` runs a subset of four (three clean 16 kHz clips and one 8 kHz
call-centre turn) for a quicker local loop. Concurrent calls were tried: on
two shared cores the local recogniser's finals then lag past the agent's 8 s no-input
re-prompt, so one call keeps the figures honest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dependency_injector import providers

from adapters.acs_emulator.scenario import CallerTurn
from adapters.audio.convert import read_wav
from adapters.memory import FakeTextToSpeech
from bootstrap.call_command import open_stack, place_call, wav_turns, write_outputs
from ports import PCM16_16K
from tests.e2e.local_support import WerTable, noises, report_tables

from .acs_support import offline_settings, rms_dbfs, speech_onset_ms, wer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEED = 1.0

POOLED_WER_LIMIT = 0.35
"""Whisper tiny.en through a whole call: 0.24-0.27 measured; the target is 0.27."""

ONSET_SLACK_MS = {"webrtc": 60, "silero": 100}
"""How much later than the clip's energy onset the VAD may report speech, beyond
``speech_start_ms``: webrtcvad 60 ms; Silero scores 32 ms windows and crosses 0.5 20-60 ms
after the energy onset on the shared clips (benchmarks/bench_local_engines.py), so one more
window."""
SUBSET = (
    "brooklyn_bridge.wav",
    "whats_the_weather_like.wav",
    "go_forward.wav",
    "call_caller_buy_chromecast.wav",
)


def quick_agent_voice(container: Any) -> None:
    """The agent speaks through the fake engine, 8 ms of audio per character."""
    container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=8)))


def report(line: str) -> None:
    print(line)  # noqa: T201 (the WER and latency table is this test's report)


async def test_shared_clips_are_recognised_and_answered_with_audio(
    shared_audio_dir: Path,
    speech_manifest: list[dict[str, Any]],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    by_file = {e["file"]: e for e in speech_manifest}
    names = list(SUBSET) if os.environ.get("PARLEY_E2E_CLIP_SUBSET") else list(by_file)
    async with open_stack(
        offline_settings(), configure=quick_agent_voice, warm_decoders=1
    ) as stack:
        turns = wav_turns([shared_audio_dir / name for name in names], stack.format)
        outcome = await place_call(
            stack, turns, speed=SPEED, reply_timeout_s=30.0, settle_s=1.5, linger_s=1.0
        )
    write_outputs(outcome, tmp_path)
    result = outcome.result
    assert result.ok, result.error
    assert len(result.turns) == len(names)
    # Server and emulator share the process's monotonic clock: a recognised line belongs to
    # the last caller turn that started before it.
    heard: dict[str, list[str]] = {name: [] for name in names}
    for entry in outcome.transcript:
        if entry["kind"] != "user":
            continue
        started = [t for t in result.turns if t.spoke_at * 1000 <= entry["at_ms"]]
        if started:
            heard[started[-1].name].append(entry["text"])
    rows = []
    for name, turn in zip(names, result.turns, strict=True):
        text = " ".join(heard[name])
        rows.append((name, wer(by_file[name]["ref"], text), by_file[name]["wer"], turn, text))
    report(f"\n{'clip':32} {'WER':>5} {'base':>5} {'reply ms':>8}  recognised (via ACS)")
    for name, score, baseline, turn, text in rows:
        shown = "-" if turn.latency_ms is None else f"{turn.latency_ms:.0f}"
        report(f"{name:32} {score:5.2f} {baseline:5.2f} {shown:>8}  {text}")
    mean = sum(r[1] for r in rows) / len(rows)
    report(f"mean WER {mean:.2f} over {len(rows)} clips, {SPEED}x caller speed")
    table = WerTable(
        f"one whole call through ACS (parley call), PARLEY_STT={stack.settings.providers.stt}",
        note=f"[limit {POOLED_WER_LIMIT}; target 0.27]",
    )
    for name, _, _, _, text in rows:
        table.add(name, by_file[name]["ref"], text)
    report_tables(request.config).append(table)
    for name, _, _, turn, text in rows:
        assert text.strip(), f"{name}: no recognised words in the transcript"
        assert turn.reply_at is not None and turn.reply_audio_ms > 0, f"{name}: no reply audio"
    assert len(outcome.agent_texts) > len(names)  # the greeting and a reply per turn
    saved = json.loads((tmp_path / "transcript.json").read_text())
    assert saved["sample_rate_hz"] == stack.format.sample_rate_hz
    agent = read_wav(tmp_path / "agent.wav")
    assert agent.format == stack.format
    assert rms_dbfs(agent.data) > -50, "the agent's audio is silent"
    assert mean < 0.9
    if stack.settings.providers.stt == "whisper" and not os.environ.get("PARLEY_E2E_CLIP_SUBSET"):
        assert table.pooled <= POOLED_WER_LIMIT, "\n".join(table.lines())


async def test_caller_barge_in_stops_playback_within_the_policy_window(
    shared_audio_dir: Path,
) -> None:
    fmt = PCM16_16K
    question = read_wav(shared_audio_dir / "brooklyn_bridge.wav", fmt).data
    interruption = read_wav(shared_audio_dir / "go_forward.wav", fmt).data
    onset_ms = speech_onset_ms(interruption, fmt.sample_rate_hz)
    turns = [
        CallerTurn("brooklyn_bridge.wav", question),
        CallerTurn("go_forward.wav", interruption, barge_in_after_ms=1200),
    ]
    async with open_stack(offline_settings(), warm_decoders=1) as stack:
        outcome = await place_call(stack, turns, speed=1.0, reply_timeout_s=30.0, settle_s=1.5)
    result = outcome.result
    assert result.ok, result.error
    barge = result.turns[1]
    assert barge.stop_audio_at is not None, "no StopAudio after the caller talked over the agent"
    reaction_ms = (barge.stop_audio_at - barge.spoke_at) * 1000 - onset_ms
    report(f"\nbarge-in: StopAudio on the wire {reaction_ms:.0f} ms after caller speech onset")
    # Policy window: VAD speech start (RuntimeConfig.speech_start_ms, 60) + the concierge's
    # barge_in.min_speech_ms (300), plus one 20 ms frame; plus the VAD's onset against this
    # energy onset (ONSET_SLACK_MS).
    window_ms = 60 + 300 + 20 + ONSET_SLACK_MS[stack.settings.providers.vad]
    assert reaction_ms <= window_ms
    assert result.bytes_discarded > 0
    reactions = [
        e["data"]["barge_in_reaction"]
        for e in outcome.transcript
        if e["kind"] == "turn_latency" and "barge_in_reaction" in e["data"]
    ]
    assert reactions and reactions[-1] <= window_ms  # the server's own measure
    cut = [e for e in outcome.transcript if e["kind"] == "assistant" and e["interrupted"]]
    assert cut, "the interrupted agent message was not stored as interrupted"
    full = "Sorry, I did not catch that. I can check your balance, read recent transactions, or"
    assert len(cut[0]["text"]) < len(full)


async def test_noise_and_silence_through_a_whole_call_make_no_caller_turn() -> None:
    # Issue 15: line hiss, noise and hum on the caller's line never become a caller turn.
    picked = ("line hiss (white, -50 dBFS)", "white noise (-30 dBFS)", "digital silence")
    picked += ("mains hum 50 Hz + harmonics (-20 dBFS)",)
    signals = noises(seconds=3.0)
    turns = [
        CallerTurn(name, (np.clip(signals[name], -1, 1) * 32767).astype("<i2").tobytes())
        for name in picked
    ]
    async with open_stack(offline_settings(), warm_decoders=1) as stack:
        outcome = await place_call(stack, turns, speed=1.0, reply_timeout_s=2.5, settle_s=1.0)
    assert outcome.result.ok, outcome.result.error
    assert len(outcome.result.turns) == len(picked)
    heard = [e["text"] for e in outcome.transcript if e["kind"] == "user"]
    assert heard == [], heard
    assert not outcome.result.stop_audio_times, "noise barged in on the agent"
