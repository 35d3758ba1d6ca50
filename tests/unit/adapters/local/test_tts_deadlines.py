"""espeak-ng's one shared worker: a bad or stuck request never holds the other calls forever.

Own module with its own engine: espeak-ng's state is process-wide, so this engine (with its
fault-injecting piece hook) must not be alive beside the other modules' engines.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from adapters.local.tts import EspeakTextToSpeech
from ports import (
    PCM16_16K,
    AudioFormat,
    InvalidAudioError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    Voice,
)

STALL = "stall here please"


@pytest.fixture
async def stalling_tts() -> AsyncIterator[tuple[EspeakTextToSpeech, threading.Event]]:
    release = threading.Event()

    def hook(piece: str) -> None:
        if STALL in piece:  # a piece that never finishes until the test lets it
            release.wait(timeout=30)

    engine = EspeakTextToSpeech(request_timeout_s=0.3, piece_hook=hook)
    try:
        yield engine, release
    finally:
        release.set()
        await engine.aclose()


async def synth(tts: EspeakTextToSpeech, text: str, fmt: AudioFormat = PCM16_16K) -> int:
    return len([c async for c in tts.synthesize(text, voice=Voice(), fmt=fmt)])


async def health_error(tts: EspeakTextToSpeech) -> ProviderUnavailableError | None:
    try:
        await tts.health_check()
    except ProviderUnavailableError as exc:
        return exc
    return None


async def until_health(tts: EspeakTextToSpeech, *, failing: bool) -> None:
    for _ in range(500):  # bounded: 5 s
        if (await health_error(tts) is not None) is failing:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"health never became {'failing' if failing else 'ok'}")


@pytest.mark.parametrize("rate", [1, 2, 400_000])
async def test_a_format_no_resampler_should_serve_fails_at_once_and_others_still_speak(
    stalling_tts: tuple[EspeakTextToSpeech, threading.Event], rate: int
) -> None:
    tts, _ = stalling_tts
    with pytest.raises(InvalidAudioError):
        await synth(tts, "hello there", AudioFormat(rate))
    assert await synth(tts, "hello there") > 0
    assert await health_error(tts) is None


async def test_a_stuck_request_times_out_marks_the_engine_unhealthy_and_fails_others_fast(
    stalling_tts: tuple[EspeakTextToSpeech, threading.Event],
) -> None:
    tts, release = stalling_tts
    with pytest.raises(ProviderTimeoutError):
        await synth(tts, STALL)
    await until_health(tts, failing=True)
    error = await health_error(tts)
    assert error is not None and error.port == "text_to_speech" and "stuck" in str(error)
    # Another call does not queue behind the stuck piece: it is refused at once.
    with pytest.raises(ProviderUnavailableError, match="stuck"):
        await asyncio.wait_for(synth(tts, "another call"), timeout=5)
    release.set()
    await until_health(tts, failing=False)
    assert await synth(tts, "another call") > 0
