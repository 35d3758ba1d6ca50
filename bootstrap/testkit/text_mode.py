"""Text mode: the call runtime with a text media side (:class:`domain.runtime.text.TextCall`).

The agent's words are shown at once (no audio), so they cannot be talked over: an
interruption is a :class:`~bootstrap.testkit.modes.ModeError` here. Silence and DTMF keys go
through the runtime's timers on the virtual clock, as in a voice call.
"""

from __future__ import annotations

from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
)
from bootstrap.testkit.events import AgentSaid, CallerPressed, CallerSaid
from bootstrap.testkit.modes import ModeError, Until, Wiring
from bootstrap.testkit.recorder import Recorder
from domain.runtime import RuntimeDeps
from domain.runtime.text import TextCall
from ports import CallInfo

SESSION_TTL_MS = 3_600_000.0
"""Lifetime of the in-memory session and transcript, virtual ms (a test is shorter)."""


class TextDriver:
    """One text conversation (see the module docstring).

    Args:
        wiring: Conversation, model, tools, runtime config and call id.
    """

    mode = "text"

    def __init__(self, wiring: Wiring) -> None:
        clock = ManualClock()
        self.clock = clock
        self.recorder = Recorder(clock)
        self.transcripts = MemoryTranscriptLog(clock, SESSION_TTL_MS)
        deps = RuntimeDeps(
            # A text call never listens or speaks: these audio ports stay unused.
            stt=FakeSpeechToText(),
            tts=FakeTextToSpeech(),
            vad_factory=FakeVadFactory(),
            llm=wiring.llm,
            tools=wiring.tools,
            sessions=MemorySessionStore(clock, SESSION_TTL_MS),
            transcripts=self.transcripts,
            clock=clock,
            metrics=RecordingMetrics(),
        )
        self._call = TextCall(
            wiring.conversation,
            deps,
            clock,
            config=wiring.config,
            info=CallInfo(call_id=wiring.call_id, channel="text", caller=wiring.caller),
            observer=self.recorder,
        )

    @property
    def ended(self) -> bool:
        """True once the call is over."""
        return self._call.ended

    @property
    def agent(self) -> str:
        """The active agent."""
        return self._call.agent

    async def start(self, *, until: Until) -> None:
        """Start the call; the greeting is shown."""
        await self._call.start()

    async def say(self, text: str, *, until: Until) -> float:
        """The caller types ``text``; returns once the agent has answered."""
        at = self.clock.now_ms()
        self.recorder.add(CallerSaid(text.strip(), at))
        await self._call.say(text)
        return at

    async def silence(self, ms: float, *, until: Until) -> None:
        """The caller stays silent for ``ms`` (timers due meanwhile fire)."""
        await self._call.wait(ms)

    async def dtmf(self, digits: str, *, until: Until) -> float:
        """The caller presses ``digits``."""
        at = self.clock.now_ms()
        self.recorder.add(CallerPressed(digits, at))
        await self._call.dtmf(digits)
        return at

    async def interrupt(self, after_ms: float, saying: str | None, *, until: Until) -> float:
        """Not possible in text mode.

        Raises:
            ModeError: Always.
        """
        raise ModeError(
            "caller_interrupts needs voice mode: in text mode the agent's words are shown at"
            " once and cannot be talked over (open the conversation with mode='voice')"
        )

    def first_words_after(self, at_ms: float, since_event: int) -> float | None:
        """Virtual time of the first clause shown after event ``since_event``."""
        for event in self.recorder.events[since_event:]:
            if isinstance(event, AgentSaid) and event.at_ms >= at_ms:
                return event.at_ms
        return None

    async def close(self) -> None:
        """End the call from the caller's side (if still on)."""
        await self._call.close("remote_closed")
