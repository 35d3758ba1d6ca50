"""WebRTC VAD adapter: rates, frame sizes, aggressiveness."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.audio import FormatConverter, split_frames
from adapters.local.vad import WebRtcVadFactory
from ports import MULAW_8K, PCM16_16K, PCM16_24K, AudioFormat, AudioFrame, InvalidAudioError


def voiced(fmt: AudioFormat, ms: int) -> list[AudioFrame]:
    """A buzzy vowel-like signal (120 Hz pulse train with harmonics), then frames of 20 ms."""
    rate = 16000
    t = np.arange(rate * ms // 1000) / rate
    signal = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 25))
    pcm = (6000 * signal / np.max(np.abs(signal))).astype("<i2").tobytes()
    clip = AudioFrame(pcm, PCM16_16K)
    converter = FormatConverter(PCM16_16K, fmt)
    return split_frames(converter.convert(clip), 20, pad=True)


@pytest.mark.parametrize("fmt", [PCM16_16K, PCM16_24K, MULAW_8K, AudioFormat(48000)])
def test_silence_scores_zero_and_voiced_sound_scores_one(fmt: AudioFormat) -> None:
    vad = WebRtcVadFactory(aggressiveness=1)(fmt)
    silence = (
        AudioFrame(b"\xff" * fmt.frame_bytes(20), fmt)
        if fmt == MULAW_8K
        else AudioFrame(b"\x00" * fmt.frame_bytes(20), fmt)
    )
    assert vad.speech_probability(silence) == 0.0
    scores = [vad.speech_probability(f) for f in voiced(fmt, 600)]
    assert sum(scores[2:]) >= 0.8 * len(scores[2:])


@pytest.mark.parametrize("ms", [10, 20, 30])
def test_vad_takes_10_20_and_30_ms_frames(ms: int) -> None:
    vad = WebRtcVadFactory()(PCM16_16K)
    assert vad.speech_probability(AudioFrame(b"\x00" * PCM16_16K.frame_bytes(ms), PCM16_16K)) == 0.0


def test_a_frame_of_the_wrong_duration_raises_a_clear_error() -> None:
    vad = WebRtcVadFactory()(PCM16_16K)
    with pytest.raises(InvalidAudioError, match="10, 20 or 30 ms"):
        vad.speech_probability(AudioFrame(b"\x00" * 500, PCM16_16K))


def test_a_frame_of_the_wrong_rate_raises_a_clear_error() -> None:
    vad = WebRtcVadFactory()(PCM16_16K)
    with pytest.raises(InvalidAudioError, match="expected"):
        vad.speech_probability(AudioFrame(b"\x00" * 960, PCM16_24K))


def test_aggressiveness_outside_0_to_3_is_refused() -> None:
    with pytest.raises(ValueError, match="0..3"):
        WebRtcVadFactory(aggressiveness=4)
