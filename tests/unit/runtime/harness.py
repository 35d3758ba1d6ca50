"""A whole call on fakes, driven by a manual clock: the runtime tests' rig.

The rig feeds the fake media stream one 20 ms frame per 20 ms of manual time (loud tone for
caller speech, digital silence otherwise) and advances the :class:`ManualClock` between
frames, so every timer, pacing deadline and model delay fires deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from adapters.memory import (
    FakeCallControl,
    FakeMediaStream,
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    FunctionToolExecutor,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
    ScriptedLanguageModel,
    ScriptedTurn,
    ScriptedUtterance,
    tone_frame,
)
from domain.agents import AgentGraph, AgentSpec
from domain.conversation import Conversation
from domain.policies import ConversationPolicy
from domain.runtime import CallRuntime, RuntimeConfig, RuntimeDeps
from ports import (
    PCM16_16K,
    AudioFormat,
    CallEvent,
    CallInfo,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    TranscriptEntry,
)

FRAME_MS = 20


class DelayedFinals:
    """A batch recogniser's timing over a fake: each final arrives ``delay_ms`` later.

    Whisper transcribes an utterance after ``end_of_speech()``; its final comes a decode
    later, when an end-of-turn judgement (a lighter model) is usually already in.
    """

    def __init__(self, inner: FakeSpeechToText, clock: ManualClock, delay_ms: float) -> None:
        self.inner = inner
        self.clock = clock
        self.delay_ms = delay_ms

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> object:
        session = self.inner.session(fmt, language=language)
        clock, delay_ms = self.clock, self.delay_ms
        events = session.events

        async def delayed():  # type: ignore[no-untyped-def]
            async for event in events():
                if event.is_final:
                    await clock.sleep(delay_ms)
                yield event

        session.events = delayed  # type: ignore[method-assign]
        return session


class RecordingObserver:
    """Keeps every conversation update."""

    def __init__(self) -> None:
        self.updates: list[ConversationUpdate] = []

    def on_update(self, update: ConversationUpdate) -> None:
        self.updates.append(update)

    def kinds(self) -> list[str]:
        return [u.kind.value for u in self.updates]


@dataclass
class Rig:
    """Fakes, the runtime and the running call."""

    clock: ManualClock
    media: FakeMediaStream
    stt: FakeSpeechToText
    tts: FakeTextToSpeech
    llm: ScriptedLanguageModel
    vad: FakeVadFactory
    tools: FunctionToolExecutor
    sessions: MemorySessionStore
    transcripts: MemoryTranscriptLog
    metrics: RecordingMetrics
    call_control: FakeCallControl
    runtime: CallRuntime
    observer: RecordingObserver
    info: CallInfo
    fmt: AudioFormat
    task: asyncio.Task[CallSummary] | None = None
    call_events: object | None = None
    _loud: object = field(default=None)
    _quiet: object = field(default=None)

    def __post_init__(self) -> None:
        self._loud = tone_frame(self.fmt, FRAME_MS, amplitude=3000)
        self._quiet = tone_frame(self.fmt, FRAME_MS, amplitude=0)

    # -- running -------------------------------------------------------------------

    async def start(self) -> None:
        events = self.call_control.events(self.info.call_id) if self.info.telephony else None
        call = InboundCall(self.info, self.media, events, self.observer)
        self.task = asyncio.create_task(self.runtime.handle_call(call))
        await self.clock.settle()

    async def frames(self, ms: float, *, loud: bool) -> None:
        """Feed ``ms`` of caller audio (tone when ``loud``), advancing time frame by frame."""
        frame = self._loud if loud else self._quiet
        for _ in range(int(ms // FRAME_MS)):
            if self.done or self.media.closed:
                return
            self.media.feed_audio(frame)  # type: ignore[arg-type]
            # The frame is handled at the time it arrives, then time moves on.
            await self.clock.settle()
            await self.clock.advance(FRAME_MS)

    async def silence(self, ms: float) -> None:
        await self.frames(ms, loud=False)

    async def say(self, ms: float = 600) -> None:
        """The caller speaks for ``ms`` (the fake recognizer hears its next scripted line)."""
        await self.frames(ms, loud=True)

    async def until(self, predicate: Callable[[], bool], *, max_ms: float = 30_000) -> float:
        """Feed silence until ``predicate()`` holds; returns the manual time it took."""
        start = self.clock.now_ms()
        while not predicate():
            if self.done or self.clock.now_ms() - start > max_ms:
                raise AssertionError(f"condition not met within {max_ms} ms")
            await self.silence(FRAME_MS)
        return self.clock.now_ms() - start

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    async def hang_up_remote(self) -> CallSummary:
        if not self.media.closed:
            self.media.remote_close()
        return await self.result()

    async def result(self) -> CallSummary:
        assert self.task is not None
        async with asyncio.timeout(5):
            while not self.task.done():
                await self.clock.advance(FRAME_MS)
        return self.task.result()

    # -- looking -------------------------------------------------------------------

    def spoken(self) -> list[str]:
        """Texts the runtime sent to text-to-speech, in order."""
        return [r.text for r in self.tts.requests]

    def sent_ms(self) -> float:
        return self.media.sent_audio_ms

    async def transcript(self) -> list[TranscriptEntry]:
        return await self.transcripts.read(self.info.call_id)

    async def messages(self) -> list[TranscriptEntry]:
        return [e for e in await self.transcript() if e.kind != "turn_latency"]


def make_rig(
    *,
    agents: Iterable[AgentSpec] | None = None,
    start: str = "concierge",
    policy: ConversationPolicy | None = None,
    turns: Iterable[ScriptedTurn | str] = (),
    heard: Iterable[ScriptedUtterance | str] = (),
    config: RuntimeConfig | None = None,
    tools: FunctionToolExecutor | None = None,
    telephony: bool = False,
    fmt: AudioFormat = PCM16_16K,
    tts_ms_per_char: float = 60.0,
    llm_ttft_ms: float = 0.0,
    llm_tokens_per_second: float | None = None,
    conversation: object | None = None,
    llm: object | None = None,
    tracing: object | None = None,
    end_of_turn: object | None = None,
    final_delay_ms: float = 0.0,
    beep_detectors: object | None = None,
    clock: ManualClock | None = None,
) -> Rig:
    """A rig with one agent (greeting "Hello, how can I help?") unless ``agents`` is given.

    ``clock``: the rig's clock, for fakes that need it before the rig exists (default: a new
    ``ManualClock(settle_rounds=40)``).
    """
    clock = clock if clock is not None else ManualClock(settle_rounds=40)
    if agents is None:
        agents = (AgentSpec(name="concierge", greeting="Hello, how can I help?"),)
    graph = AgentGraph(start=start, agents=tuple(agents))
    conv = conversation if conversation is not None else Conversation(graph, policy)
    info = CallInfo(call_id="call-1", channel="test", caller="+15550100", telephony=telephony)
    media = FakeMediaStream(fmt, info.call_id, clock=clock)
    stt = FakeSpeechToText(heard)
    tts = FakeTextToSpeech(clock=clock, ms_per_char=tts_ms_per_char)
    model = ScriptedLanguageModel(
        turns,
        clock=clock,
        time_to_first_token_ms=llm_ttft_ms,
        tokens_per_second=llm_tokens_per_second,
    )
    vad = FakeVadFactory()
    tool_executor = tools if tools is not None else FunctionToolExecutor(clock=clock)
    sessions = MemorySessionStore(clock)
    transcripts = MemoryTranscriptLog(clock)
    metrics = RecordingMetrics()
    call_control = FakeCallControl()
    if telephony:
        call_control.add_call(info.call_id)
    deps = RuntimeDeps(
        stt=DelayedFinals(stt, clock, final_delay_ms) if final_delay_ms else stt,  # type: ignore[arg-type]
        tts=tts,
        llm=model if llm is None else llm,  # type: ignore[arg-type]
        vad_factory=vad,
        tools=tool_executor,
        sessions=sessions,
        transcripts=transcripts,
        clock=clock,
        metrics=metrics,
        call_control=call_control,
        **({"tracing": tracing} if tracing is not None else {}),  # type: ignore[arg-type]
        end_of_turn=end_of_turn,  # type: ignore[arg-type]
        beep_detectors=beep_detectors,  # type: ignore[arg-type]
    )
    runtime = CallRuntime(conv, deps, config or RuntimeConfig())  # type: ignore[arg-type]
    return Rig(
        clock=clock,
        media=media,
        stt=stt,
        tts=tts,
        llm=model,
        vad=vad,
        tools=tool_executor,
        sessions=sessions,
        transcripts=transcripts,
        metrics=metrics,
        call_control=call_control,
        runtime=runtime,
        observer=RecordingObserver(),
        info=info,
        fmt=fmt,
    )


def call_tasks() -> set[asyncio.Task[object]]:
    """Live tasks other than the test's own."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


__all__ = ["CallEvent", "Rig", "RecordingObserver", "call_tasks", "make_rig"]
