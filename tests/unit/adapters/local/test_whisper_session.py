"""Whisper sessions' mechanics, on a stand-in decoder: utterances, offsets, the waiting merge,
deadlines, flush and close (the model itself is under contract and in the e2e WER tests)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adapters.local.whisper_decode import Decoded
from adapters.local.whisper_stt import WhisperSpeechToText
from ports import (
    MULAW_8K,
    PCM16_16K,
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    StreamClosedError,
)


class StandInDecoder:
    """Decodes by counting: the text names the utterance's length; optionally slow or failing."""

    workers = 2

    def __init__(self, *, gate: threading.Event | None = None, fail: bool = False) -> None:
        self.gate = gate
        self.fail = fail
        self.seen: list[int] = []

    def load(self) -> None:
        pass

    def decode(self, pcm16: bytes) -> Decoded:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise ProviderUnavailableError("model broke", port="speech_to_text")
        self.seen.append(len(pcm16) // 32)  # ms at 16 kHz
        return Decoded(f"{len(pcm16) // 32} ms", 0.1, len(pcm16) / 32000)


def frames(ms: int, fmt: AudioFormat = PCM16_16K, start_ms: float = 0.0) -> list[AudioFrame]:
    size = fmt.frame_bytes(20)
    fill = b"\xff" if fmt.encoding.value == "mulaw" else b"\x00"
    return [AudioFrame(fill * size, fmt, start_ms + i * 20) for i in range(ms // 20)]


async def test_each_pause_gives_one_final_of_the_audio_since_the_last_one() -> None:
    decoder = StandInDecoder()
    stt = WhisperSpeechToText(decoder)  # type: ignore[arg-type]
    async with stt.session(PCM16_16K) as session:
        for frame in frames(400):
            session.push(frame)
        session.end_of_speech()
        for frame in frames(600):
            session.push(frame)
        await session.flush()
        events = [e async for e in session.events()]
    await stt.aclose()
    assert [e.text for e in events] == ["400 ms", "600 ms"]
    assert all(e.is_final for e in events)
    # Offsets are ms of pushed audio: the second utterance starts where the first ended.
    assert events[0].start_ms == pytest.approx(100.0)
    assert events[1].start_ms == pytest.approx(400.0 + 100.0)
    assert events[1].end_ms == pytest.approx(1000.0)


async def test_a_pause_while_a_decode_runs_waits_and_later_pauses_merge_into_it() -> None:
    gate = threading.Event()
    decoder = StandInDecoder(gate=gate)
    stt = WhisperSpeechToText(decoder)  # type: ignore[arg-type]
    async with stt.session(PCM16_16K) as session:
        for chunk in (200, 300, 500):
            for frame in frames(chunk):
                session.push(frame)
            session.end_of_speech()
        gate.set()
        await session.flush()
        texts = [e.text async for e in session.events()]
    await stt.aclose()
    # One running, one waiting: the third pause joined the waiting utterance.
    assert texts == ["200 ms", "800 ms"]


async def test_mulaw_at_8_khz_is_converted_to_16_khz_for_the_model() -> None:
    decoder = StandInDecoder()
    stt = WhisperSpeechToText(decoder)  # type: ignore[arg-type]
    async with stt.session(MULAW_8K) as session:
        for frame in frames(1000, MULAW_8K):
            session.push(frame)
        await session.flush()
        [event] = [e async for e in session.events()]
    await stt.aclose()
    assert decoder.seen and abs(decoder.seen[0] - 1000) <= 2


async def test_old_audio_beyond_the_buffer_bound_is_dropped_and_offsets_stay_true() -> None:
    decoder = StandInDecoder()
    stt = WhisperSpeechToText(decoder, max_buffer_s=1.0)  # type: ignore[arg-type]
    async with stt.session(PCM16_16K) as session:
        for frame in frames(3000):
            session.push(frame)
        await session.flush()
        [event] = [e async for e in session.events()]
    await stt.aclose()
    assert decoder.seen == [1000]
    assert event.start_ms == pytest.approx(2000.0 + 100.0)


async def test_a_decode_past_its_deadline_fails_events_with_a_timeout() -> None:
    gate = threading.Event()
    stt = WhisperSpeechToText(StandInDecoder(gate=gate), decode_timeout_s=0.2)  # type: ignore[arg-type]
    try:
        async with stt.session(PCM16_16K) as session:
            for frame in frames(200):
                session.push(frame)
            session.end_of_speech()
            with pytest.raises(ProviderTimeoutError):
                async for _ in session.events():
                    pass
    finally:
        gate.set()
        await stt.aclose()


async def test_a_failing_model_surfaces_as_a_port_error() -> None:
    stt = WhisperSpeechToText(StandInDecoder(fail=True))  # type: ignore[arg-type]
    async with stt.session(PCM16_16K) as session:
        for frame in frames(200):
            session.push(frame)
        await session.flush()
        with pytest.raises(ProviderUnavailableError):
            async for _ in session.events():
                pass
    await stt.aclose()


async def test_close_drops_a_running_decode_and_refuses_more_audio() -> None:
    gate = threading.Event()
    stt = WhisperSpeechToText(StandInDecoder(gate=gate))  # type: ignore[arg-type]
    session = stt.session(PCM16_16K)
    for frame in frames(200):
        session.push(frame)
    session.end_of_speech()
    await asyncio.sleep(0.05)
    await session.aclose()
    gate.set()
    assert [e async for e in session.events()] == []
    with pytest.raises(StreamClosedError):
        session.push(frames(20)[0])
    await stt.aclose()


async def test_stereo_or_an_unreachable_rate_is_refused_when_the_session_opens() -> None:
    stt = WhisperSpeechToText(StandInDecoder())  # type: ignore[arg-type]
    with pytest.raises(InvalidAudioError):
        stt.session(AudioFormat(16000, 2))
    with pytest.raises(InvalidAudioError):
        stt.session(AudioFormat(400))
    await stt.aclose()
    with pytest.raises(ProviderUnavailableError):
        stt.session(PCM16_16K)
