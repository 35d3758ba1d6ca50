"""espeak-ng adapter: formats, streaming, word boundaries, cancellation, bad input."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from adapters.audio import FormatConverter
from adapters.local.tts import EspeakTextToSpeech, split_text
from ports import MULAW_8K, PCM16_16K, PCM16_24K, AudioFormat, InvalidAudioError, Voice

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today."


async def synth(tts: EspeakTextToSpeech, text: str, fmt: AudioFormat = PCM16_16K, voice=None):
    voice = voice or Voice()
    return [chunk async for chunk in tts.synthesize(text, voice=voice, fmt=fmt)]


@pytest.mark.parametrize("fmt", [PCM16_16K, PCM16_24K, MULAW_8K])
async def test_audio_comes_in_exactly_the_requested_format(espeak_tts, fmt) -> None:
    chunks = await synth(espeak_tts, SENTENCE, fmt)
    assert chunks and all(c.audio.format == fmt for c in chunks)
    total_ms = sum(c.audio.duration_ms for c in chunks)
    assert 2500 < total_ms < 6000


async def test_word_boundaries_index_the_text_and_never_go_back(espeak_tts) -> None:
    chunks = await synth(espeak_tts, SENTENCE)
    words = [w for c in chunks for w in c.words]
    spoken = [SENTENCE[w.text_offset : w.text_offset + w.text_length] for w in words]
    assert spoken == SENTENCE.rstrip(".").split()
    offsets = [w.audio_offset_ms for w in words]
    assert offsets == sorted(offsets) and offsets[0] == 0.0


async def test_timestamps_advance_with_the_audio(espeak_tts) -> None:
    chunks = await synth(espeak_tts, SENTENCE)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.audio.timestamp_ms >= before.audio.timestamp_ms


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_empty_text_yields_no_chunk(espeak_tts, text) -> None:
    assert await synth(espeak_tts, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Crème brûlée, naïve café, Ångström, Straße.",
        "Thanks! 😀👍🏽 See you 🚀",
        "<speak><b>bold</b> &amp; <i>x</i></speak> {json: [1, 2]} \\ \x00 \u200b",
    ],
)
async def test_accents_emoji_and_markup_do_not_crash(espeak_tts, text) -> None:
    chunks = await synth(espeak_tts, text)
    assert sum(len(c.audio.data) for c in chunks) > 0
    for w in (w for c in chunks for w in c.words):
        assert 0 <= w.text_offset < len(text)


async def test_ten_thousand_characters_are_chunked_and_word_offsets_stay_inside(espeak_tts) -> None:
    text = ("Your balance is one hundred dollars. " * 300)[:10_000]
    chunks = await synth(espeak_tts, text, MULAW_8K)
    words = [w for c in chunks for w in c.words]
    assert len(words) > 1500
    assert max(w.text_offset for w in words) > 9_000
    offsets = [w.audio_offset_ms for w in words]
    assert offsets == sorted(offsets)


async def test_first_chunk_arrives_before_a_long_text_is_synthesised(espeak_tts) -> None:
    stream = espeak_tts.synthesize(SENTENCE * 40, voice=Voice(), fmt=PCM16_16K)
    first = await stream.__anext__()
    rest = [c async for c in stream]
    assert first.audio.timestamp_ms == 0.0
    assert len(rest) > 100


async def test_closing_the_stream_aborts_synthesis_and_frees_the_worker(espeak_tts) -> None:
    stream = espeak_tts.synthesize(SENTENCE * 100, voice=Voice(), fmt=PCM16_16K)
    await stream.__anext__()
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    # The worker is free at once: the next synthesis is not stuck behind the old one.
    chunks = await asyncio.wait_for(synth(espeak_tts, "Hello."), timeout=5.0)
    assert chunks


async def test_cancelling_the_consuming_task_stops_synthesis(espeak_tts) -> None:
    async def consume() -> None:
        async for _ in espeak_tts.synthesize(SENTENCE * 100, voice=Voice(), fmt=PCM16_16K):
            await asyncio.sleep(0.01)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.wait_for(synth(espeak_tts, "Next."), timeout=1.0)


async def test_voice_rate_changes_the_duration(espeak_tts) -> None:
    slow = sum(
        c.audio.duration_ms for c in await synth(espeak_tts, SENTENCE, voice=Voice(rate=0.7))
    )
    fast = sum(
        c.audio.duration_ms for c in await synth(espeak_tts, SENTENCE, voice=Voice(rate=1.5))
    )
    assert fast < slow * 0.8


async def test_an_unknown_voice_falls_back_to_the_default(espeak_tts) -> None:
    assert await synth(espeak_tts, "Hello.", voice=Voice(name="no-such-voice"))


async def test_stereo_output_is_refused(espeak_tts) -> None:
    with pytest.raises(InvalidAudioError):
        await synth(espeak_tts, "Hello.", AudioFormat(16000, 2))


async def test_aclose_stops_the_worker_thread() -> None:
    before = set(threading.enumerate())
    tts = EspeakTextToSpeech()
    assert await synth(tts, "Hello.")
    assert set(threading.enumerate()) - before
    await tts.aclose()
    assert not set(threading.enumerate()) - before
    await tts.aclose()  # idempotent


def _live_converters() -> int:
    gc.collect()
    return sum(isinstance(o, FormatConverter) for o in gc.get_objects())


async def test_an_idle_worker_keeps_no_finished_request_or_its_resampler_alive() -> None:
    # A daemon worker's frame is never unwound at exit: whatever it holds while idle is
    # still alive then, and soxr (nanobind) prints "leaked instances" for its resamplers.
    tts = EspeakTextToSpeech()
    try:
        before = _live_converters()
        assert await synth(tts, "Hello there.")
        assert any(t.name == "espeak-ng-worker" for t in threading.enumerate())  # idle, open
        assert _live_converters() == before
    finally:
        await tts.aclose()


def test_split_text_cuts_at_sentence_ends_and_keeps_offsets() -> None:
    text = "One two three. Four five six. " * 20
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for _, p in pieces)
    assert "".join(p for _, p in pieces) == text.rstrip() or all(
        text[o : o + len(p)] == p for o, p in pieces
    )
    assert all(text[o : o + len(p)] == p for o, p in pieces)
