"""Contract of ports.VoiceActivityDetector: 0..1 scores, speech above silence, bad frames.

The suite is :class:`VadContract`; subclass it in a test module and define the
``vad_case`` fixture returning a :class:`~bootstrap.contract.cases.VadCase`.
"""

from __future__ import annotations

import pytest

from bootstrap.contract.cases import VadCase
from bootstrap.contract.suite import ContractSuite
from ports import InvalidAudioError


class VadContract(ContractSuite):
    """The promises of :class:`ports.VadFactory`; needs a ``vad_case`` fixture."""

    port = "vad"
    protocol = "ports.VadFactory"
    case_fixture = "vad_case"

    def test_probabilities_are_between_zero_and_one(self, vad_case: VadCase) -> None:
        vad = vad_case.factory(vad_case.fmt)
        for frame in [*vad_case.silence, *vad_case.speech]:
            probability = vad.speech_probability(frame)
            assert isinstance(probability, float)
            assert 0.0 <= probability <= 1.0

    def test_silence_scores_below_half(self, vad_case: VadCase) -> None:
        vad = vad_case.factory(vad_case.fmt)
        assert all(vad.speech_probability(f) < 0.5 for f in vad_case.silence)

    def test_speech_scores_above_half_on_average(self, vad_case: VadCase) -> None:
        vad = vad_case.factory(vad_case.fmt)
        scores = [vad.speech_probability(f) for f in vad_case.speech]
        assert sum(scores) / len(scores) >= 0.5

    def test_each_call_gets_its_own_detector(self, vad_case: VadCase) -> None:
        first = vad_case.factory(vad_case.fmt)
        second = vad_case.factory(vad_case.fmt)
        assert first is not second
        frames = [*vad_case.silence[:10], *vad_case.speech[:10]]
        # A detector keeps state per call: feeding one must not change what the other says.
        scores_first = [first.speech_probability(f) for f in frames]
        scores_second = [second.speech_probability(f) for f in frames]
        assert scores_first == scores_second

    def test_a_frame_the_engine_cannot_take_is_refused(self, vad_case: VadCase) -> None:
        if vad_case.invalid_frame is None:
            pytest.skip("this detector takes frames of any rate and duration")
        vad = vad_case.factory(vad_case.fmt)
        with pytest.raises(InvalidAudioError):
            vad.speech_probability(vad_case.invalid_frame)

    def test_a_format_the_engine_cannot_take_is_refused(self, vad_case: VadCase) -> None:
        if vad_case.unsupported_format is None:
            pytest.skip("this detector takes every format")
        with pytest.raises(InvalidAudioError):
            vad_case.factory(vad_case.unsupported_format)
