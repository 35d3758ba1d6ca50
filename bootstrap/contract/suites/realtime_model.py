"""Contract of ports.realtime.RealtimeModel: one speech-to-speech session per call.

The suite is :class:`RealtimeModelContract`; subclass it in a test module and define the
``realtime_case`` fixture returning a
:class:`~bootstrap.contract.realtime_case.RealtimeModelCase`. What every implementation
promises: event order and units (ms of caller audio, frames in the call's format), responses
and spoken lines, function call round trips, cancellation without task leaks, truncation at
the audio played, error translation to port errors, malformed events dropped and counted, and
reconnection after a drop (docs/adr/0011-realtime-speech-to-speech.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest

from adapters.memory import tone_frames
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.realtime_case import RealtimeModelCase
from bootstrap.contract.suite import ContractSuite
from ports import (
    PCM16_24K,
    AuthenticationError,
    ProviderUnavailableError,
    RateLimitedError,
    ToolSpec,
)
from ports.realtime import (
    FunctionCall,
    InputTranscript,
    RealtimeConfig,
    RealtimeError,
    RealtimeEvent,
    RealtimeSession,
    ResponseAudio,
    ResponseFinished,
    ResponseRequest,
    ResponseStarted,
    ResponseTranscript,
    SessionReconnected,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
    TurnDetectionOptions,
)

CONFIG = RealtimeConfig(
    instructions="You are the test agent.",
    tools=(ToolSpec("check_balance", "The balance."),),
    turn_detection=TurnDetectionOptions(TurnDetection.SERVER_VAD, silence_duration_ms=300),
)
"""The session every test opens: one tool, server VAD ending a turn after 300 ms of silence."""

E = TypeVar("E")


class Reader:
    """Collects a session's events in a task, as the call runtime's reader does."""

    def __init__(self, session: RealtimeSession) -> None:
        self.events: list[RealtimeEvent] = []
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._read(session), name="contract-realtime-reader")

    async def _read(self, session: RealtimeSession) -> None:
        try:
            async for event in session.events():
                self.events.append(event)
        except Exception as exc:  # noqa: BLE001 - kept for the failing test to show
            self.error = exc

    async def until(
        self, predicate: Callable[[list[RealtimeEvent]], bool], timeout_s: float = 10.0
    ) -> list[RealtimeEvent]:
        """Wait (at most ``timeout_s`` seconds) until ``predicate(events)`` holds."""
        async with asyncio.timeout(timeout_s):
            while not predicate(self.events):
                if self._task.done():
                    raise AssertionError(f"events ended early: {self.error!r}")
                await asyncio.sleep(0.01)
        return self.events

    def of(self, kind: type[E]) -> list[E]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        """Cancel the reading task and wait for it."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def finished(events: list[RealtimeEvent], count: int = 1) -> bool:
    """True once ``count`` responses have finished."""
    return sum(isinstance(e, ResponseFinished) for e in events) >= count


def speak(session: RealtimeSession, loud_ms: int = 600, quiet_ms: int = 700) -> None:
    """Push ``loud_ms`` of tone then ``quiet_ms`` of silence, 24 kHz PCM16."""
    for frame in tone_frames(PCM16_24K, loud_ms):
        session.push_audio(frame)
    for frame in tone_frames(PCM16_24K, quiet_ms, amplitude=0):
        session.push_audio(frame)


class RealtimeModelContract(ContractSuite):
    """The promises of :class:`ports.realtime.RealtimeModel`; needs a ``realtime_case``."""

    port = "realtime"
    protocol = "ports.realtime.RealtimeModel"
    case_fixture = "realtime_case"

    async def test_caller_speech_is_reported_in_order_with_offsets_in_ms(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        realtime_case.script(["what is my balance"], [])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            speak(session)
            events = await reader.until(
                lambda ev: any(isinstance(e, InputTranscript) and e.is_final for e in ev)
            )
            await reader.stop()
        kinds = [type(e) for e in events if not isinstance(e, InputTranscript) or e.is_final]
        assert kinds[:3] == [SpeechStarted, SpeechStopped, InputTranscript]
        started, stopped = reader.of(SpeechStarted)[0], reader.of(SpeechStopped)[0]
        assert 0 <= started.audio_start_ms < stopped.audio_end_ms <= 1300
        assert 400 <= stopped.audio_end_ms - started.audio_start_ms <= 1000  # 600 ms spoken
        [final] = [e for e in reader.of(InputTranscript) if e.is_final]
        assert final.text == "what is my balance"

    async def test_a_response_streams_audio_and_its_transcript_then_finishes(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        realtime_case.script([], [("Your balance is forty two dollars.", ())])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            events = await reader.until(finished)
            await reader.stop()
        assert isinstance(events[0], ResponseStarted)
        assert isinstance(events[-1], ResponseFinished)
        rid = events[0].response_id
        audio = reader.of(ResponseAudio)
        assert audio and all(a.response_id == rid and a.frame.format == PCM16_24K for a in audio)
        assert len({a.item_id for a in audio}) == 1 and audio[0].item_id
        text = "".join(t.text for t in reader.of(ResponseTranscript))
        assert text == "Your balance is forty two dollars."
        done = reader.of(ResponseFinished)[0]
        assert done.response_id == rid and done.status == "completed"
        assert done.input_tokens >= 0 and done.output_tokens >= 0

    async def test_a_line_is_spoken_as_given_without_tools(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        realtime_case.script([], [("ignored", (("check_balance", {}),))])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest(line="Hello, how can I help?"))
            await reader.until(finished)
            await reader.stop()
        assert "".join(t.text for t in reader.of(ResponseTranscript)) == "Hello, how can I help?"
        assert reader.of(FunctionCall) == [] and reader.of(ResponseAudio)

    async def test_a_function_call_round_trip(self, realtime_case: RealtimeModelCase) -> None:
        case = realtime_case
        case.script([], [("", (("check_balance", {"account": "savings"}),)), ("Done.", ())])
        async with case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(finished)
            [call] = reader.of(FunctionCall)
            assert call.call.name == "check_balance"
            assert call.call.arguments == {"account": "savings"}
            assert call.call.id
            assert call.response_id == reader.of(ResponseStarted)[0].response_id
            kinds = [type(e) for e in reader.events]
            assert kinds.index(FunctionCall) < kinds.index(ResponseFinished)
            await session.send_tool_output(call.call.id, '{"balance": 42}')
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: finished(ev, 2))
            await reader.stop()
        assert (call.call.id, '{"balance": 42}') in case.tool_outputs()
        assert reader.of(RealtimeError) == []

    async def test_cancelling_a_response_finishes_it_as_cancelled_and_leaves_no_task(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        case = realtime_case
        case.slow()
        case.script(
            [], [("This answer is long enough to be cut off well before its end. " * 3, ())]
        )
        async with no_task_leak(), case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: any(isinstance(e, ResponseAudio) for e in ev))
            await session.cancel_response()
            events = await reader.until(finished)
            await reader.stop()
        [done] = reader.of(ResponseFinished)
        assert done.status == "cancelled"
        last_audio = max(i for i, e in enumerate(events) if isinstance(e, ResponseAudio))
        assert last_audio < events.index(done)

    async def test_truncate_reaches_the_service(self, realtime_case: RealtimeModelCase) -> None:
        realtime_case.script([], [("Some words to cut.", ())])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(finished)
            item = reader.of(ResponseAudio)[0].item_id
            await session.truncate(item, 250)
            async with asyncio.timeout(5):
                # The service records it on its own side: polled, there is no event to await.
                while (item, 250) not in realtime_case.truncations():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            await reader.stop()

    async def test_a_rate_limit_event_becomes_a_rate_limited_port_error(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            realtime_case.rate_limit(session)
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: any(isinstance(e, RealtimeError) for e in ev))
            await reader.stop()
        [error] = reader.of(RealtimeError)
        assert isinstance(error.error, RateLimitedError)
        assert error.error.code == "rate_limited"

    async def test_refused_credentials_and_an_unavailable_service_raise_port_errors(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        if realtime_case.bad_key is not None:
            with pytest.raises(AuthenticationError):
                async with realtime_case.bad_key.session(CONFIG, PCM16_24K):
                    pass
        realtime_case.refuse()
        with pytest.raises(ProviderUnavailableError):
            async with realtime_case.model.session(CONFIG, PCM16_24K):
                pass

    async def test_after_a_drop_the_session_reconnects_and_answers_again(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        realtime_case.script([], [("First.", ()), ("Second.", ())])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(finished)
            realtime_case.drop(session)
            await reader.until(lambda ev: any(isinstance(e, SessionReconnected) for e in ev))
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: finished(ev, 2))
            await reader.stop()
        assert "".join(t.text for t in reader.of(ResponseTranscript)).endswith("Second.")

    async def test_malformed_and_unknown_server_events_are_dropped_and_counted(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        if realtime_case.garbage is None:
            pytest.skip("this implementation has no wire to send malformed events on")
        realtime_case.script([], [("Still here.", ())])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(finished)
            realtime_case.garbage(session)
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: finished(ev, 2))
            await reader.stop()
            assert session.dropped_events == 3

    async def test_a_drop_mid_response_reconnects_and_that_response_never_finishes(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        if realtime_case.drop_after_audio is None:
            pytest.skip("this implementation cannot drop in the middle of a response")
        realtime_case.script(
            [], [("A long answer that the network cuts in the middle of it all.", ())]
        )
        realtime_case.drop_after_audio(2)
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            await reader.until(lambda ev: any(isinstance(e, SessionReconnected) for e in ev))
            await reader.stop()
        assert reader.of(ResponseFinished) == []
        assert len(reader.of(ResponseAudio)) <= 2

    async def test_a_slow_first_audio_still_comes_after_the_response_started(
        self, realtime_case: RealtimeModelCase
    ) -> None:
        if realtime_case.slow_first_audio is None:
            pytest.skip("this implementation cannot delay its first audio")
        realtime_case.slow_first_audio(0.3)
        realtime_case.script([], [("Finally.", ())])
        async with realtime_case.model.session(CONFIG, PCM16_24K) as session:
            reader = Reader(session)
            await session.create_response(ResponseRequest())
            events = await reader.until(finished)
            await reader.stop()
        assert isinstance(events[0], ResponseStarted)
        assert "".join(t.text for t in reader.of(ResponseTranscript)) == "Finally."
