"""pocketsphinx adapter: recognition, streaming events, endpointing, lifecycle, bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from adapters.audio import read_wav_frames
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    StreamClosedError,
    TranscriptEvent,
)


async def recognise(stt, frames, fmt, *, eos: bool = True) -> list[TranscriptEvent]:
    async with stt.session(fmt) as session:
        for frame in frames:
            session.push(frame)
        if eos:
            session.end_of_speech()
        await session.flush()
        return [event async for event in session.events()]


async def test_a_known_sentence_gives_its_words(pocketsphinx_stt, shared_audio_dir: Path) -> None:
    frames = read_wav_frames(shared_audio_dir / "go_forward.wav", PCM16_16K)
    events = await recognise(pocketsphinx_stt, frames, PCM16_16K)
    finals = [e for e in events if e.is_final]
    assert " ".join(e.text for e in finals) == "go forward ten meters"
    assert 0 <= finals[0].start_ms < finals[-1].end_ms <= 2800


async def test_24k_audio_is_resampled_and_recognised(pocketsphinx_stt, shared_audio_dir) -> None:
    frames = read_wav_frames(shared_audio_dir / "brooklyn_bridge.wav", PCM16_24K)
    events = await recognise(pocketsphinx_stt, frames, PCM16_24K)
    text = " ".join(e.text for e in events if e.is_final)
    assert {"old", "brooklyn", "bridge"} <= set(text.split())


async def test_partials_come_before_the_final_and_at_most_every_200_ms(
    pocketsphinx_stt, shared_audio_dir
) -> None:
    frames = read_wav_frames(shared_audio_dir / "jfk.wav", PCM16_16K)
    async with pocketsphinx_stt.session(PCM16_16K) as session:
        arrivals: list[tuple[float, TranscriptEvent]] = []

        async def read() -> None:
            async for event in session.events():
                arrivals.append((time.monotonic(), event))

        reader = asyncio.create_task(read())
        for frame in frames[:100]:  # 2 s in real time
            session.push(frame)
            await asyncio.sleep(0.02)
        session.end_of_speech()
        await session.flush()
        await reader
    partials = [(t, e) for t, e in arrivals if not e.is_final]
    assert partials, "no partial hypothesis in 2 s of speech"
    assert arrivals[-1][1].is_final
    audio_gaps = [
        b.end_ms - a.end_ms for (_, a), (_, b) in zip(partials, partials[1:], strict=False)
    ]
    assert all(gap >= 200 for gap in audio_gaps)


async def test_silence_gives_no_final(pocketsphinx_stt) -> None:
    silence = [AudioFrame(b"\x00" * 640, PCM16_16K, i * 20.0) for i in range(50)]
    assert [e for e in await recognise(pocketsphinx_stt, silence, PCM16_16K) if e.is_final] == []


async def test_a_frame_of_the_wrong_rate_raises_a_clear_error(pocketsphinx_stt) -> None:
    async with pocketsphinx_stt.session(PCM16_16K) as session:
        with pytest.raises(InvalidAudioError, match="pushed to a session for"):
            session.push(AudioFrame(b"\xff" * 160, MULAW_8K))


@pytest.mark.parametrize("rate", [1, 2, 400_000])
def test_a_session_at_a_rate_no_resampler_should_serve_is_refused_up_front(
    pocketsphinx_stt, rate: int
) -> None:
    with pytest.raises(InvalidAudioError, match="Hz"):
        pocketsphinx_stt.session(AudioFormat(rate))


async def test_push_after_flush_raises_stream_closed(pocketsphinx_stt) -> None:
    async with pocketsphinx_stt.session(PCM16_16K) as session:
        await session.flush()
        with pytest.raises(StreamClosedError):
            session.push(AudioFrame(b"\x00" * 640, PCM16_16K))


async def test_aclose_mid_stream_ends_events_and_leaves_no_thread(pocketsphinx_stt) -> None:
    before = set(threading.enumerate())
    session = pocketsphinx_stt.session(PCM16_16K)
    for i in range(100):
        session.push(AudioFrame(b"\x10\x00" * 320, PCM16_16K, i * 20.0))
    # Generous: the session's decoder process is spawned cold here, which takes seconds on a
    # loaded machine; what is checked is that events end and no thread is left.
    reader = asyncio.create_task(asyncio.wait_for(_drain(session), timeout=30))
    await asyncio.sleep(0.05)
    await session.aclose()
    await reader
    await session.aclose()  # idempotent
    assert not set(threading.enumerate()) - before


async def test_aclose_before_any_audio_is_immediate(pocketsphinx_stt) -> None:
    session = pocketsphinx_stt.session(PCM16_16K)
    await session.aclose()
    assert [e async for e in session.events()] == []


async def _drain(session) -> list[TranscriptEvent]:
    return [e async for e in session.events()]
