"""The offline engines on real human speech: WER per clip, round trip, bad input.

Clips and reference transcripts come from ``../shared/audio`` (``PARLEY_SHARED_DIR``); the
WER tables are printed in the terminal summary (see ``tests/e2e/conftest.py``). The
baseline in MANIFEST.md (pocketsphinx whole clip, one utterance) is 0.469 pooled; our
streaming path (20 ms frames, endpointing, rescored finals) must stay under 0.6.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.audio import FormatConverter, read_wav_frames, split_frames
from adapters.local.dialog import DialogAgent, Intent, OfflineDialogModel, Slot, SlotKind
from adapters.local.stt import PocketsphinxSpeechToText
from adapters.local.tts import EspeakTextToSpeech
from adapters.local.vad import WebRtcVadFactory
from ports import (
    MULAW_8K,
    PCM16_16K,
    AudioFormat,
    AudioFrame,
    ChatMessage,
    InvalidAudioError,
    ModelOptions,
    Role,
    TextDelta,
    Voice,
)
from tests.e2e.local_support import WerTable, report_tables

pytestmark = pytest.mark.e2e

POOLED_WER_LIMIT = 0.6
"""Generous bound over the 0.469 whole-clip baseline in MANIFEST.md."""

NARROWBAND_WER_LIMIT = 0.9
"""The call clips at 8 kHz mu-law: narrowband audio lacks the 4-8 kHz band the model was
trained on, so accuracy is poor (MANIFEST baseline for these four clips: 0.69 at 16 kHz)."""

ROUND_TRIP_WER_LIMIT = 0.45
"""espeak-ng (klatt4) -> pocketsphinx: "recovers most words" (0.26 measured)."""

ROUND_TRIP_SENTENCES = (
    "go forward ten meters",
    "what is my balance",
    "please lock my card",
    "how old is the brooklyn bridge",
    "i would like to speak to a human",
    "what's the weather like today",
)


@pytest.fixture(scope="module")
def stt() -> Iterator[PocketsphinxSpeechToText]:
    engine = PocketsphinxSpeechToText()  # bound to no event loop: safe to share per module
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def tts() -> Iterator[EspeakTextToSpeech]:
    engine = EspeakTextToSpeech()
    yield engine
    asyncio.run(engine.aclose())


async def transcribe(stt: PocketsphinxSpeechToText, frames: list[AudioFrame]) -> str:
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


async def run_clips(
    stt: PocketsphinxSpeechToText,
    audio_dir: Path,
    clips: list[dict[str, Any]],
    fmt: AudioFormat,
) -> list[str]:
    limit = asyncio.Semaphore(2)  # two decoder processes: one per core

    async def one(clip: dict[str, Any]) -> str:
        async with limit:
            frames = read_wav_frames(audio_dir / clip["file"], fmt)
            return await transcribe(stt, frames)

    return await asyncio.gather(*(one(c) for c in clips))


@pytest.mark.parametrize(
    ("fmt", "limit", "title"),
    [
        (PCM16_16K, POOLED_WER_LIMIT, "16 kHz PCM16 (wideband)"),
        (MULAW_8K, NARROWBAND_WER_LIMIT, "8 kHz mu-law (narrowband telephone)"),
    ],
    ids=["16k", "8k-mulaw"],
)
async def test_local_stt_transcribes_real_speech_within_the_wer_bound(
    stt, shared_audio_dir, speech_manifest, request, fmt, limit, title
) -> None:
    clips = speech_manifest
    if fmt == MULAW_8K:  # the recorded telephone call: audio that really was 8 kHz
        clips = [c for c in speech_manifest if c["file"].startswith("call_")]
    hypotheses = await run_clips(stt, shared_audio_dir, clips, fmt)
    table = WerTable(
        f"pocketsphinx streaming, {title}: 20 ms frames, end_of_speech at the end",
        note=f"[limit {limit}; MANIFEST baseline 0.469 whole clip at 16 kHz]",
    )
    for clip, hypothesis in zip(clips, hypotheses, strict=True):
        table.add(clip["file"], clip["ref"], hypothesis)
    report_tables(request.config).append(table)
    assert len(table.rows) == len(clips)
    assert table.pooled <= limit, "\n".join(table.lines())


async def test_text_to_speech_to_text_round_trip_recovers_most_words(stt, tts, request) -> None:
    table = WerTable(
        "round trip: espeak-ng en-us+klatt4 -> pocketsphinx, 16 kHz",
        note=f"[limit {ROUND_TRIP_WER_LIMIT}]",
    )
    silence = AudioFrame(b"\x00" * 6400, PCM16_16K)
    for sentence in ROUND_TRIP_SENTENCES:
        chunks = [c async for c in tts.synthesize(sentence, voice=Voice(), fmt=PCM16_16K)]
        audio = silence.data + b"".join(c.audio.data for c in chunks) + silence.data
        hypothesis = await transcribe(stt, split_frames(AudioFrame(audio, PCM16_16K), 20))
        table.add(sentence, sentence, hypothesis)
    report_tables(request.config).append(table)
    assert table.pooled <= ROUND_TRIP_WER_LIMIT, "\n".join(table.lines())


async def test_real_speech_through_vad_marks_speech_inside_the_clip(shared_audio_dir) -> None:
    frames = read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
    vad = WebRtcVadFactory(aggressiveness=2)(PCM16_16K)
    scores = [vad.speech_probability(f) for f in frames if f.duration_ms == 20]
    assert 0.3 < sum(scores) / len(scores) < 0.95


class TestBadInput:
    @pytest.mark.parametrize(
        "text",
        ["", "A" + " word" * 2000, "Crème brûlée 😀 <b>bold</b> &amp; \u200b"],
        ids=["empty", "10000-chars", "accents-emoji-markup"],
    )
    async def test_text_to_speech_survives_awkward_text(self, tts, text) -> None:
        chunks = [c async for c in tts.synthesize(text, voice=Voice(), fmt=MULAW_8K)]
        assert (len(chunks) == 0) == (text == "")
        assert all(c.audio.format == MULAW_8K for c in chunks)

    async def test_a_frame_of_the_wrong_rate_raises_a_port_error(self, stt) -> None:
        async with stt.session(PCM16_16K) as session:
            with pytest.raises(InvalidAudioError):
                session.push(AudioFrame(b"\x00" * 960, AudioFormat(24000)))

    def test_a_frame_of_the_wrong_size_raises_a_port_error(self) -> None:
        vad = WebRtcVadFactory()(PCM16_16K)
        with pytest.raises(InvalidAudioError):
            vad.speech_probability(AudioFrame(b"\x00" * 100, PCM16_16K))

    def test_mulaw_converter_rejects_frames_in_the_wrong_format(self) -> None:
        with pytest.raises(InvalidAudioError):
            FormatConverter(MULAW_8K, PCM16_16K).convert(AudioFrame(b"\x00" * 640, PCM16_16K))

    async def test_a_tool_argument_that_does_not_match_gets_a_clarification(self) -> None:
        lock = Intent(
            "lock_card",
            ("lock my card",),
            tool="lock_card",
            slots=(Slot("last4", SlotKind.DIGITS, min_digits=4, max_digits=4),),
            clarify="Please tell me the last four digits of the card.",
        )
        model = OfflineDialogModel({"bank": DialogAgent("bank", (lock,))})
        messages = [ChatMessage(Role.USER, "lock my card please")]
        events = [e async for e in model.stream(messages, (), ModelOptions(agent="bank"))]
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == "Please tell me the last four digits of the card."
