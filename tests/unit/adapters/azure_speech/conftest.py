"""Fixtures for the Azure Speech adapter tests: a Speech protocol stand-in on 127.0.0.1."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from adapters.azure_speech import AzureSpeechAuth
from ports import AudioFormat, AudioFrame
from tests.emulators.speech_engines import ToneSynthesizer, ToneTranscriber
from tests.emulators.speech_standin import DEFAULT_KEY, SpeechStandIn, running_speech_standin

TONE_WORDS = {440: "alpha", 660: "bravo", 880: "charlie", 1100: "delta"}
"""Tone (Hz) -> word the stand-in "hears" for it (content-keyed, so replays agree)."""


def tone(hz: float, ms: float, rate_hz: int = 16000, amplitude: int = 8000) -> bytes:
    """PCM16 mono sine tone."""
    n = int(rate_hz * ms / 1000)
    t = np.arange(n, dtype=np.float64) / rate_hz
    return (amplitude * np.sin(2 * math.pi * hz * t)).astype("<i2").tobytes()


def silence(ms: float, rate_hz: int = 16000) -> bytes:
    """PCM16 mono silence."""
    return b"\x00\x00" * int(rate_hz * ms / 1000)


def frames(pcm: bytes, fmt: AudioFormat, frame_ms: int = 20) -> list[AudioFrame]:
    """Cut PCM into ``frame_ms`` frames of ``fmt``."""
    size = fmt.frame_bytes(frame_ms)
    return [AudioFrame(pcm[i : i + size], fmt) for i in range(0, len(pcm), size)]


@pytest.fixture
def speech_standin() -> Iterator[SpeechStandIn]:
    """A stand-in that hears tones as words and speaks words as tones (fast, exact)."""
    standin = SpeechStandIn(
        transcriber=ToneTranscriber(TONE_WORDS), synthesizer=ToneSynthesizer(), silence_ms=200
    )
    with running_speech_standin(standin) as running:
        yield running


@pytest.fixture
def speech_auth(speech_standin: SpeechStandIn) -> AzureSpeechAuth:
    """Key auth pointed at the stand-in's host."""
    return AzureSpeechAuth(key=DEFAULT_KEY, host=speech_standin.host)
