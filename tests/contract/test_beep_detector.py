"""Contract of ports.BeepDetector: one report per beep, none for silence, formats checked."""

from __future__ import annotations

import math

import pytest

from adapters.audio.beep import ToneBeepDetectors
from ports import AudioFormat, AudioFrame, BeepDetectorFactory, InvalidAudioError

BEEP_DETECTORS = [pytest.param(ToneBeepDetectors(), id="tone")]


@pytest.fixture(params=BEEP_DETECTORS)
def detectors(request: pytest.FixtureRequest) -> BeepDetectorFactory:
    factory: BeepDetectorFactory = request.param
    return factory


def sine(fmt: AudioFormat, hz: float, ms: int) -> list[AudioFrame]:
    n = fmt.sample_rate_hz // 50
    frames = []
    for index in range(ms // 20):
        samples = (
            int(6000 * math.sin(2 * math.pi * hz * (index * n + i) / fmt.sample_rate_hz))
            for i in range(n)
        )
        frames.append(
            AudioFrame(b"".join(s.to_bytes(2, "little", signed=True) for s in samples), fmt)
        )
    return frames


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_beep_is_reported_once_and_silence_never(
    detectors: BeepDetectorFactory, rate: int
) -> None:
    fmt = AudioFormat(rate)
    detector = detectors(fmt)
    silence = [AudioFrame(bytes(fmt.frame_bytes(20)), fmt)] * 50
    assert not any(detector.process(f) for f in silence)
    assert sum(detector.process(f) for f in sine(fmt, 1000.0, 800)) == 1


def test_frames_in_another_format_are_refused(detectors: BeepDetectorFactory) -> None:
    detector = detectors(AudioFormat(16000))
    with pytest.raises(InvalidAudioError):
        detector.process(AudioFrame(bytes(320), AudioFormat(8000)))
