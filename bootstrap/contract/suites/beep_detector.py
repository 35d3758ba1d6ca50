"""Contract of ports.BeepDetector: one report per beep, none for silence, formats checked.

The suite is :class:`BeepDetectorContract`; subclass it in a test module and define the
``beep_case`` fixture returning a :class:`~bootstrap.contract.cases.BeepDetectorCase`.
"""

from __future__ import annotations

import math

import pytest

from bootstrap.contract.cases import BeepDetectorCase
from bootstrap.contract.suite import ContractSuite
from ports import AudioFormat, AudioFrame, InvalidAudioError


def sine(fmt: AudioFormat, hz: float, ms: int) -> list[AudioFrame]:
    """20 ms PCM16 frames of a ``hz`` sine wave (amplitude 6000) lasting ``ms``."""
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


class BeepDetectorContract(ContractSuite):
    """The promises of :class:`ports.BeepDetectorFactory`; needs a ``beep_case`` fixture."""

    port = "beep_detector"
    protocol = "ports.BeepDetectorFactory"
    case_fixture = "beep_case"

    # The call audio rates a detector is given (narrowband telephony, ACS 16 and 24 kHz).
    @pytest.mark.parametrize("rate", [8000, 16000, 24000])
    def test_a_beep_is_reported_once_and_silence_never(
        self, beep_case: BeepDetectorCase, rate: int
    ) -> None:
        fmt = AudioFormat(rate)
        detector = beep_case.factory(fmt)
        silence = [AudioFrame(bytes(fmt.frame_bytes(20)), fmt)] * 50
        assert not any(detector.process(f) for f in silence)
        assert sum(detector.process(f) for f in sine(fmt, 1000.0, 800)) == 1

    def test_frames_in_another_format_are_refused(self, beep_case: BeepDetectorCase) -> None:
        detector = beep_case.factory(AudioFormat(16000))
        with pytest.raises(InvalidAudioError):
            detector.process(AudioFrame(bytes(320), AudioFormat(8000)))
