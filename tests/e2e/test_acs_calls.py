"""Whole ACS calls through the emulator and the in-process server on the offline default.

Each clip goes the way ``parley call`` sends it: Event Grid offer, answer through the real SDK
(HMAC-signed REST), media over the JWT-signed WebSocket, the real runtime with pocketsphinx,
webrtcvad, espeak-ng and the offline dialog model. WER per clip is printed.

Runtime budget: pocketsphinx decodes on the CPU at about real time per call, so clips run as
three concurrent calls at 1.5x caller speed, and by default on a subset of six clips (the four
clean 16 kHz ones, one 8 kHz call-centre turn and the 11 s JFK clip); ``PARLEY_E2E_ALL_CLIPS=1``
runs all twelve.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from adapters.acs_emulator.scenario import CallerTurn
from adapters.audio.convert import read_wav
from bootstrap.call_command import open_stack, place_call, wav_turns, write_outputs
from ports import PCM16_16K

from .acs_support import offline_settings, rms_dbfs, speech_onset_ms, wer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEED = 1.5
CONCURRENT_CALLS = 3
SUBSET = {
    "brooklyn_bridge.wav",
    "go_forward.wav",
    "whats_the_weather_like.wav",
    "book_a_room.wav",
    "call_caller_buy_chromecast.wav",
    "jfk.wav",
}


def report(line: str) -> None:
    print(line)  # noqa: T201 (the WER and latency table is this test's report)


async def test_shared_clips_are_recognised_and_answered_with_audio(
    shared_audio_dir: Path, speech_manifest: list[dict[str, Any]], tmp_path: Path
) -> None:
    entries = [
        e for e in speech_manifest if os.environ.get("PARLEY_E2E_ALL_CLIPS") or e["file"] in SUBSET
    ]
    async with open_stack(offline_settings(), warm_decoders=CONCURRENT_CALLS) as stack:
        limit = asyncio.Semaphore(CONCURRENT_CALLS)

        async def one(entry: dict[str, Any]) -> Any:
            async with limit:
                turns = wav_turns([shared_audio_dir / entry["file"]], stack.format)
                return await place_call(
                    stack, turns, speed=SPEED, reply_timeout_s=30.0, settle_s=1.5
                )

        reports = await asyncio.gather(*(one(e) for e in entries))
    rows = []
    for entry, outcome in zip(entries, reports, strict=True):
        out = tmp_path / entry["file"].removesuffix(".wav")
        write_outputs(outcome, out)
        heard = " ".join(outcome.user_texts)
        latency = outcome.result.turns[0].latency_ms if outcome.result.turns else None
        rows.append((entry["file"], wer(entry["ref"], heard), entry["wer"], latency, heard))
    report(f"\n{'clip':32} {'WER':>5} {'base':>5} {'reply ms':>8}  recognised (via ACS)")
    for name, score, baseline, latency, heard in rows:
        shown = "-" if latency is None else f"{latency:.0f}"
        report(f"{name:32} {score:5.2f} {baseline:5.2f} {shown:>8}  {heard}")
    mean = sum(r[1] for r in rows) / len(rows)
    report(f"mean WER {mean:.2f} over {len(rows)} clips, {SPEED}x caller speed")
    for entry, outcome in zip(entries, reports, strict=True):
        name = entry["file"]
        out = tmp_path / name.removesuffix(".wav")
        assert outcome.result.ok, (name, outcome.result.error)
        assert " ".join(outcome.user_texts).strip(), f"{name}: no recognised words"
        assert outcome.agent_texts, f"{name}: the agent never answered"
        assert json.loads((out / "transcript.json").read_text())["sample_rate_hz"] == 16000
        agent = read_wav(out / "agent.wav")
        assert agent.format == stack.format
        first = outcome.result.turns[0]
        assert first.reply_at is not None and first.reply_audio_ms > 200, name
        assert rms_dbfs(agent.data) > -50, f"{name}: the agent's audio is silent"
    assert mean < 0.9


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
    # barge_in.min_speech_ms (300), plus one 20 ms frame; 60 ms more for webrtcvad's onset
    # against this energy onset.
    assert reaction_ms <= 60 + 300 + 20 + 60
    assert result.bytes_discarded > 0
    cut = [e for e in outcome.transcript if e["kind"] == "assistant" and e["interrupted"]]
    assert cut, "the interrupted agent message was not stored as interrupted"
    full = "Sorry, I did not catch that. I can check your balance, read recent transactions, or"
    assert len(cut[0]["text"]) < len(full)
