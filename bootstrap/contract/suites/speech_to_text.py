"""Contract of ports.SpeechToText: words of known audio, order, units, closing, errors.

The suite is :class:`SpeechToTextContract`; subclass it in a test module and define the
``stt_case`` fixture returning a :class:`~bootstrap.contract.cases.SpeechToTextCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import SpeechToTextCase
from bootstrap.contract.helpers import (
    all_increasing,
    no_task_leak,
    other_format,
    silence,
    word_error_rate,
)
from bootstrap.contract.suite import ContractSuite
from ports import (
    InvalidAudioError,
    ProviderError,
    RecognitionSession,
    StreamClosedError,
    TranscriptEvent,
)


async def recognise(case: SpeechToTextCase, session: RecognitionSession) -> list[TranscriptEvent]:
    """Push the case's speech in real order (not paced), flush, and collect every event."""

    async def read() -> list[TranscriptEvent]:
        return [event async for event in session.events()]

    reader = asyncio.create_task(read())
    for frame in case.speech:
        session.push(frame)
        await asyncio.sleep(0)
    await session.flush()
    async with asyncio.timeout(case.timeout_s):
        return await reader


def speech_ms(case: SpeechToTextCase) -> float:
    return sum(frame.duration_ms for frame in case.speech)


class SpeechToTextContract(ContractSuite):
    """The promises of :class:`ports.SpeechToText`; needs a ``stt_case`` fixture."""

    port = "stt"
    protocol = "ports.SpeechToText"
    case_fixture = "stt_case"

    async def test_known_speech_gives_its_words(self, stt_case: SpeechToTextCase) -> None:
        async with stt_case.stt.session(stt_case.fmt) as session:
            events = await recognise(stt_case, session)
        finals = [e for e in events if e.is_final]
        text = " ".join(e.text for e in finals)
        assert finals, f"no final transcript in {events}"
        assert word_error_rate(stt_case.expected_words, text) <= stt_case.max_wer, text

    async def test_events_are_ordered_and_offsets_are_milliseconds(
        self,
        stt_case: SpeechToTextCase,
    ) -> None:
        async with stt_case.stt.session(stt_case.fmt) as session:
            events = await recognise(stt_case, session)
        total_ms = speech_ms(stt_case)
        assert events and events[-1].is_final, "after flush the last event is a final"
        finals = [e for e in events if e.is_final]
        assert all_increasing(e.start_ms for e in finals)
        for event in events:
            # Offsets are ms of pushed audio: inside the audio, not seconds, not samples.
            assert 0.0 <= event.start_ms <= event.end_ms <= total_ms + 20.0, event
            assert event.confidence is None or 0.0 <= event.confidence <= 1.0
        assert max(e.end_ms for e in finals) > total_ms / 10

    async def test_silence_gives_no_final(self, stt_case: SpeechToTextCase) -> None:
        async with stt_case.stt.session(stt_case.fmt) as session:
            for frame in silence(stt_case.fmt, 1000):
                session.push(frame)
            await session.flush()
            async with asyncio.timeout(stt_case.timeout_s):
                events = [event async for event in session.events()]
        assert not [e for e in events if e.is_final and e.text.strip()]

    async def test_a_frame_in_another_format_is_refused(self, stt_case: SpeechToTextCase) -> None:
        async with stt_case.stt.session(stt_case.fmt) as session:
            wrong = silence(other_format(stt_case.fmt), 20)[0]
            with pytest.raises(InvalidAudioError):
                session.push(wrong)

    async def test_push_after_close_raises_stream_closed(self, stt_case: SpeechToTextCase) -> None:
        session = stt_case.stt.session(stt_case.fmt)
        async with session:
            session.push(stt_case.speech[0])
        await session.aclose()
        with pytest.raises(StreamClosedError):
            session.push(stt_case.speech[1])

    async def test_closing_mid_utterance_ends_events_without_a_final_or_a_task(
        self,
        stt_case: SpeechToTextCase,
    ) -> None:
        async with no_task_leak():
            session = stt_case.stt.session(stt_case.fmt)
            await session.__aenter__()

            async def read() -> list[TranscriptEvent]:
                return [event async for event in session.events()]

            reader = asyncio.create_task(read())
            for frame in stt_case.speech[: len(stt_case.speech) // 2]:
                session.push(frame)
                await asyncio.sleep(0)
            await session.aclose()
            await session.aclose()
            async with asyncio.timeout(1):
                events = await reader
        assert not [e for e in events if e.is_final], "aclose() stops without a final"

    async def test_cancelling_a_task_blocked_in_events_is_safe(
        self, stt_case: SpeechToTextCase
    ) -> None:
        async with no_task_leak(), stt_case.stt.session(stt_case.fmt) as session:

            async def read() -> None:
                async for _ in session.events():
                    pass

            reader = asyncio.create_task(read())
            await asyncio.sleep(0.01)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader

    async def test_engine_failures_raise_port_errors(self, stt_case: SpeechToTextCase) -> None:
        assert stt_case.failures, "an implementation must show how it fails"
        for failing in stt_case.failures:
            assert issubclass(failing.expected, ProviderError), failing.label
            async with no_task_leak():
                with pytest.raises(failing.expected):
                    async with failing.adapter.session(stt_case.fmt) as session:
                        await recognise(stt_case, session)
