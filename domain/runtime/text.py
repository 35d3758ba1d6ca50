"""Text mode: the same call runtime with a text media side (``parley chat``, the text demo).

A text call is a :class:`~domain.runtime.call.CallRun` whose speech output shows words instead
of synthesising them: a ``Speak`` completes at once (reported played in full, with a virtual
duration of ``ms_per_char`` per character). Caller turns arrive as final transcripts; there is
no audio, voice activity detection or speech-to-text. Every command (responses, tools and
their timeout margin, cancelling in-flight tools, timers, handoffs, transfers, hang-ups,
transcripts, saves) is executed by the runtime, exactly as in a voice call.

Time is virtual (a :class:`SteppedClock`): while model responses or tools are in flight it
follows the event loop's time, so the runtime's first-token and tool deadlines hold; once
nothing is in flight it jumps to the next timer (end of turn, false interruption) until the
conversation waits for the caller. The clock then stands still while the caller types, so no
silence timer fires: a typist is not a silent caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Protocol

from domain.commands import Speak
from domain.events import DtmfDigit, FinalTranscript
from domain.runtime.call import CallRun
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.paced_output import PlayoutListener
from domain.session import Conversation, Phase
from ports import (
    PCM16_16K,
    AudioFrame,
    CallInfo,
    CallObserver,
    CallSummary,
    Clock,
    InboundCall,
    MediaEvent,
    StreamClosed,
    StreamStarted,
)

MS_PER_CHAR = 65.0
"""Virtual playback time per character (about 15 characters per second of speech)."""


class SteppedClock(Clock, Protocol):
    """A clock whose time moves only when told (``adapters.memory.ManualClock``)."""

    async def advance_to(self, target_ms: float) -> None:
        """Move to ``target_ms``, waking every sleeper due by then in deadline order."""
        ...


class TextOutput:
    """The speech side of a text call: each ``Speak`` is reported played as soon as queued.

    Has the :class:`~domain.runtime.playout.Playout` methods the call uses.

    Args:
        listener: The call (gets ``playback_completed`` synchronously, inside the step that
            queued the speech; the call's pump runs it after that step).
        ms_per_char: Virtual duration per character, ms.
    """

    def __init__(self, listener: PlayoutListener, ms_per_char: float = MS_PER_CHAR) -> None:
        self._listener = listener
        self._ms_per_char = ms_per_char

    def start(self) -> None:
        """Nothing to start."""

    def enqueue(self, cmd: Speak) -> None:
        """Report ``cmd`` played in full at once."""
        self._listener.playback_completed(cmd.speech_id, len(cmd.text) * self._ms_per_char)

    def current_speech_id(self) -> str | None:
        """Nothing is ever playing: a speech completes as it is queued."""
        return None

    def stop(self) -> bool:
        """Nothing plays, so nothing stops; False."""
        return False

    async def wait_drained(self) -> None:
        """Nothing is ever queued."""


class TextMedia:
    """The media stream of a text call: started at once, closed by :meth:`close`.

    No audio flows; ``send_audio`` and ``stop_audio`` are never called by a text call and do
    nothing.
    """

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    async def events(self) -> AsyncIterator[MediaEvent]:
        """``StreamStarted``, then ``StreamClosed`` once closed."""
        yield StreamStarted(format=PCM16_16K, call_id="")
        await self._closed.wait()
        yield StreamClosed("remote_closed")

    async def send_audio(self, frame: AudioFrame) -> None:
        """Not used in text mode."""

    async def stop_audio(self) -> None:
        """Not used in text mode."""

    async def close(self) -> None:
        """End the stream; idempotent."""
        self._closed.set()


class TextCall:
    """One text conversation through the call runtime.

    Args:
        conversation: The state machine (agent graph and policies).
        deps: The ports; ``clock`` must be ``clock``; speech-to-text, text-to-speech and VAD
            are never used.
        clock: The virtual clock of this conversation.
        config: Runtime tuning (the model and tool deadlines apply as in a voice call).
        info: Call id, channel (``text``) and caller.
        observer: Receives every update (agent text, tool calls and results, handoffs...).
        ms_per_char: Virtual speech duration per character, ms.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        clock: SteppedClock,
        *,
        config: RuntimeConfig | None = None,
        info: CallInfo | None = None,
        observer: CallObserver | None = None,
        ms_per_char: float = MS_PER_CHAR,
    ) -> None:
        self._clock = clock
        self._media = TextMedia()
        call = InboundCall(
            info or CallInfo(call_id="chat", channel="text"), media=self._media, observer=observer
        )
        self._run = CallRun(
            conversation,
            deps,
            # No media flows, so the media idle watchdog has nothing to watch.
            replace(config or RuntimeConfig(), media_idle_timeout_ms=0.0),
            call,
            output=lambda listener: TextOutput(listener, ms_per_char),
        )
        self._task: asyncio.Task[CallSummary] | None = None
        self.summary: CallSummary | None = None

    @property
    def ended(self) -> bool:
        """True once the call is over (hang-up, transfer, close)."""
        return self._task is not None and self._task.done()

    @property
    def agent(self) -> str:
        """The active agent's name."""
        return self._run.state.agent

    @property
    def end_reason(self) -> str | None:
        """How the call ended, once it has."""
        return self.summary.end_reason if self.summary is not None else None

    async def start(self) -> None:
        """Start the call; returns once the greeting is shown."""
        if self._task is None:
            self._task = asyncio.create_task(self._run.run(), name="text-call")
            await self._settle()

    async def say(self, text: str) -> None:
        """One caller turn; returns once the agent has answered and its tools have run."""
        text = text.strip()
        if not text or self.ended or self._task is None:
            return
        self._run.feed(FinalTranscript(self._clock.now_ms(), text))
        await self._settle()

    async def dtmf(self, digits: str) -> None:
        """The caller presses ``digits`` (``0-9``, ``*``, ``#``, ``A-D``), one key at a time.

        Returns once the conversation waits for the caller again: digits left without the
        submit key are submitted when the DTMF policy's inter-digit timeout fires.
        """
        if self.ended or self._task is None:
            return
        for digit in digits:
            self._run.feed(DtmfDigit(self._clock.now_ms(), digit))
            await asyncio.sleep(0)
        await self._settle()

    async def wait(self, ms: float) -> None:
        """The caller stays silent for ``ms`` of virtual time; timers due meanwhile fire.

        What they start (a no-input reprompt, a goodbye) runs to completion before this
        returns, so the clock may end past ``now + ms``.
        """
        if self._task is None:
            return
        target = self._clock.now_ms() + max(ms, 0.0)
        while not self.ended:
            await self._settle()
            due = self._run.next_timer_ms()
            if self.ended or due is None or due > target:
                break
            await self._clock.advance_to(due)
        if not self.ended and self._clock.now_ms() < target:
            await self._clock.advance_to(target)

    async def close(self, reason: str = "remote_closed") -> CallSummary:
        """End the call from the caller's side (if it is still on) and return its summary."""
        if self._task is None:
            await self.start()
        assert self._task is not None  # noqa: S101 (start() made it)
        if not self._task.done():
            self._run.end(reason)
        self.summary = await self._task
        return self.summary

    async def _settle(self) -> None:
        """Run until the conversation waits for the caller or the call is over."""
        assert self._task is not None  # noqa: S101 (started)
        loop = asyncio.get_running_loop()
        tick_s = self._run.config.watchdog_tick_ms / 1000.0
        while not self._task.done():
            await asyncio.sleep(0)
            work = self._run.work_in_flight()
            if work:
                # Virtual time follows the loop's while the model or a tool works, so the
                # runtime's deadlines (first token, tool timeout) hold in text mode too.
                began = loop.time()
                await asyncio.wait(
                    [*work, self._task], timeout=tick_s, return_when="FIRST_COMPLETED"
                )
                await self._clock.advance_to(self._clock.now_ms() + (loop.time() - began) * 1000.0)
                continue
            state = self._run.state
            if state.phase is Phase.LISTENING and not state.turn.open and not state.user.dtmf:
                return  # the caller has the floor (digits without a submit key wait for it)
            due = self._run.next_timer_ms()
            if due is None:
                return
            await self._clock.advance_to(due)
        if self.summary is None:
            self.summary = self._task.result()
