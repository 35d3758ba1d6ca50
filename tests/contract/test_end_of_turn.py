"""Contract of ports.EndOfTurnDetector: probabilities, complete vs cut-off turns, formats,
windows, concurrency, cancellation and errors."""

from __future__ import annotations

import asyncio

import pytest

from adapters.audio import convert_frame
from ports import AudioFormat, AudioFrame, InvalidAudioError, ProviderError
from tests.contract.cases import EndOfTurnCase
from tests.contract.conftest import END_OF_TURN
from tests.contract.helpers import no_task_leak


@pytest.fixture(params=END_OF_TURN)
def eot_case(request: pytest.FixtureRequest) -> EndOfTurnCase:
    case: EndOfTurnCase = request.getfixturevalue(request.param)
    return case


def some_turn(case: EndOfTurnCase) -> AudioFrame:
    return case.complete or AudioFrame(b"\x00\x01" * 16000, case.formats[0])


async def predict(case: EndOfTurnCase, audio: AudioFrame) -> float:
    async with asyncio.timeout(case.timeout_s):
        return await case.detector.predict(audio)


async def test_a_prediction_is_a_probability_in_every_format(eot_case: EndOfTurnCase) -> None:
    turn = some_turn(eot_case)
    for fmt in eot_case.formats:
        probability = await predict(eot_case, convert_frame(turn, fmt))
        assert isinstance(probability, float)
        assert 0.0 <= probability <= 1.0, fmt


async def test_a_finished_sentence_is_complete_and_a_cut_off_one_is_not(
    eot_case: EndOfTurnCase,
) -> None:
    if eot_case.complete is None or eot_case.incomplete is None:
        pytest.skip("a scripted detector does not judge audio")
    for fmt in eot_case.formats:
        complete = await predict(eot_case, convert_frame(eot_case.complete, fmt))
        incomplete = await predict(eot_case, convert_frame(eot_case.incomplete, fmt))
        assert complete >= 0.5 > incomplete, (fmt, complete, incomplete)


async def test_audio_longer_or_much_shorter_than_the_window_is_taken(
    eot_case: EndOfTurnCase,
) -> None:
    assert eot_case.detector.window_ms > 0
    fmt = eot_case.formats[0]
    long_ms = int(eot_case.detector.window_ms) + 3000
    long = AudioFrame(b"\x00" * fmt.frame_bytes(long_ms), fmt)
    short = AudioFrame(b"\x00" * fmt.frame_bytes(100), fmt)
    for audio in (long, short, AudioFrame(b"", fmt)):
        assert 0.0 <= await predict(eot_case, audio) <= 1.0


async def test_concurrent_predictions_give_the_same_answer(eot_case: EndOfTurnCase) -> None:
    if eot_case.complete is None:
        pytest.skip("a scripted detector answers in script order")
    turn = eot_case.complete
    answers = await asyncio.gather(*(predict(eot_case, turn) for _ in range(3)))
    assert max(answers) - min(answers) < 1e-4


async def test_audio_it_cannot_take_is_refused_at_once(eot_case: EndOfTurnCase) -> None:
    stereo = AudioFormat(16000, 2)
    with pytest.raises(InvalidAudioError):
        await predict(eot_case, AudioFrame(b"\x00" * 6400, stereo))


async def test_cancelling_a_prediction_leaves_no_task(eot_case: EndOfTurnCase) -> None:
    async with no_task_leak():
        task = asyncio.create_task(eot_case.detector.predict(some_turn(eot_case)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # The detector stays usable.
    assert 0.0 <= await predict(eot_case, some_turn(eot_case)) <= 1.0


async def test_model_failures_raise_port_errors(eot_case: EndOfTurnCase) -> None:
    assert eot_case.failures, "an implementation must show how it fails"
    for failing in eot_case.failures:
        assert issubclass(failing.expected, ProviderError), failing.label
        with pytest.raises(failing.expected):
            async with asyncio.timeout(eot_case.timeout_s):
                await failing.adapter.predict(some_turn(eot_case))
