"""A whole ACS call with ``PARLEY_STT=azure`` and ``PARLEY_TTS=azure`` against the stand-in.

The path of ``parley call``: the ACS emulator offers the call, the in-process server answers
through the real Call Automation SDK, and the runtime recognises and speaks through the Azure
Speech adapters, whose real Speech SDK talks to ``tests/emulators/speech_standin.py``
(pocketsphinx text for real caller speech, tone audio with word boundaries for the agent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bootstrap.call_command import open_stack, place_call, wav_turns
from tests.emulators.speech_engines import PocketsphinxTranscriber, ToneSynthesizer
from tests.emulators.speech_standin import DEFAULT_KEY, SpeechStandIn, running_speech_standin

from .acs_support import offline_settings, rms_dbfs

pytestmark = [pytest.mark.e2e, pytest.mark.standin, pytest.mark.slow]


@pytest.fixture
def call_speech_standin() -> Iterator[SpeechStandIn]:
    # Short tones keep the agent's (real-time paced) replies short.
    standin = SpeechStandIn(
        transcriber=PocketsphinxTranscriber(),
        synthesizer=ToneSynthesizer(ms_per_char=8, gap_ms=20),
    )
    with running_speech_standin(standin) as running:
        yield running


async def test_a_call_is_recognised_and_answered_through_the_azure_speech_adapters(
    call_speech_standin: SpeechStandIn, shared_audio_dir: Path
) -> None:
    base = offline_settings(stt="azure", tts="azure")
    speech = base.azure_speech.model_copy(
        update={"host": call_speech_standin.host, "key": SecretStr(DEFAULT_KEY)}
    )
    settings = dataclasses.replace(base, azure_speech=speech)
    async with open_stack(settings) as stack:
        turns = wav_turns([shared_audio_dir / "book_a_room.wav"], stack.format)
        report = await place_call(stack, turns, speed=4.0, reply_timeout_s=25.0)
    assert report.result.ok, report.result.error
    assert "book a room" in " ".join(report.user_texts).lower()
    assert report.agent_texts, "the agent never answered"
    assert report.result.turns[0].reply_audio_ms > 200
    assert rms_dbfs(report.result.agent_audio) > -50
    recognition = [c for c in call_speech_standin.connections if "recognition" in c.path]
    synthesis = [c for c in call_speech_standin.connections if c.ssml]
    assert recognition and synthesis
