"""The embedded default's engines on real human speech and on noise (issue 15).

Whisper through its streaming session (20 ms frames, ``end_of_speech`` at the end) on the 12
shared clips at 16 kHz and on the four call clips at 8 kHz mu-law; Piper -> Whisper round trip;
Silero VAD with the runtime's smoothing on noise-only audio and line hiss. The WER tables are
printed in the terminal summary beside pocketsphinx's (``test_local_stt_real_speech.py``).
Whole calls through ACS are ``test_acs_calls.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.audio import FormatConverter, read_wav_frames, split_frames
from adapters.local.piper_tts import PiperTextToSpeech
from adapters.local.silero_vad import SileroVadFactory
from adapters.local.whisper_stt import WhisperSpeechToText
from domain.runtime import RuntimeConfig
from domain.runtime.speech_detector import STARTED, SpeechDetector
from ports import MULAW_8K, PCM16_16K, AudioFormat, AudioFrame, Voice
from tests.e2e.local_support import WerTable, noises, report_tables

pytestmark = pytest.mark.e2e

WIDEBAND_WER_LIMIT = 0.33
"""The 12 shared clips at 16 kHz: 0.27 measured (0.265 whole clip in issue 15)."""

NARROWBAND_WER_LIMIT = 0.30
"""The four call clips at 8 kHz mu-law: 0.19-0.23 measured (target 0.25)."""

ROUND_TRIP_WER_LIMIT = 0.2
"""Piper en_US-joe-medium -> Whisper tiny.en: 0.08 in issue 15."""

ROUND_TRIP_SENTENCES = (
    "go forward ten meters",
    "what is my balance",
    "please lock my card",
    "how old is the brooklyn bridge",
    "i would like to speak to a human",
    "what's the weather like today",
)


@pytest.fixture(scope="module")
def stt() -> Iterator[WhisperSpeechToText]:
    engine = WhisperSpeechToText()  # bound to no event loop: safe to share per module
    yield engine
    asyncio.run(engine.aclose())


async def transcribe(stt: WhisperSpeechToText, frames: list[AudioFrame]) -> str:
    """The streaming path: 20 ms frames, end_of_speech at the end, flush, finals joined."""
    async with stt.session(frames[0].format) as session:
        for i, frame in enumerate(frames):
            session.push(frame)
            if i % 50 == 0:
                await asyncio.sleep(0)
        session.end_of_speech()
        await session.flush()
        finals = [e.text async for e in session.events() if e.is_final]
    return " ".join(finals)


@pytest.mark.parametrize(
    ("fmt", "limit", "title"),
    [
        (PCM16_16K, WIDEBAND_WER_LIMIT, "16 kHz PCM16 (wideband), 12 clips"),
        (MULAW_8K, NARROWBAND_WER_LIMIT, "8 kHz mu-law (narrowband telephone), 4 call clips"),
    ],
    ids=["16k", "8k-mulaw"],
)
async def test_whisper_transcribes_real_speech_within_the_wer_bound(
    stt: WhisperSpeechToText,
    shared_audio_dir: Path,
    speech_manifest: list[dict[str, Any]],
    request: pytest.FixtureRequest,
    fmt: AudioFormat,
    limit: float,
    title: str,
) -> None:
    clips = speech_manifest
    if fmt == MULAW_8K:  # the recorded telephone call: audio that really was 8 kHz
        clips = [c for c in speech_manifest if c["file"].startswith("call_")]
    hypotheses = await asyncio.gather(
        *(transcribe(stt, read_wav_frames(shared_audio_dir / c["file"], fmt)) for c in clips)
    )
    table = WerTable(f"Whisper tiny.en streaming session, {title}", note=f"[limit {limit}]")
    for clip, hypothesis in zip(clips, hypotheses, strict=True):
        table.add(clip["file"], clip["ref"], hypothesis)
    report_tables(request.config).append(table)
    assert len(table.rows) == len(clips)
    assert table.pooled <= limit, "\n".join(table.lines())


async def test_piper_to_whisper_round_trip_recovers_the_words(
    stt: WhisperSpeechToText, request: pytest.FixtureRequest
) -> None:
    tts = PiperTextToSpeech()
    table = WerTable(
        "round trip: Piper en_US-joe-medium -> Whisper tiny.en, 16 kHz",
        note=f"[limit {ROUND_TRIP_WER_LIMIT}]",
    )
    silence = b"\x00" * 6400
    try:
        for sentence in ROUND_TRIP_SENTENCES:
            chunks = [c async for c in tts.synthesize(sentence, voice=Voice(), fmt=PCM16_16K)]
            audio = silence + b"".join(c.audio.data for c in chunks) + silence
            hypothesis = await transcribe(stt, split_frames(AudioFrame(audio, PCM16_16K), 20))
            table.add(sentence, sentence, hypothesis)
    finally:
        await tts.aclose()
    report_tables(request.config).append(table)
    assert table.pooled <= ROUND_TRIP_WER_LIMIT, "\n".join(table.lines())


def speech_starts(frames: list[AudioFrame], factory: Any) -> int:
    """Caller turns the runtime would start: VAD plus its smoothing, default thresholds."""
    config = RuntimeConfig()
    vad = factory(frames[0].format)
    detector = SpeechDetector(config.vad_threshold, config.speech_start_ms, config.speech_stop_ms)
    starts = 0
    for i, frame in enumerate(frames):
        p = vad.speech_probability(frame)
        starts += detector.update(p, frame.duration_ms, i * 20.0) == STARTED
    return starts


@pytest.mark.parametrize("fmt", [PCM16_16K, MULAW_8K], ids=["16k", "8k-mulaw"])
async def test_noise_and_line_hiss_start_no_caller_turn_and_no_words(
    stt: WhisperSpeechToText, fmt: AudioFormat
) -> None:
    factory = SileroVadFactory()
    for name, signal in noises().items():
        pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()
        clip = AudioFrame(pcm, PCM16_16K)
        if fmt != PCM16_16K:
            clip = FormatConverter(PCM16_16K, fmt).convert(clip)
        frames = split_frames(clip, 20, pad=True)
        assert speech_starts(frames, factory) == 0, name
        # Even if a detector let it through, the recogniser finds no words in it.
        assert (await transcribe(stt, frames)).strip() == "", name
