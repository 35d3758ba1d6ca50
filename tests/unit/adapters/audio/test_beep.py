"""The beep detector: voicemail beeps are found, speech is not a beep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.audio.beep import ToneBeepDetector, ToneBeepDetectors
from adapters.audio.convert import read_wav
from ports import MULAW_8K, AudioFormat, AudioFrame, InvalidAudioError

FMT = AudioFormat(8000)


def frames(pcm: bytes, fmt: AudioFormat = FMT) -> list[AudioFrame]:
    size = fmt.frame_bytes(20)
    return [AudioFrame(pcm[i : i + size], fmt) for i in range(0, len(pcm) - size + 1, size)]


def tone(hz: float, ms: int, fmt: AudioFormat = FMT, noise: float = 300.0) -> bytes:
    t = np.arange(fmt.sample_rate_hz * ms // 1000) / fmt.sample_rate_hz
    signal = 3000 * np.sin(2 * np.pi * hz * t) + np.random.default_rng(1).normal(0, noise, t.size)
    return signal.astype("<i2").tobytes()


@pytest.mark.parametrize("hz", [440, 850, 1000, 1400, 2000])
@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_beep_under_noise_is_found_once(hz: float, rate: int) -> None:
    fmt = AudioFormat(rate)
    detector = ToneBeepDetector(fmt)
    hits = [detector.process(f) for f in frames(tone(hz, 1000, fmt), fmt)]
    assert sum(hits) == 1
    assert hits.index(True) * 20 <= 260  # within about its 200 ms minimum


def test_a_click_shorter_than_the_minimum_is_no_beep() -> None:
    detector = ToneBeepDetector(FMT)
    assert not any(detector.process(f) for f in frames(tone(1000, 120) + bytes(3200)))


def test_speech_clips_are_not_beeps(shared_audio_dir: Path) -> None:
    clips = sorted(shared_audio_dir.glob("*.wav"))
    assert clips
    for clip in clips:
        detector = ToneBeepDetector(FMT)
        assert not any(detector.process(f) for f in frames(read_wav(clip, FMT).data)), clip.name


def test_wrong_formats_are_refused() -> None:
    with pytest.raises(InvalidAudioError):
        ToneBeepDetectors()(MULAW_8K)
    with pytest.raises(InvalidAudioError):
        ToneBeepDetector(FMT).process(AudioFrame(bytes(640), AudioFormat(16000)))
