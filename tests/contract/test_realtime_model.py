"""The ``RealtimeModel`` contract, run against the fake, Voice Live and OpenAI Realtime.

Voice Live and OpenAI (and Azure OpenAI's GA path) talk through their real SDKs to the local
stand-in (``tests/emulators/realtime_standin.py``). What every implementation promises: event
order and units (ms of caller audio, frames in the call's format), responses and lines,
function call round trips, cancellation without task leaks, truncation, error translation,
malformed events dropped and counted, and reconnection after a drop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.memory import tone_frames
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
from tests.contract.impl_realtime import (  # noqa: F401 - fixtures, resolved by name
    RealtimeCase,
    azure_openai_realtime,
    fake_realtime,
    openai_realtime,
    realtime_standin_server,
    voicelive_realtime,
)
from tests.emulators.realtime_standin import RealtimeStandin

STANDIN = pytest.mark.standin
REALTIME = [
    pytest.param("fake_realtime", id="fake"),
    pytest.param("voicelive_realtime", id="voicelive", marks=STANDIN),
    pytest.param("openai_realtime", id="openai", marks=STANDIN),
    pytest.param("azure_openai_realtime", id="azure_openai", marks=STANDIN),
]
WIRE = REALTIME[1:]

CONFIG = RealtimeConfig(
    instructions="You are the test agent.",
    tools=(ToolSpec("check_balance", "The balance."),),
    turn_detection=TurnDetectionOptions(TurnDetection.SERVER_VAD, silence_duration_ms=300),
)


@pytest.fixture(params=REALTIME)
def case(request: pytest.FixtureRequest) -> RealtimeCase:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=WIRE)
def wire_case(request: pytest.FixtureRequest) -> RealtimeCase:
    return request.getfixturevalue(request.param)


class Reader:
    """Collects a session's events in a task."""

    def __init__(self, session: RealtimeSession) -> None:
        self.events: list[RealtimeEvent] = []
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._read(session))

    async def _read(self, session: RealtimeSession) -> None:
        try:
            async for event in session.events():
                self.events.append(event)
        except Exception as exc:  # noqa: BLE001 (kept for the test to check)
            self.error = exc

    async def until(self, predicate, timeout_s: float = 10.0) -> list[RealtimeEvent]:
        async with asyncio.timeout(timeout_s):
            while not predicate(self.events):
                if self._task.done():
                    raise AssertionError(f"events ended early: {self.error!r}")
                await asyncio.sleep(0.01)
        return self.events

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def finished(events: list[RealtimeEvent], count: int = 1) -> bool:
    return sum(isinstance(e, ResponseFinished) for e in events) >= count


async def speak(session: RealtimeSession, loud_ms: int = 600, quiet_ms: int = 700) -> None:
    for frame in tone_frames(PCM16_24K, loud_ms):
        session.push_audio(frame)
    for frame in tone_frames(PCM16_24K, quiet_ms, amplitude=0):
        session.push_audio(frame)


@pytest.fixture
async def opened(case: RealtimeCase) -> AsyncIterator[tuple[RealtimeCase, RealtimeSession]]:
    async with case.model.session(CONFIG, PCM16_24K) as session:
        yield case, session


async def test_caller_speech_is_reported_in_order_with_offsets_in_ms(opened):
    case, session = opened
    case.script(["what is my balance"], [])
    reader = Reader(session)
    await speak(session)
    events = await reader.until(
        lambda ev: any(isinstance(e, InputTranscript) and e.is_final for e in ev)
    )
    kinds = [type(e) for e in events if not isinstance(e, InputTranscript) or e.is_final]
    assert kinds[:3] == [SpeechStarted, SpeechStopped, InputTranscript]
    started, stopped = reader.of(SpeechStarted)[0], reader.of(SpeechStopped)[0]
    assert 0 <= started.audio_start_ms < stopped.audio_end_ms <= 1300
    assert 400 <= stopped.audio_end_ms - started.audio_start_ms <= 1000  # 600 ms of speech
    [final] = [e for e in reader.of(InputTranscript) if e.is_final]
    assert final.text == "what is my balance"
    await reader.stop()


async def test_a_response_streams_audio_and_its_transcript_then_finishes(opened):
    case, session = opened
    case.script([], [("Your balance is forty two dollars.", ())])
    reader = Reader(session)
    await session.create_response(ResponseRequest())
    events = await reader.until(finished)
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
    await reader.stop()


async def test_a_line_is_spoken_as_given_without_tools(opened):
    case, session = opened
    case.script([], [("ignored", (("check_balance", {}),))])
    reader = Reader(session)
    await session.create_response(ResponseRequest(line="Hello, how can I help?"))
    await reader.until(finished)
    assert "".join(t.text for t in reader.of(ResponseTranscript)) == "Hello, how can I help?"
    assert reader.of(FunctionCall) == [] and reader.of(ResponseAudio)
    await reader.stop()


async def test_a_function_call_round_trip(opened):
    case, session = opened
    case.script([], [("", (("check_balance", {"account": "savings"}),)), ("Done.", ())])
    reader = Reader(session)
    await session.create_response(ResponseRequest())
    await reader.until(finished)
    [call] = reader.of(FunctionCall)
    assert call.call.name == "check_balance" and call.call.arguments == {"account": "savings"}
    assert call.call.id and call.response_id == reader.of(ResponseStarted)[0].response_id
    kinds = [type(e) for e in reader.events]
    assert kinds.index(FunctionCall) < kinds.index(ResponseFinished)
    await session.send_tool_output(call.call.id, '{"balance": 42}')
    await session.create_response(ResponseRequest())
    await reader.until(lambda ev: finished(ev, 2))
    assert (call.call.id, '{"balance": 42}') in case.tool_outputs()
    assert reader.of(RealtimeError) == []
    await reader.stop()


async def test_cancelling_a_response_finishes_it_as_cancelled_and_leaves_no_task(case):
    before = {t for t in asyncio.all_tasks() if not t.done()}
    case.slow()
    case.script([], [("This answer is long enough to be cut off well before its end. " * 3, ())])
    async with case.model.session(CONFIG, PCM16_24K) as session:
        reader = Reader(session)
        await session.create_response(ResponseRequest())
        await reader.until(lambda ev: any(isinstance(e, ResponseAudio) for e in ev))
        await session.cancel_response()
        events = await reader.until(finished)
        assert reader.of(ResponseFinished)[0].status == "cancelled"
        last = max(i for i, e in enumerate(events) if isinstance(e, ResponseAudio))
        assert last < events.index(reader.of(ResponseFinished)[0])
        await reader.stop()
    await asyncio.sleep(0.05)
    after = {t for t in asyncio.all_tasks() if not t.done()} - before
    assert after == {asyncio.current_task()} or after == set()


async def test_truncate_reaches_the_service(opened):
    case, session = opened
    case.script([], [("Some words to cut.", ())])
    reader = Reader(session)
    await session.create_response(ResponseRequest())
    await reader.until(finished)
    item = reader.of(ResponseAudio)[0].item_id
    await session.truncate(item, 250)
    async with asyncio.timeout(5):
        while (item, 250) not in case.truncations():
            await asyncio.sleep(0.01)
    await reader.stop()


async def test_a_rate_limit_event_becomes_a_rate_limited_port_error(opened):
    case, session = opened
    reader = Reader(session)
    case.rate_limit(session)
    await session.create_response(ResponseRequest())
    await reader.until(lambda ev: any(isinstance(e, RealtimeError) for e in ev))
    [error] = reader.of(RealtimeError)
    assert isinstance(error.error, RateLimitedError) and error.error.code == "rate_limited"
    await reader.stop()


async def test_refused_credentials_and_an_unavailable_service_raise_port_errors(case):
    if case.bad_key is not None:
        with pytest.raises(AuthenticationError):
            async with case.bad_key.session(CONFIG, PCM16_24K):
                pass
    case.refuse()
    with pytest.raises(ProviderUnavailableError):
        async with case.model.session(CONFIG, PCM16_24K):
            pass


async def test_after_a_drop_the_session_reconnects_and_answers_again(opened):
    case, session = opened
    case.script([], [("First.", ()), ("Second.", ())])
    reader = Reader(session)
    await session.create_response(ResponseRequest())
    await reader.until(finished)
    case.drop(session)
    await reader.until(lambda ev: any(isinstance(e, SessionReconnected) for e in ev))
    await session.create_response(ResponseRequest())
    await reader.until(lambda ev: finished(ev, 2))
    texts = "".join(t.text for t in reader.of(ResponseTranscript))
    assert texts.endswith("Second.")
    await reader.stop()


async def test_malformed_and_unknown_server_events_are_dropped_and_counted(wire_case):
    case = wire_case
    case.script([], [("Still here.", ())])
    async with case.model.session(CONFIG, PCM16_24K) as session:
        reader = Reader(session)
        await session.create_response(ResponseRequest())
        await reader.until(finished)
        assert case.garbage is not None
        case.garbage(session)
        await session.create_response(ResponseRequest())
        await reader.until(lambda ev: finished(ev, 2))
        assert session.dropped_events == 3
        await reader.stop()


async def test_a_drop_mid_response_reconnects_and_that_response_never_finishes(wire_case):
    case = wire_case
    standin = case.extras["standin"]
    case.script([], [("A long answer that the network cuts in the middle of it all.", ())])
    standin.faults.drop_after_audio = 2
    async with case.model.session(CONFIG, PCM16_24K) as session:
        reader = Reader(session)
        await session.create_response(ResponseRequest())
        await reader.until(lambda ev: any(isinstance(e, SessionReconnected) for e in ev))
        assert reader.of(ResponseFinished) == []
        assert len(reader.of(ResponseAudio)) <= 2
        await reader.stop()


async def test_a_slow_first_audio_still_comes_after_the_response_started(wire_case):
    case = wire_case
    case.extras["standin"].faults.slow_first_audio_s = 0.3
    case.script([], [("Finally.", ())])
    async with case.model.session(CONFIG, PCM16_24K) as session:
        reader = Reader(session)
        await session.create_response(ResponseRequest())
        events = await reader.until(finished)
        assert isinstance(events[0], ResponseStarted)
        assert "".join(t.text for t in reader.of(ResponseTranscript)) == "Finally."
        await reader.stop()


async def test_voice_live_authenticates_with_a_microsoft_entra_token(
    realtime_standin_server: RealtimeStandin,  # noqa: F811 - the fixture imported above
) -> None:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential

    from adapters.realtime.voicelive import VoiceLiveRealtimeModel
    from tests.emulators.realtime_standin import BEARER

    class StaticToken(AsyncTokenCredential):
        """An async token credential (as DefaultAzureCredential is), with a fixed token."""

        def __init__(self) -> None:
            self.scopes: list[str] = []

        async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            self.scopes.extend(scopes)
            return AccessToken(BEARER, int(__import__("time").time()) + 3600)

        async def close(self) -> None:
            return None

        async def __aexit__(self, *exc: object) -> None:
            return None

    credential = StaticToken()
    model = VoiceLiveRealtimeModel(realtime_standin_server.base_url, credential, "gpt-realtime")
    async with model.session(CONFIG, PCM16_24K):
        pass
    assert credential.scopes == ["https://ai.azure.com/.default"]
    headers = realtime_standin_server.sessions[-1].headers
    assert headers.get("Authorization") == f"Bearer {BEARER}"
