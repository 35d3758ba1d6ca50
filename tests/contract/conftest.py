"""Implementations under contract: one fixture per (port, adapter), listed per port below.

Every suite in this folder has one fixture parametrized over the names in its list
(``SPEECH_TO_TEXT``, ``SESSION_STORE``...) and resolves the name with
``request.getfixturevalue``; the fixture it names returns the port's case object from the
contract kit (``parley.contract``, defined in ``bootstrap/contract/cases.py``: the adapter plus
what the suite cannot ask through the port: known audio and its words, how to move time, how
to provoke each failure). The suites themselves are the kit's (``bootstrap/contract/suites/``):
each ``test_<port>.py`` here only subclasses one over its list. A new port's suite goes into
the kit (a suite module and a row in ``bootstrap/contract/registry.py``), never here.

To add an implementation (and nothing else):

1. Write a fixture here that builds the adapter and returns the case, e.g.::

       @pytest.fixture
       async def redis_session_store(redis_url):
           store = RedisSessionStore(redis_url, ttl_ms=300)
           yield SessionStoreCase(store, ttl_ms=300, advance=real_sleep,
                                  failures=[Failing(StoreUnavailableError, dead_store)])
           await store.aclose()

   Real backends use short real TTLs and ``advance=real_sleep``; memory ones a
   ``ManualClock`` and ``advance=clock.advance``. Import heavy adapters inside the fixture,
   so a missing optional dependency only affects its own tests. Put a long fixture in its
   own module beside this one (``tests/contract/impl_<name>.py``) and import it here by name.
2. Add its name to the port's list, behind the backend's marker when it needs a server::

       pytest.param("redis_session_store", id="redis", marks=pytest.mark.redis)

Speech-to-text cases supply real audio where the engine is real: read a clip from
``shared_audio_dir`` (tests/conftest.py) with ``adapters.audio`` and use the manifest's
reference as ``expected_words`` with a ``max_wer`` a little above its baseline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from adapters.memory import (
    FakeCallControl,
    FakeMediaStream,
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    FunctionToolExecutor,
    ManualClock,
    MemoryCallRegistry,
    MemoryEventBus,
    MemorySessionStore,
    MemoryTranscriptLog,
    ScriptedEndOfTurnDetector,
    ScriptedLanguageModel,
    ScriptedTurn,
    tone_frames,
)
from adapters.system import SystemClock
from adapters.tools import RegistryToolExecutor, ToolRegistry
from adapters.tools.registry import ToolContext
from parley.contract import (
    BeepDetectorCase,
    CallControlCase,
    CallRegistryCase,
    ClockCase,
    EndOfTurnCase,
    EventBusCase,
    Failing,
    LanguageModelCase,
    MediaStreamCase,
    ModelRequestSpec,
    Outbound,
    SessionStoreCase,
    SpeechToTextCase,
    TextToSpeechCase,
    ToolExecutorCase,
    ToolProbe,
    TranscriptLogCase,
    VadCase,
    contract_tools,
    silence,
)
from ports import (
    MULAW_8K,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    AudioFrame,
    AuthenticationError,
    CallEvent,
    ChatMessage,
    ContentFilteredError,
    IncomingCall,
    MediaOptions,
    ModelOptions,
    Participant,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    Role,
    StoreUnavailableError,
    ToolCall,
    ToolSpec,
)
from tests.contract.impl_acs import acs_call_control  # noqa: F401 - fixture, resolved by name
from tests.contract.impl_azure_speech import (  # noqa: F401 - fixtures, resolved by name
    azure_speech_to_text,
    azure_text_to_speech,
    contract_rate_limited_standin,
    contract_speech_standin,
    dead_host,
)
from tests.contract.impl_call_history import (  # noqa: F401 - fixtures, resolved by name
    contract_postgres_url,
    memory_call_history,
    postgres_call_history,
    sqlite_call_history,
)
from tests.contract.impl_local import (  # noqa: F401 - fixtures, resolved by name
    _espeak_engine,
    _pocketsphinx_engine,
    local_speech_to_text,
    local_text_to_speech,
    local_vad,
    offline_language_model,
)
from tests.contract.impl_media import (  # noqa: F401 - fixtures, resolved by name
    acs_media_stream,
    browser_media_stream,
    twilio_media_stream,
)
from tests.contract.impl_neural import (  # noqa: F401 - fixtures, resolved by name
    _piper_engine,
    _smart_turn_engine,
    _whisper_engine,
    piper_text_to_speech,
    silero_vad,
    smart_turn_end_of_turn,
    whisper_speech_to_text,
)
from tests.contract.impl_openai import (  # noqa: F401 - fixtures, resolved by name
    azure_openai_language_model,
    contract_openai_standin,
    openai_language_model,
)
from tests.contract.impl_redis import (  # noqa: F401 - fixtures, resolved by name
    redis_call_registry,
    redis_connections,
    redis_event_bus,
    redis_session_store,
    redis_transcript_log,
)
from tests.contract.impl_twilio import twilio_call_control  # noqa: F401 - fixture

# Implementations per port: fixture names, resolved by each suite's parametrized fixture.
SPEECH_TO_TEXT = [
    pytest.param("memory_speech_to_text", id="memory"),
    pytest.param("azure_speech_to_text", id="azure", marks=pytest.mark.standin),
    pytest.param("local_speech_to_text", id="local"),
    pytest.param("whisper_speech_to_text", id="whisper"),
]
TEXT_TO_SPEECH = [
    pytest.param("memory_text_to_speech", id="memory"),
    pytest.param("memory_paced_text_to_speech", id="memory-paced"),
    pytest.param("azure_text_to_speech", id="azure", marks=pytest.mark.standin),
    pytest.param("local_text_to_speech", id="local"),
    pytest.param("piper_text_to_speech", id="piper"),
]
LANGUAGE_MODEL = [
    pytest.param("memory_language_model", id="memory"),
    pytest.param("azure_openai_language_model", id="azure_openai", marks=pytest.mark.standin),
    pytest.param("openai_language_model", id="openai", marks=pytest.mark.standin),
    pytest.param("offline_language_model", id="offline"),
]
VAD = [
    pytest.param("memory_vad", id="memory"),
    pytest.param("local_vad", id="webrtc"),
    pytest.param("silero_vad", id="silero"),
]
END_OF_TURN = [
    pytest.param("memory_end_of_turn", id="memory"),
    pytest.param("smart_turn_end_of_turn", id="smart_turn"),
]
MEDIA_STREAM = [
    pytest.param("memory_media_stream", id="memory"),
    pytest.param("acs_media_stream", id="acs"),
    pytest.param("twilio_media_stream", id="twilio"),
    pytest.param("browser_media_stream", id="browser"),
]
CALL_CONTROL = [
    pytest.param("memory_call_control", id="memory"),
    pytest.param("acs_call_control", id="acs", marks=pytest.mark.standin),
    pytest.param("twilio_call_control", id="twilio", marks=pytest.mark.standin),
]
CONSULTING = [  # the call controls that also consult (warm transfer) and collect keys
    pytest.param("memory_call_control", id="memory"),
    pytest.param("acs_call_control", id="acs", marks=pytest.mark.standin),
]
BEEP_DETECTOR = [pytest.param("tone_beep_detector", id="tone")]
SESSION_STORE = [
    pytest.param("memory_session_store", id="memory"),
    pytest.param("redis_session_store", id="redis", marks=pytest.mark.redis),
]
TRANSCRIPT_LOG = [
    pytest.param("memory_transcript_log", id="memory"),
    pytest.param("redis_transcript_log", id="redis", marks=pytest.mark.redis),
]
EVENT_BUS = [
    pytest.param("memory_event_bus", id="memory"),
    pytest.param("redis_event_bus", id="redis", marks=pytest.mark.redis),
]
CALL_REGISTRY = [
    pytest.param("memory_call_registry", id="memory"),
    pytest.param("redis_call_registry", id="redis", marks=pytest.mark.redis),
]
CALL_HISTORY = [
    pytest.param("memory_call_history", id="memory"),
    pytest.param("sqlite_call_history", id="sqlite"),
    pytest.param("postgres_call_history", id="postgres", marks=pytest.mark.postgres),
]
TOOL_EXECUTOR = [
    pytest.param("memory_tool_executor", id="memory"),
    pytest.param("registry_tool_executor", id="registry"),
]
CLOCK = [
    pytest.param("manual_clock", id="manual"),
    pytest.param("system_clock", id="system"),
]


async def real_sleep(ms: float) -> None:
    """``advance`` for real backends: let real time pass."""
    await asyncio.sleep(ms / 1000.0)


# Clock -------------------------------------------------------------------------------------


@pytest.fixture
def manual_clock() -> ClockCase:
    clock = ManualClock()
    return ClockCase(clock, clock.advance)


@pytest.fixture
def system_clock() -> ClockCase:
    return ClockCase(SystemClock(), real_sleep)


# Speech to text ----------------------------------------------------------------------------


@pytest.fixture
def memory_speech_to_text() -> SpeechToTextCase:
    sentence = "book a room"
    speech = (
        silence(PCM16_16K, 200)
        + tone_frames(PCM16_16K, 1200, start_ms=200)
        + silence(PCM16_16K, 300)
    )
    failures = [
        Failing(
            error_type,
            FakeSpeechToText([sentence], fail_with=error_type("rigged", port="speech_to_text")),
            error_type.__name__,
        )
        for error_type in (ProviderUnavailableError, AuthenticationError, ProviderTimeoutError)
    ]
    return SpeechToTextCase(
        stt=FakeSpeechToText([sentence]),
        fmt=PCM16_16K,
        speech=speech,
        expected_words=sentence,
        max_wer=0.0,
        failures=failures,
    )


# Text to speech ----------------------------------------------------------------------------

_FAKE_TTS_FORMATS = (PCM16_16K, PCM16_24K, MULAW_8K)


def _tts_failures() -> list[Failing[FakeTextToSpeech]]:
    return [
        Failing(
            error_type,
            FakeTextToSpeech(fail_with=error_type("rigged", port="text_to_speech")),
            error_type.__name__,
        )
        for error_type in (ProviderUnavailableError, RateLimitedError, AuthenticationError)
    ] + [
        Failing(
            ProviderTimeoutError,
            FakeTextToSpeech(
                fail_with=ProviderTimeoutError("mid-way", port="text_to_speech"),
                fail_after_chunks=3,
            ),
            "timeout after 3 chunks",
        )
    ]


@pytest.fixture
def memory_text_to_speech() -> TextToSpeechCase:
    return TextToSpeechCase(
        tts=FakeTextToSpeech(formats=_FAKE_TTS_FORMATS),
        formats=_FAKE_TTS_FORMATS,
        unsupported_format=AudioFormat(44100),
        failures=_tts_failures(),
    )


@pytest.fixture
def memory_paced_text_to_speech() -> TextToSpeechCase:
    """The fake on the real clock, synthesising at 50x real time after a 5 ms first byte."""
    tts = FakeTextToSpeech(
        clock=SystemClock(),
        ms_per_char=20,
        time_to_first_byte_ms=5,
        realtime_factor=0.02,
        formats=(PCM16_16K,),
    )
    return TextToSpeechCase(
        tts=tts,
        formats=(PCM16_16K,),
        unsupported_format=MULAW_8K,
        failures=_tts_failures(),
    )


# Language model ----------------------------------------------------------------------------

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def _weather_responder(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
) -> ScriptedTurn:
    if any(t.name == "get_weather" for t in tools):
        return ScriptedTurn(tool_calls=(ToolCall("call_1", "get_weather", {"city": "Paris"}),))
    return ScriptedTurn("Hello! How can I help you today?")


def _model_requests() -> tuple[ModelRequestSpec, ModelRequestSpec]:
    system = ChatMessage(Role.SYSTEM, "You are a helpful assistant. Answer briefly.")
    text = ModelRequestSpec([system, ChatMessage(Role.USER, "Say hello to me.")])
    tool = ModelRequestSpec(
        [system, ChatMessage(Role.USER, "What is the weather in Paris?")],
        tools=[WEATHER_TOOL],
    )
    return text, tool


@pytest.fixture
def memory_language_model() -> LanguageModelCase:
    text, tool = _model_requests()
    failures = [
        Failing(
            error_type,
            ScriptedLanguageModel([ScriptedTurn.failing(error_type("rigged", port="llm"))]),
            error_type.__name__,
        )
        for error_type in (
            ProviderTimeoutError,
            RateLimitedError,
            ContentFilteredError,
            ProviderUnavailableError,
            AuthenticationError,
        )
    ]
    failures.append(
        Failing(
            ProviderTimeoutError,
            ScriptedLanguageModel(
                [
                    ScriptedTurn.failing(
                        ProviderTimeoutError("stalled mid-answer", port="llm"),
                        after_tokens=2,
                        text="one two three four",
                    )
                ]
            ),
            "timeout after two deltas",
        )
    )
    stalling = ScriptedLanguageModel(
        ["never heard"], clock=SystemClock(), time_to_first_token_ms=60_000
    )
    return LanguageModelCase(
        model=ScriptedLanguageModel(responder=_weather_responder),
        text_request=text,
        tool_request=tool,
        expected_tool="get_weather",
        expected_arguments={"city": "Paris"},
        stalling=stalling,
        failures=failures,
    )


# Voice activity detection ------------------------------------------------------------------


@pytest.fixture
def memory_vad() -> VadCase:
    return VadCase(
        factory=FakeVadFactory(frame_ms=(10, 20, 30), formats=(PCM16_16K, PCM16_24K)),
        fmt=PCM16_16K,
        speech=tone_frames(PCM16_16K, 600, amplitude=4000),
        silence=silence(PCM16_16K, 600),
        invalid_frame=tone_frames(PCM16_16K, 25, frame_ms=25)[0],
        unsupported_format=AudioFormat(44100),
    )


@pytest.fixture
def memory_end_of_turn() -> EndOfTurnCase:
    return EndOfTurnCase(
        detector=ScriptedEndOfTurnDetector([0.2, 0.9], delay_ms=20, clock=SystemClock()),
        formats=(PCM16_16K, PCM16_24K, MULAW_8K),
        failures=[
            Failing(
                ProviderUnavailableError,
                ScriptedEndOfTurnDetector(fail_with=ProviderUnavailableError(port="end_of_turn")),
                "rigged",
            )
        ],
    )


@pytest.fixture
def tone_beep_detector() -> BeepDetectorCase:
    from adapters.audio.beep import ToneBeepDetectors

    return BeepDetectorCase(ToneBeepDetectors())


# Media stream ------------------------------------------------------------------------------


class MemoryFarEnd:
    """The far end of a :class:`FakeMediaStream`: the test-side methods behind FarEnd."""

    def __init__(self, stream: FakeMediaStream) -> None:
        self._stream = stream

    async def send_audio(self, frame: AudioFrame) -> None:
        self._stream.feed_audio(frame)

    async def send_dtmf(self, digit: str) -> None:
        self._stream.feed_dtmf(digit)

    async def hang_up(self) -> None:
        self._stream.remote_close()

    async def received(self, count: int, *, timeout_s: float = 2.0) -> list[Outbound]:
        await self._stream.wait_for_outbound(count, timeout_s=timeout_s)
        return [o.frame if o.frame is not None else "stop_audio" for o in self._stream.outbound]


@pytest.fixture
def memory_media_stream() -> MediaStreamCase:
    stream = FakeMediaStream(PCM16_16K, "call-contract")
    return MediaStreamCase(stream, MemoryFarEnd(stream), PCM16_16K, "call-contract")


# Call control ------------------------------------------------------------------------------


def _call_control_case(control: FakeCallControl, **kwargs: object) -> CallControlCase:
    def events(call_connection_id: str) -> AsyncIterator[CallEvent]:
        return control.events(call_connection_id)

    return CallControlCase(
        control=control,
        incoming=IncomingCall(
            incoming_call_context="context-token",
            caller=Participant.phone("+14255550123"),
            callee=Participant.phone("+14255550100"),
        ),
        media=MediaOptions("wss://parley.test/ws/acs/media", PCM16_16K),
        callback_url="https://parley.test/api/acs/callbacks",
        transfer_target=Participant.phone("+14255550199"),
        events=events,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def memory_call_control() -> CallControlCase:
    failures = [
        Failing(
            error_type,
            FakeCallControl(fail_with=error_type("rigged", port="call_control")),
            error_type.__name__,
        )
        for error_type in (AuthenticationError, RateLimitedError, ProviderUnavailableError)
    ]
    return _call_control_case(FakeCallControl(), failures=failures)


# Stores ------------------------------------------------------------------------------------


@pytest.fixture
def memory_session_store() -> SessionStoreCase:
    clock = ManualClock()
    down = MemorySessionStore(clock, fail_with=StoreUnavailableError("down"))
    return SessionStoreCase(
        MemorySessionStore(clock, ttl_ms=60_000),
        ttl_ms=60_000,
        advance=clock.advance,
        failures=[Failing(StoreUnavailableError, down, "unavailable")],
    )


@pytest.fixture
def memory_transcript_log() -> TranscriptLogCase:
    clock = ManualClock()
    down = MemoryTranscriptLog(clock, fail_with=StoreUnavailableError("down"))
    return TranscriptLogCase(
        MemoryTranscriptLog(clock, ttl_ms=60_000, max_entries=50),
        ttl_ms=60_000,
        advance=clock.advance,
        max_entries=50,
        failures=[Failing(StoreUnavailableError, down, "unavailable")],
    )


@pytest.fixture
def memory_call_registry() -> CallRegistryCase:
    clock = ManualClock()
    down = MemoryCallRegistry(clock, fail_with=StoreUnavailableError("down"))
    return CallRegistryCase(
        MemoryCallRegistry(clock, ttl_ms=10_000),
        ttl_ms=10_000,
        advance=clock.advance,
        failures=[Failing(StoreUnavailableError, down, "unavailable")],
    )


@pytest.fixture
def memory_event_bus() -> EventBusCase:
    down = MemoryEventBus(fail_with=StoreUnavailableError("down"))
    return EventBusCase(
        MemoryEventBus(), failures=[Failing(StoreUnavailableError, down, "unavailable")]
    )


# Tools -------------------------------------------------------------------------------------


@pytest.fixture
def memory_tool_executor() -> ToolExecutorCase:
    probe = ToolProbe()
    return ToolExecutorCase(FunctionToolExecutor(contract_tools(probe)), probe)


@pytest.fixture
def registry_tool_executor() -> ToolExecutorCase:
    """The production executor: tools registered in a ToolRegistry as a tools module would."""
    probe = ToolProbe()
    registry = ToolRegistry()

    @registry.tool
    def echo(text: str) -> dict[str, str]:
        """Echo the text back."""
        return {"echo": text}

    @registry.tool
    def boom() -> str:
        """Always fails."""
        raise RuntimeError("kaboom")

    @registry.tool
    async def slow() -> str:
        """Sleeps for a minute."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            probe.slow_cancelled = True
            raise
        return "done"

    @registry.tool
    def whoami(context: ToolContext) -> str:
        """The conversation's call id."""
        probe.calls_with_context.append(context.call_id)
        return context.call_id

    return ToolExecutorCase(RegistryToolExecutor(registry), probe)
