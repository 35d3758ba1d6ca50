"""One call's run: media in, the state machine in the middle, commands out.

Every event reaches the state machine through :meth:`CallRun.feed`, a synchronous pump over
one queue: an event fed while another is being processed (a command's side effect) waits for
the current step's commands to finish, so steps are serialised and run in arrival order.
Commands never await: they start owned tasks, queue audio or queue writes, so that a barge-in's
``StopPlayback`` drops queued audio and schedules ``stop_audio()`` in the same loop iteration.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.errors import error_code
from domain.runtime.inbound import Inbound, first_media_event
from domain.runtime.latency import LatencyTracker
from domain.runtime.model import ModelWork
from domain.runtime.notices import announce
from domain.runtime.output import MediaReader, SpeechOutput
from domain.runtime.paced_output import PlayoutListener
from domain.runtime.pacer import Pacer
from domain.runtime.persistence import SessionSaver, TranscriptWriter
from domain.runtime.resume import load_resumed_state
from domain.runtime.speech import SpeechOut
from domain.runtime.tasks import TaskOwner, Watchdog, close_quietly
from domain.runtime.telephony import Telephony
from domain.runtime.timers import Timers
from domain.runtime.trace import start_call_trace
from domain.session import Conversation, SessionState
from ports import (
    AudioFormat,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    JsonObject,
    MediaEvent,
    StreamClosed,
    StreamStarted,
    TranscriptEntry,
    UpdateKind,
    VoiceActivityDetector,
)
from ports.tracing import NO_CALL_TRACE, CallTrace

logger = logging.getLogger(__name__)

OutputFactory = Callable[[PlayoutListener], SpeechOutput]
"""Makes a call's speech output for its listener (text mode: ``domain.runtime.text``)."""


class CallRun:
    """Everything one call owns, from stream start to close. Use :meth:`run` once.

    Args:
        conversation: The state machine.
        deps: The ports.
        config: Runtime tuning.
        call: The inbound call.
        output: The speech output of a call without audio (text mode); omitted, the call
            synthesises speech into its media stream and reads caller audio from it.
        pacer: The process's pacer (one for every call); without it, a sender task per call.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        config: RuntimeConfig,
        call: InboundCall,
        *,
        output: OutputFactory | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._conversation = conversation
        self._deps = deps
        self._config = config
        self._call = call
        self._call_id = call.info.call_id
        self._output = output
        self._clock = deps.clock
        self._metrics = deps.metrics
        self._tasks = TaskOwner(self._call_id)
        self._watchdog = Watchdog(config.watchdog_tick_ms)
        self._step_at_ms = 0.0
        self._state: SessionState = conversation.initial_state(self._call_id)
        self._pending: deque[ev.Event] = deque()
        self._pumping = False
        self._closing = False
        self._ended = asyncio.Event()
        self._end_reason: str | None = None
        self._fmt: AudioFormat | None = None
        self._inbound: MediaReader | None = None
        # The call's helpers reach back to it through a weak proxy: strong back-references
        # made every finished call cyclic garbage, freed only by a full collection (issue 12
        # item 9; tests/reliability/test_memory_cycles.py).
        me = weakref.proxy(self)
        self._timers = Timers(self._tasks, deps.clock, lambda event: me.feed(event))
        self._calls: set[asyncio.Task[None]] = set()
        self._transcripts = TranscriptWriter(
            deps.transcripts, self._call_id, deps.metrics, config.port_timeout_ms
        )
        self._saver = SessionSaver(
            deps.sessions,
            self._call_id,
            lambda: me._state.to_dict(),
            clock=deps.clock,
            metrics=deps.metrics,
            debounce_ms=config.save_debounce_ms,
            timeout_ms=config.port_timeout_ms,
        )
        self._latency = LatencyTracker(deps.metrics, lambda data: me._emit_record(data))
        self._speech = SpeechOut(
            media=call.media,
            config=config,
            clock=deps.clock,
            metrics=deps.metrics,
            tasks=self._tasks,
            latency=self._latency,
            listener=me,
            call_id=self._call_id,
            pacer=pacer,
        )
        self._telephony = Telephony(
            control=deps.call_control if call.info.telephony else None,
            call_id=self._call_id,
            config=config,
            clock=deps.clock,
            metrics=deps.metrics,
            drain=self._speech.drain,
            listener=me,
            caller=call.info.caller,
            llm=deps.llm,
        )
        self._model = ModelWork(
            llm=deps.llm,
            tools=deps.tools,
            config=config,
            clock=deps.clock,
            metrics=deps.metrics,
            tasks=self._tasks,
            watchdog=self._watchdog,
            latency=self._latency,
            listener=me,
            call_id=self._call_id,
        )
        self._trace: CallTrace = NO_CALL_TRACE

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> CallSummary:
        """Run the call to its end and summarise it; cancelling ends the call cleanly."""
        clock = self._clock
        started_ms = clock.now_ms()
        self._metrics.call_started()
        media_events = self._call.media.events()
        try:
            first = await first_media_event(
                media_events, self._config.stream_start_timeout_ms, self._metrics, self._call_id
            )
            if isinstance(first, StreamStarted):
                started_ms = clock.now_ms()
                resumed = await load_resumed_state(
                    self._deps.sessions, self._call_id, self._config.port_timeout_ms, self._metrics
                )
                self._state = resumed or self._state
                self._start(first, media_events)
                await self._ended.wait()
            elif isinstance(first, StreamClosed):
                self.end(first.reason)
        except asyncio.CancelledError:
            self.end("cancelled")
            await self._teardown(media_events)
            raise
        except Exception:
            # A bug, not a provider failure: end the call rather than leak it.
            logger.exception("call %s failed", self._call_id)
            self.end("error")
        await self._teardown(media_events)
        # The conversation's own counters: they see every barge-in (voice and DTMF) and turn.
        status = self._state.status
        return CallSummary(
            call_id=self._call_id,
            end_reason=self._end_reason or "remote_closed",
            user_turns=status.user_turns,
            agent_turns=status.agent_turns,
            barge_ins=status.barge_ins,
            duration_ms=max(0.0, clock.now_ms() - started_ms),
        )

    def _start(self, started: StreamStarted, media_events: AsyncIterator[MediaEvent]) -> None:
        fmt = started.format
        self._fmt = fmt
        self._trace = start_call_trace(self._deps.tracing, self._call.info, self._clock.now_ms())
        self._latency.trace = self._trace
        self._model.trace = self._trace
        self._telephony.trace = self._trace
        self._speech.trace = self._trace
        speech = self._speech
        output = self._output(speech) if self._output is not None else self._start_audio(fmt)
        speech.output = output
        output.start()
        self._transcripts.start(self._tasks)
        self._saver.start(self._tasks)
        if self._call.call_events is not None:
            self._tasks.spawn(self._telephony.read(self._call.call_events), "call-events")
        self._tasks.spawn(self._watchdog.run(self._clock), "watchdog")
        info = self._call.info
        self.feed(
            ev.CallStarted(
                self._clock.now_ms(), self._call_id, info.caller, info.direction == "outbound"
            )
        )
        if self._inbound is not None:
            self._tasks.spawn(self._inbound.read(media_events), "media")

    def _start_audio(self, fmt: AudioFormat) -> SpeechOutput:
        """The audio side: paced synthesis out, VAD and speech-to-text in."""
        deps = self._deps
        playout = self._speech.audio_output(deps.tts, fmt, self._watchdog)
        vad: VoiceActivityDetector | None = None
        try:
            vad = deps.vad_factory(fmt)
        except Exception as exc:  # noqa: BLE001 (any adapter failure becomes an event)
            logger.warning("call %s: no voice activity detection: %r", self._call_id, exc)
            self.provider_failed("vad", error_code(exc))
        self._inbound = Inbound(
            stt=deps.stt,
            vad=vad,
            clock=self._clock,
            metrics=self._metrics,
            config=self._config,
            fmt=fmt,
            tasks=self._tasks,
            watchdog=self._watchdog,
            latency=self._latency,
            listener=weakref.proxy(self),
            call_id=self._call_id,
            end_of_turn=deps.end_of_turn,
        )
        return playout

    @property
    def state(self) -> SessionState:
        """The conversation's current state."""
        return self._state

    @property
    def config(self) -> RuntimeConfig:
        """The call's runtime tuning."""
        return self._config

    def work_in_flight(self) -> list[asyncio.Task[None]]:
        """Model responses, tools, transfers and hang-ups still running (not timers)."""
        work = [*self._model.in_flight(), *self._calls]
        return [task for task in work if not task.done()]

    def next_timer_ms(self) -> float | None:
        """Deadline of the earliest pending timer, ms on the call's clock; ``None`` if none."""
        return self._timers.next_deadline_ms()

    def end(self, reason: str) -> None:
        """End the call with ``reason`` (the first reason given wins)."""
        if self._end_reason is None:
            self._end_reason = reason
        self._ended.set()

    async def _teardown(self, media_events: AsyncIterator[MediaEvent]) -> None:
        config = self._config
        port_timeout_s = config.port_timeout_ms / 1000.0
        if self._fmt is not None and not self._closing:
            # The conversation's last word: it may emit the interrupted message and a save.
            self.feed(ev.CallEnded(self._clock.now_ms(), self._end_reason or "remote_closed"))
        self._closing = True
        if self._speech.output is not None:
            self._speech.output.stop()
        await self._transcripts.close(port_timeout_s)
        await self._tasks.shutdown(config.shutdown_timeout_ms / 1000.0)
        if isinstance(media_events, AsyncGenerator):
            await close_quietly(media_events.aclose(), port_timeout_s, "media events")
        if self._inbound is not None:
            await self._inbound.close()
        await self._saver.flush()
        await close_quietly(self._call.media.close(), port_timeout_s, "the media stream")
        self._metrics.call_ended()
        self._trace.end(self._end_reason or "remote_closed", self._clock.now_ms())
        self.notify(UpdateKind.CALL_ENDED, data={"reason": self._end_reason or "remote_closed"})

    # ------------------------------------------------------------------ the pump

    def feed(self, event: ev.Event) -> None:
        """Give ``event`` to the state machine and execute the resulting commands.

        Re-entrant calls (from a command's side effect) queue behind the current step.
        """
        if self._closing:
            return
        self._pending.append(event)
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._pending:
                event = self._pending.popleft()
                try:
                    step = self._conversation.step(self._state, event)
                except Exception:
                    logger.exception("state machine failed on %s", type(event).__name__)
                    continue
                self._state = step.state
                # Timer delays count from the event's time: the state machine's "now".
                self._step_at_ms = event.at_ms
                if (
                    isinstance(event, ev.TimerFired)
                    and event.name == cmds.TimerName.FALSE_INTERRUPTION
                    and step.noop_reason is None
                ):
                    self._metrics.false_interruption()
                    self._trace.false_interruption(event.at_ms)
                for command in step.commands:
                    try:
                        self._execute(command)
                    except Exception:
                        logger.exception("executing %s failed", type(command).__name__)
        finally:
            self._pumping = False

    def _execute(self, command: cmds.Command) -> None:  # noqa: C901 (one branch per command)
        if self._closing and not isinstance(command, cmds.SaveSession | cmds.EmitTranscript):
            return
        match command:
            case cmds.Speak():
                self._speech.speak(command, self._step_at_ms)
            case cmds.StopPlayback():
                self._speech.stop_playback(command, self._step_at_ms)
            case cmds.StartResponse():
                self._model.start_response(command)
            case cmds.CancelResponse():
                self._model.cancel_response(command.response_id)
            case cmds.RunTool():
                self._model.run_tool(command)
            case cmds.StartTimer():
                self._timers.start(command, self._step_at_ms)
            case cmds.CancelTimer():
                self._timers.cancel(command.name)
            case cmds.SaveSession():
                self._saver.request()
            case cmds.EmitTranscript():
                self._transcripts.append(command.entry)
                announce(command, self.notify, self._trace, self._step_at_ms)
            case cmds.HandOffTo():
                announce(command, self.notify, self._trace, self._step_at_ms)
            case cmds.TransferCall():
                announce(command, self.notify, self._trace, self._step_at_ms)
                self._track(self._tasks.spawn(self._telephony.transfer(command), "transfer"))
            case cmds.HangUp():
                announce(command, self.notify, self._trace, self._step_at_ms)
                self._track(self._tasks.spawn(self._telephony.hang_up(command.reason), "hang-up"))
            case cmds.StartConsult() | cmds.CompleteTransfer() | cmds.CollectDtmf():
                announce(command, self.notify, self._trace, self._step_at_ms)
                self._track(self._tasks.spawn(self._telephony.run(command), "telephony"))
            case cmds.DetectBeep():
                if self._inbound is not None:
                    self._inbound.detect_beep(command.active, self._deps.beep_detectors)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def notify(self, kind: UpdateKind, text: str = "", *, data: JsonObject | None = None) -> None:
        """Give the call's observer an update; an observer's failure is logged, not raised."""
        observer = self._call.observer
        if observer is None:
            return
        try:
            observer.on_update(
                ConversationUpdate(kind, text, self._state.agent or None, data or {})
            )
        except Exception:
            logger.exception("call observer failed on %s", kind)

    def provider_failed(self, port: str, code: str) -> None:
        """Count an adapter failure and give it to the conversation as ``ProviderFailed``."""
        self._metrics.provider_error(port, code)
        self.feed(ev.ProviderFailed(self._clock.now_ms(), port, code))

    def _emit_record(self, data: JsonObject) -> None:
        if self._closing:
            return
        self._transcripts.append(
            TranscriptEntry(
                kind="turn_latency", at_ms=self._clock.now_ms(), agent=self._state.agent, data=data
            )
        )
