"""Voice mode: the call runtime with audio through the fake engines, on a manual clock.

The caller's words are loud 20 ms frames (about 300 ms per word) that the scripted
recognizer (:class:`~adapters.memory.FakeSpeechToText`) hears as exactly the words given;
voice activity detection sees the frames' loudness; the agent's speech is synthesised by the
fake synthesiser (65 ms per character) and paced into a fake media stream by the real
playout. Every timer (end of turn, barge-in confirmation, false interruption, no-input,
DTMF inter-digit) runs on the virtual clock, so a 9-second silence takes milliseconds.

Virtual time follows the event loop's time while the model or a tool works (a real model's
latency shows as latency, and the runtime's deadlines hold); otherwise it jumps from one
deadline to the next.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import replace

from adapters.memory import (
    FakeMediaStream,
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
    tone_frame,
)
from bootstrap.testkit.events import CallerPressed
from bootstrap.testkit.modes import ModeError, Until, Wiring
from bootstrap.testkit.recorder import Recorder
from domain.runtime import RuntimeDeps
from domain.runtime.call import CallRun
from domain.session import Phase
from ports import PCM16_16K, CallInfo, CallSummary, InboundCall

FRAME_MS = 20.0
SPEECH_MS_PER_WORD = 300.0
"""How long the caller takes per word, ms (at least ``MIN_SPEECH_MS`` per utterance)."""
MIN_SPEECH_MS = 600.0
NOISE_MS = 500.0
"""A wordless interruption (a cough, a door): loud for this long, then nothing recognised."""
AGENT_MS_PER_CHAR = 65.0
"""The fake synthesiser's speech per character (about 15 characters per second)."""
KEY_GAP_MS = 150.0
"""Time between two DTMF keys."""
MAX_WAIT_MS = 300_000.0
"""Longest virtual wait for the conversation to settle before the harness gives up."""


class HarnessTimeout(RuntimeError):
    """The conversation did not reach the awaited point within the virtual-time bound."""


class VoiceDriver:
    """One voice conversation (see the module docstring).

    Args:
        wiring: Conversation, model, tools, runtime config and call id.
        agent_ms_per_char: Speech per character of the fake synthesiser, ms.
    """

    mode = "voice"

    def __init__(self, wiring: Wiring, *, agent_ms_per_char: float = AGENT_MS_PER_CHAR) -> None:
        clock = ManualClock(settle_rounds=20)
        self.clock = clock
        self.recorder = Recorder(clock)
        self.transcripts = MemoryTranscriptLog(clock, 3_600_000.0)
        fmt = PCM16_16K
        self._media = FakeMediaStream(fmt, wiring.call_id, clock=clock)
        self._stt = FakeSpeechToText()
        deps = RuntimeDeps(
            stt=self._stt,
            tts=FakeTextToSpeech(clock=clock, ms_per_char=agent_ms_per_char),
            vad_factory=FakeVadFactory(),
            llm=wiring.llm,
            tools=wiring.tools,
            sessions=MemorySessionStore(clock, 3_600_000.0),
            transcripts=self.transcripts,
            clock=clock,
            metrics=RecordingMetrics(),
        )
        # The harness feeds caller audio only while the caller makes a sound.
        self._config = replace(wiring.config, media_idle_timeout_ms=0.0)
        info = CallInfo(call_id=wiring.call_id, channel="voice-test", caller=wiring.caller)
        call = InboundCall(info, self._media, None, self.recorder)
        self._run = CallRun(wiring.conversation, deps, self._config, call)
        self._task: asyncio.Task[CallSummary] | None = None
        self._loud = tone_frame(fmt, int(FRAME_MS), amplitude=3000)
        self._quiet = tone_frame(fmt, int(FRAME_MS), amplitude=0)
        self._speaking_since: float | None = None

    # -- state ---------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True once the call is over."""
        return self._task is not None and self._task.done()

    @property
    def agent(self) -> str:
        """The active agent."""
        return self._run.state.agent

    def _waiting(self) -> bool:
        """The conversation waits for the caller: nothing said, pending or in flight."""
        if self._task is None or self._task.done():
            return True
        s = self._run.state
        return (
            s.phase is Phase.LISTENING
            and not s.turn.open
            and s.reply is None
            and s.response is None
            and s.resume is None
            and not s.user.speaking
            and not s.user.dtmf
            and not s.status.transferring
            and not self._run.work_in_flight()
        )

    def _real_work(self) -> list[asyncio.Task[None]]:
        """Model responses and tools in flight: work that takes real time.

        A transfer or hang-up in flight first waits for the agent's speech to drain, which
        plays on the virtual clock: following real time for it would stall the playout.
        """
        return [
            task
            for task in self._run.work_in_flight()
            if not task.get_name().endswith((":transfer", ":hang-up"))
        ]

    def _audio_since(self, at_ms: float) -> float | None:
        outbound = self._media.outbound
        start = bisect_left(outbound, at_ms, key=lambda o: o.at_ms)
        return next((o.at_ms for o in outbound[start:] if o.kind == "audio"), None)

    # -- time ----------------------------------------------------------------------------

    async def _tick(self, limit_ms: float) -> None:
        """One step: follow real time while work is in flight, else jump to the next deadline.

        Time moves with ``set_time`` (one deadline at a time, so every woken task sees its own
        deadline) and one settle, rather than ``advance_to``'s three: a call's playout wakes
        once per 20 ms frame, so this is the harness's hot loop.
        """
        clock = self.clock
        assert self._task is not None  # noqa: S101 (started)
        now = clock.now_ms()
        work = self._real_work()
        if work:
            loop = asyncio.get_running_loop()
            began = loop.time()
            # At most one watchdog tick: a stalled model must still meet its deadline.
            budget_s = max(min(limit_ms - now, self._config.watchdog_tick_ms), 0.0) / 1000.0
            await asyncio.wait([*work, self._task], timeout=budget_s, return_when="FIRST_COMPLETED")
            elapsed_ms = (loop.time() - began) * 1000.0
            target = min(limit_ms, max(clock.now_ms(), now + elapsed_ms))
        else:
            due = clock.next_deadline_ms
            if due is None:
                # Nobody sleeps yet: let new tasks (a starting call) reach their first sleep
                # before concluding that nothing happens until the limit.
                await clock.settle()
                due = clock.next_deadline_ms
            target = limit_ms if due is None else max(now, min(due, limit_ms))
        due = clock.next_deadline_ms
        while due is not None and due < target:
            # Real work ran past other deadlines: wake them one at a time, in order.
            clock.set_time(due)
            await clock.settle()
            due = clock.next_deadline_ms
        clock.set_time(max(target, clock.now_ms()))
        await clock.settle()

    async def _pass(self, ms: float) -> None:
        """Let ``ms`` of virtual time pass."""
        target = self.clock.now_ms() + ms
        while self.clock.now_ms() < target and not self.ended:
            await self._tick(target)

    async def _until(self, done: Callable[[], bool], what: str) -> None:
        """Let time pass until ``done()`` holds or the call ends.

        Raises:
            HarnessTimeout: Not within :data:`MAX_WAIT_MS` of virtual time.
        """
        deadline = self.clock.now_ms() + MAX_WAIT_MS
        while not done() and not self.ended:
            if self.clock.now_ms() >= deadline:
                raise HarnessTimeout(f"{what}: not within {MAX_WAIT_MS:.0f} ms of virtual time")
            await self._tick(deadline)

    async def _frames(self, ms: float, *, loud: bool) -> None:
        frame = self._loud if loud else self._quiet
        for _ in range(max(1, round(ms / FRAME_MS))):
            if self.ended or self._media.closed:
                return
            self._media.feed_audio(frame)
            await self._pass(FRAME_MS)

    async def _sound(self, words: str | None, ms: float) -> float:
        """The caller makes a sound for ``ms`` (``words`` recognised, if any); returns its end."""
        if words:
            self._stt.add_utterance(words)
        await self._frames(ms, loud=True)
        end = self.clock.now_ms()
        # Voice activity detection needs silence after the speech to mark its end.
        quiet_from = end
        while not self.ended and (
            self._run.state.user.speaking
            or self.clock.now_ms() - quiet_from < self._config.speech_stop_ms
        ):
            await self._frames(FRAME_MS, loud=False)
            if self.clock.now_ms() - quiet_from > 10_000.0:
                break
        return end

    async def _finish(self, until: Until, since_ms: float) -> None:
        if until == "agent_speaks":
            await self._until(
                lambda: self._audio_since(since_ms) is not None or self._waiting(),
                "the agent to start speaking",
            )
            self._speaking_since = self._audio_since(since_ms)
            return
        self._speaking_since = None
        await self._until(self._waiting, "the conversation to wait for the caller")

    # -- caller actions ------------------------------------------------------------------

    async def start(self, *, until: Until) -> None:
        """Answer the call; the greeting plays."""
        if self._task is None:
            self._task = asyncio.create_task(self._run.run(), name="voice-test-call")
            await self._until(lambda: self._run.state.status.started, "the call to start")
            await self._finish(until, self.clock.now_ms())

    async def say(self, text: str, *, until: Until) -> float:
        """The caller says ``text`` (over the agent, if it is speaking: a barge-in)."""
        words = len(text.split())
        end = await self._sound(text.strip(), max(MIN_SPEECH_MS, words * SPEECH_MS_PER_WORD))
        await self._finish(until, end)
        return end

    async def silence(self, ms: float, *, until: Until) -> None:
        """The caller stays silent for ``ms``; what starts meanwhile runs to ``until``."""
        await self._pass(ms)
        await self._finish(until, self.clock.now_ms())

    async def dtmf(self, digits: str, *, until: Until) -> float:
        """The caller presses ``digits``, :data:`KEY_GAP_MS` apart."""
        self.recorder.add(CallerPressed(digits, self.clock.now_ms()))
        for digit in digits:
            self._media.feed_dtmf(digit)
            await self._pass(KEY_GAP_MS)
        end = self.clock.now_ms()
        await self._finish(until, end)
        return end

    async def interrupt(self, after_ms: float, saying: str | None, *, until: Until) -> float:
        """The caller talks over the agent ``after_ms`` into its current (or next) speech.

        Raises:
            ModeError: The agent did not speak, or stopped before ``after_ms``.
        """
        if self._speaking_since is None or self._run.state.reply is None:
            since = self.clock.now_ms()
            await self._until(
                lambda: self._audio_since(since) is not None, "the agent to start speaking"
            )
            self._speaking_since = self._audio_since(since)
        if self._speaking_since is None:
            raise ModeError("nothing to interrupt: the call ended before the agent spoke")
        await self._pass(max(0.0, self._speaking_since + after_ms - self.clock.now_ms()))
        if self._run.state.reply is None:
            raise ModeError(
                f"nothing to interrupt {after_ms:.0f} ms into the agent's speech: it had"
                " finished speaking by then (interrupt earlier, or after a longer reply)"
            )
        self._speaking_since = None
        if saying:
            words = len(saying.split())
            end = await self._sound(saying, max(MIN_SPEECH_MS, words * SPEECH_MS_PER_WORD))
        else:
            end = await self._sound(None, NOISE_MS)
        await self._finish(until, end)
        return end

    def first_words_after(self, at_ms: float, since_event: int) -> float | None:
        """Virtual time of the first agent audio frame sent at or after ``at_ms``."""
        return self._audio_since(at_ms)

    async def close(self) -> None:
        """Hang up from the caller's side (if still on) and wait for the call to finish."""
        if self._task is None:
            return
        if not self._task.done() and not self._media.closed:
            self._media.remote_close()
        async with asyncio.timeout(30):
            while not self._task.done():
                await self._tick(self.clock.now_ms() + 1000.0)
        self._task.result()
