"""Contract of ports.EndOfTurnDetector: probabilities, complete vs cut-off turns, errors.

Also formats, windows, concurrency and cancellation.

The suite is :class:`EndOfTurnContract`; subclass it in a test module and define the
``eot_case`` fixture returning a :class:`~bootstrap.contract.cases.EndOfTurnCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import EndOfTurnCase
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import AudioFormat, AudioFrame, InvalidAudioError, ProviderError


def convert_frame(frame: AudioFrame, fmt: AudioFormat) -> AudioFrame:
    """``frame`` resampled and re-encoded to ``fmt`` (Parley's own converter)."""
    # Imported here: the converter loads numpy and soxr, which only this suite needs, and a
    # kit run of another port (`parley contract stt ...`) should not load them.
    from adapters.audio import convert_frame as convert

    return convert(frame, fmt)


def some_turn(case: EndOfTurnCase) -> AudioFrame:
    """The case's complete turn, or one second of near-silence when it has none."""
    return case.complete or AudioFrame(b"\x00\x01" * 16000, case.formats[0])


async def predict(case: EndOfTurnCase, audio: AudioFrame) -> float:
    """One prediction within the case's budget."""
    async with asyncio.timeout(case.timeout_s):
        return await case.detector.predict(audio)


class EndOfTurnContract(ContractSuite):
    """The promises of :class:`ports.EndOfTurnDetector`; needs an ``eot_case`` fixture."""

    port = "end_of_turn"
    protocol = "ports.EndOfTurnDetector"
    case_fixture = "eot_case"

    async def test_a_prediction_is_a_probability_in_every_format(
        self, eot_case: EndOfTurnCase
    ) -> None:
        turn = some_turn(eot_case)
        for fmt in eot_case.formats:
            probability = await predict(eot_case, convert_frame(turn, fmt))
            assert isinstance(probability, float)
            assert 0.0 <= probability <= 1.0, fmt

    async def test_a_finished_sentence_is_complete_and_a_cut_off_one_is_not(
        self,
        eot_case: EndOfTurnCase,
    ) -> None:
        if eot_case.complete is None or eot_case.incomplete is None:
            pytest.skip("a scripted detector does not judge audio")
        for fmt in eot_case.formats:
            complete = await predict(eot_case, convert_frame(eot_case.complete, fmt))
            incomplete = await predict(eot_case, convert_frame(eot_case.incomplete, fmt))
            assert complete >= 0.5 > incomplete, (fmt, complete, incomplete)

    async def test_audio_longer_or_much_shorter_than_the_window_is_taken(
        self,
        eot_case: EndOfTurnCase,
    ) -> None:
        assert eot_case.detector.window_ms > 0
        fmt = eot_case.formats[0]
        long_ms = int(eot_case.detector.window_ms) + 3000
        long = AudioFrame(b"\x00" * fmt.frame_bytes(long_ms), fmt)
        short = AudioFrame(b"\x00" * fmt.frame_bytes(100), fmt)
        for audio in (long, short, AudioFrame(b"", fmt)):
            assert 0.0 <= await predict(eot_case, audio) <= 1.0

    async def test_concurrent_predictions_give_the_same_answer(
        self, eot_case: EndOfTurnCase
    ) -> None:
        if eot_case.complete is None:
            pytest.skip("a scripted detector answers in script order")
        turn = eot_case.complete
        answers = await asyncio.gather(*(predict(eot_case, turn) for _ in range(3)))
        assert max(answers) - min(answers) < 1e-4

    async def test_audio_it_cannot_take_is_refused_at_once(self, eot_case: EndOfTurnCase) -> None:
        stereo = AudioFormat(16000, 2)
        with pytest.raises(InvalidAudioError):
            await predict(eot_case, AudioFrame(b"\x00" * 6400, stereo))

    async def test_cancelling_a_prediction_leaves_no_task(self, eot_case: EndOfTurnCase) -> None:
        async with no_task_leak():
            task = asyncio.create_task(eot_case.detector.predict(some_turn(eot_case)))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # The detector stays usable.
        assert 0.0 <= await predict(eot_case, some_turn(eot_case)) <= 1.0

    async def test_model_failures_raise_port_errors(self, eot_case: EndOfTurnCase) -> None:
        assert eot_case.failures, "an implementation must show how it fails"
        for failing in eot_case.failures:
            assert issubclass(failing.expected, ProviderError), failing.label
            with pytest.raises(failing.expected):
                async with asyncio.timeout(eot_case.timeout_s):
                    await failing.adapter.predict(some_turn(eot_case))
