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
from collections.abc import AsyncGenerator, AsyncIterator

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.inbound import Inbound, error_code
from domain.runtime.latency import LatencyTracker
from domain.runtime.persistence import SessionSaver, TranscriptWriter
from domain.runtime.playout import Playout
from domain.runtime.resume import resumed_state
from domain.runtime.tasks import TaskOwner, Watchdog
from domain.session import Conversation, SessionState
from ports import (
    AudioFormat,
    CallEvent,
    CallEventKind,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    JsonObject,
    MediaEvent,
    ParleyError,
    Participant,
    ProviderError,
    ResponseDone,
    ResponseEvent,
    StreamClosed,
    StreamStarted,
    TextDelta,
    ToolCallsRequested,
    ToolResult,
    TranscriptEntry,
    UpdateKind,
    Usage,
    VoiceActivityDetector,
)
from ports.tracing import NO_CALL_TRACE, CallTrace

logger = logging.getLogger(__name__)


class _Response:
    """A model stream in flight."""

    __slots__ = ("closed", "response_id", "task")

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.task: asyncio.Task[None] | None = None
        self.closed = False


def _participant(target: str) -> Participant:
    """A transfer target as a participant: E.164 phone number or provider raw id."""
    if target.startswith("+"):
        return Participant.phone(target)
    if target.startswith("4:+"):
        return Participant.phone(target[2:])
    return Participant.user(target)


class CallRun:
    """Everything one call owns, from stream start to close. Use :meth:`run` once.

    Args:
        conversation: The state machine.
        deps: The ports.
        config: Runtime tuning.
        call: The inbound call.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        config: RuntimeConfig,
        call: InboundCall,
    ) -> None:
        self._conversation = conversation
        self._deps = deps
        self._config = config
        self._call = call
        self._call_id = call.info.call_id
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
        self._transferred = False
        self._playout: Playout | None = None
        self._fmt: AudioFormat | None = None
        self._inbound: Inbound | None = None
        self._responses: dict[str, _Response] = {}
        self._tool_tasks: dict[str, set[asyncio.Task[None]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._transcripts = TranscriptWriter(
            deps.transcripts, self._call_id, deps.metrics, config.port_timeout_ms
        )
        # The call's helpers reach back to it through a weak proxy: strong back-references
        # made every finished call cyclic garbage, freed only by a full collection (issue 12
        # item 9; tests/reliability/test_memory_cycles.py).
        me = weakref.proxy(self)
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
        self._trace: CallTrace = NO_CALL_TRACE

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> CallSummary:
        """Run the call to its end and summarise it; cancelling ends the call cleanly."""
        clock = self._clock
        started_ms = clock.now_ms()
        self._metrics.call_started()
        media_events = self._call.media.events()
        try:
            first = await self._first_media_event(media_events)
            if isinstance(first, StreamStarted):
                started_ms = clock.now_ms()
                await self._resume_saved_session()
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

    async def _first_media_event(self, media_events: AsyncIterator[MediaEvent]) -> MediaEvent:
        try:
            async with asyncio.timeout(self._config.stream_start_timeout_ms / 1000.0):
                while True:
                    event = await anext(media_events)
                    if isinstance(event, StreamStarted | StreamClosed):
                        return event
                    self._metrics.frame_dropped("before_start")
        except StopAsyncIteration:
            return StreamClosed("remote_closed")
        except TimeoutError:
            logger.warning("call %s: no stream start within the deadline", self._call_id)
            return StreamClosed("no_stream_start")
        except ParleyError as exc:
            logger.warning("call %s: media stream failed: %s", self._call_id, exc.code)
            return StreamClosed("error")

    async def _resume_saved_session(self) -> None:
        """Continue from the session saved under this call id (a media reconnect), if any."""
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                stored = await self._deps.sessions.get(self._call_id)
        except Exception as exc:  # noqa: BLE001 (a store outage starts the call fresh)
            logger.warning("call %s: saved session not read: %r", self._call_id, exc)
            self._metrics.provider_error("session_store", error_code(exc))
            return
        if stored is None:
            return
        try:
            resumed = resumed_state(SessionState.from_dict(stored.state))
        except ValueError as exc:
            logger.warning(
                "call %s: saved session unreadable, starting fresh: %s", self._call_id, exc
            )
            return
        if resumed is not None:
            self._state = resumed
            logger.info(
                "call %s resumed: agent %s, %d messages",
                self._call_id,
                resumed.agent,
                len(resumed.history),
            )

    def _start(self, started: StreamStarted, media_events: AsyncIterator[MediaEvent]) -> None:
        fmt = started.format
        self._fmt = fmt
        deps = self._deps
        info = self._call.info
        try:
            self._trace = deps.tracing.start_call(
                self._call_id,
                self._clock.now_ms(),
                channel=info.channel,
                traceparent=info.traceparent or None,
            )
        except Exception:  # noqa: BLE001 (tracing must never stop a call)
            logger.warning("call %s: tracing did not start", self._call_id, exc_info=True)
        self._latency.trace = self._trace
        self._playout = Playout(
            tts=deps.tts,
            media=self._call.media,
            clock=self._clock,
            metrics=self._metrics,
            config=self._config,
            fmt=fmt,
            tasks=self._tasks,
            watchdog=self._watchdog,
            listener=weakref.proxy(self),
        )
        self._playout.start()
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
        )
        self._transcripts.start(self._tasks)
        self._saver.start(self._tasks)
        if self._call.call_events is not None:
            self._tasks.spawn(self._read_call_events(self._call.call_events), "call-events")
        self._tasks.spawn(self._watch(), "watchdog")
        self.feed(ev.CallStarted(self._clock.now_ms(), self._call_id, self._call.info.caller))
        self._tasks.spawn(self._inbound.read(media_events), "media")

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
        if self._playout is not None:
            self._playout.stop()
        await self._transcripts.close(port_timeout_s)
        await self._tasks.shutdown(config.shutdown_timeout_ms / 1000.0)
        if isinstance(media_events, AsyncGenerator):
            try:
                async with asyncio.timeout(port_timeout_s):
                    await media_events.aclose()
            except Exception:  # noqa: BLE001 (closing must not fail the call)
                logger.debug("closing media events failed", exc_info=True)
        if self._inbound is not None:
            await self._inbound.close()
        await self._saver.flush()
        try:
            async with asyncio.timeout(port_timeout_s):
                await self._call.media.close()
        except Exception:  # noqa: BLE001 (closing must not fail the call)
            logger.debug("closing the media stream failed", exc_info=True)
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
                self._speak(command)
            case cmds.StopPlayback():
                self._stop_playback(command)
            case cmds.StartResponse():
                self._start_response(command)
            case cmds.CancelResponse():
                self._cancel_response(command.response_id)
            case cmds.RunTool():
                self._run_tool(command)
            case cmds.StartTimer():
                self._start_timer(command)
            case cmds.CancelTimer():
                timer = self._timers.pop(command.name, None)
                if timer is not None:
                    timer.cancel()
            case cmds.SaveSession():
                self._saver.request()
            case cmds.EmitTranscript():
                self._transcripts.append(command.entry)
                if command.entry.kind == "assistant":
                    self.notify(
                        UpdateKind.AGENT_MESSAGE,
                        command.entry.text,
                        data={"interrupted": command.entry.interrupted},
                    )
            case cmds.HandOffTo():
                self._trace.handoff(command.from_agent, command.to_agent, self._step_at_ms)
                self.notify(
                    UpdateKind.HANDOFF,
                    data={
                        "from": command.from_agent,
                        "to": command.to_agent,
                        "reason": command.reason,
                    },
                )
            case cmds.TransferCall():
                self._trace.transfer(_participant(command.target).kind.value, self._step_at_ms)
                self.notify(
                    UpdateKind.TRANSFER, data={"target": command.target, "reason": command.reason}
                )
                self._tasks.spawn(self._transfer(command), "transfer")
            case cmds.HangUp():
                self._trace.hang_up(self._step_at_ms)
                self._tasks.spawn(self._hang_up(command), "hang-up")

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

    # ------------------------------------------------------------------ call events

    async def _watch(self) -> None:
        tick = self._config.watchdog_tick_ms
        clock = self._clock
        watchdog = self._watchdog
        next_tick = clock.now_ms()
        while True:
            next_tick += tick
            await clock.sleep_until(next_tick)
            watchdog.check()

    async def _read_call_events(self, events: AsyncIterator[CallEvent]) -> None:
        clock = self._clock
        try:
            async for event in events:
                kind = event.kind
                if kind in (CallEventKind.CALL_DISCONNECTED, CallEventKind.CALL_LOST):
                    reason = "transfer" if self._transferred else kind.value
                    self.end(reason)
                    return
                if kind is CallEventKind.TRANSFER_ACCEPTED:
                    self._transferred = True
                    self._trace.transfer_result(True, clock.now_ms())
                    self.feed(ev.TransferResult(clock.now_ms(), accepted=True))
                elif kind is CallEventKind.TRANSFER_FAILED:
                    self._trace.transfer_result(False, clock.now_ms())
                    self.feed(ev.TransferResult(clock.now_ms(), accepted=False))
                elif kind is CallEventKind.RECOGNIZE_COMPLETED:
                    for tone in event.tones:
                        self.feed(ev.DtmfDigit(clock.now_ms(), tone))
        except Exception as exc:  # noqa: BLE001 (adapter failure must not end the call)
            logger.warning("call %s: call events failed: %r", self._call_id, exc)

    # ------------------------------------------------------------------ responses

    def _start_response(self, command: cmds.StartResponse) -> None:
        previous = self._responses.get(command.response_id)
        if previous is not None:
            self._cancel_response(command.response_id)
        response = _Response(command.response_id)
        self._responses[command.response_id] = response
        response.task = self._tasks.spawn(self._respond(response, command), "response")

    def _cancel_response(self, response_id: str) -> None:
        response = self._responses.pop(response_id, None)
        if response is not None and not response.closed:
            response.closed = True
            if response.task is not None and response.task is not asyncio.current_task():
                response.task.cancel()
        current = asyncio.current_task()
        for task in self._tool_tasks.pop(response_id, ()):
            if task is not current:
                task.cancel()

    async def _respond(self, response: _Response, command: cmds.StartResponse) -> None:
        clock = self._clock
        rid = command.response_id
        limit_ms = self._config.first_token_timeout_ms
        guard = self._watchdog.guard()
        first = True
        stream: AsyncGenerator[ResponseEvent, None] | None = None
        failure: str | None = None
        completed = False
        trace = self._trace
        trace.model_request_started(
            rid, clock.now_ms(), agent=command.agent, model=command.options.model
        )
        try:
            tools = [*self._deps.tools.specs(command.tool_names), *command.extra_tools]
            stream = self._deps.llm.stream(command.messages, tools, command.options)
            while True:
                guard.arm(limit_ms)
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    break
                finally:
                    guard.armed = False
                now = clock.now_ms()
                if first and type(item) is not ResponseDone:
                    first = False
                    limit_ms = self._config.token_timeout_ms
                    self._latency.first_token(now)
                    trace.model_first_token(rid, now)
                if type(item) is TextDelta:
                    self.feed(ev.ResponseTextDelta(now, rid, item.text))
                elif type(item) is ToolCallsRequested:
                    self.feed(ev.ToolCallsRequested(now, rid, item.calls))
                elif type(item) is ResponseDone:
                    break
                elif type(item) is Usage:
                    trace.model_usage(rid, item.prompt_tokens, item.completion_tokens)
                if response.closed:
                    return
            completed = True
        except asyncio.CancelledError:
            if response.closed or not guard.expired():
                raise
            failure = "timeout"
        except KeyError as exc:
            logger.error("response %s names an unregistered tool: %s", rid, exc)
            failure = "unknown_tool"
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            if not isinstance(exc, ProviderError):
                logger.exception("language model raised a non-port error")
            failure = error_code(exc)
        finally:
            outcome = failure or ("ok" if completed and not response.closed else "cancelled")
            trace.model_request_ended(rid, clock.now_ms(), outcome=outcome)
            if stream is not None:
                try:
                    async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                        await stream.aclose()
                except Exception:  # noqa: BLE001 (closing must not fail the call)
                    logger.debug("closing a model stream failed", exc_info=True)
        if response.closed:
            return
        response.closed = True
        if self._responses.get(rid) is response:
            del self._responses[rid]
        now = clock.now_ms()
        if failure is None:
            self.feed(ev.ResponseCompleted(now, rid))
        else:
            logger.warning("response %s failed: %s", rid, failure)
            self._metrics.provider_error("language_model", failure)
            self.feed(ev.ResponseFailed(now, rid, failure))

    async def _tool(self, command: cmds.RunTool) -> None:
        call = command.call
        limit_s = (command.timeout_ms + self._config.tool_timeout_margin_ms) / 1000.0
        try:
            async with asyncio.timeout(limit_s):
                result = await self._deps.tools.run(
                    call, timeout_ms=command.timeout_ms, call_id=self._call_id
                )
        except TimeoutError:
            result = ToolResult(call.id, f"tool {call.name} timed out", is_error=True)
        except Exception:
            logger.exception("tool executor raised for %s", call.name)
            result = ToolResult(call.id, f"tool {call.name} failed", is_error=True)
        self._trace.tool_ended(
            call.id, self._clock.now_ms(), outcome="error" if result.is_error else "ok"
        )
        self.feed(ev.ToolCompleted(self._clock.now_ms(), command.response_id, result))

    def _run_tool(self, command: cmds.RunTool) -> None:
        call = command.call
        self._trace.tool_started(call.id, call.name, self._step_at_ms, call.arguments)
        self.notify(
            UpdateKind.TOOL_CALL,
            command.call.name,
            data={"id": command.call.id, "arguments": dict(command.call.arguments)},
        )
        task = self._tasks.spawn(self._tool(command), "tool")
        bucket = self._tool_tasks.setdefault(command.response_id, set())
        bucket.add(task)

        def forget(done: asyncio.Task[None], rid: str = command.response_id) -> None:
            tasks = self._tool_tasks.get(rid)
            if tasks is not None:
                tasks.discard(done)
                if not tasks:
                    del self._tool_tasks[rid]

        task.add_done_callback(forget)

    # ------------------------------------------------------------------ speech out

    def _speak(self, command: cmds.Speak) -> None:
        assert self._playout is not None  # noqa: S101 (commands start after the stream)
        self.notify(UpdateKind.AGENT_TEXT, command.text)
        self._trace.synthesis_started(
            command.speech_id, self._step_at_ms, characters=len(command.text)
        )
        self._latency.speech_queued(command.speech_id, command.response_id)
        self._playout.enqueue(command)

    def _stop_playback(self, command: cmds.StopPlayback) -> None:
        assert self._playout is not None  # noqa: S101 (commands start after the stream)
        self._playout.stop()
        self._trace.playback_stopped(self._step_at_ms, reason=command.reason)
        barge_in = command.reason in cmds.BARGE_IN_REASONS
        # Reaction time counts from the caller's speech onset; a DTMF key has none.
        onset = (
            self._latency.barge_in_onset_ms if command.reason == cmds.StopReason.BARGE_IN else None
        )
        # Scheduled now, in the same loop iteration that dropped the queued audio.
        self._tasks.spawn(self._stop_audio(onset), "stop-audio")
        self.notify(UpdateKind.STOP_AUDIO, data={"reason": command.reason})
        if barge_in:
            self._metrics.barge_in()
            self._latency.barge_in(self._step_at_ms)

    async def _stop_audio(self, onset_ms: float | None) -> None:
        self._latency.stop_audio_called(onset_ms, self._clock.now_ms())
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await self._call.media.stop_audio()
        except Exception as exc:  # noqa: BLE001 (adapter failure is counted, the call goes on)
            logger.warning("stop_audio failed: %r", exc)
            self._metrics.provider_error("media_stream", error_code(exc))

    # PlayoutListener ------------------------------------------------------------------

    def playback_progress(
        self,
        speech_id: str,
        played_ms: float,
        played_text: str | None,
        duration_ms: float | None,
    ) -> None:
        """Report progress of ``speech_id`` to the state machine."""
        self.feed(
            ev.PlaybackProgress(
                self._clock.now_ms(), speech_id, played_ms, played_text, duration_ms
            )
        )

    def playback_completed(self, speech_id: str, duration_ms: float) -> None:
        """Report the end of ``speech_id`` to the state machine."""
        if self._playout is not None and self._playout.current_speech_id() is None:
            self._latency.agent_silent()
        now = self._clock.now_ms()
        self._trace.synthesis_ended(speech_id, now, outcome="completed")
        self.feed(ev.PlaybackCompleted(now, speech_id, duration_ms))

    def first_audio(self, speech_id: str) -> None:
        """Mark time to first audio of the current turn's answer."""
        now = self._clock.now_ms()
        self._latency.first_audio(speech_id, now)
        self._trace.synthesis_first_audio(speech_id, now)

    def first_frame_sent(self, speech_id: str) -> None:
        """Complete and record the current turn's latency when its answer's first frame left."""
        self._latency.first_frame(speech_id, self._clock.now_ms())

    def playout_failed(self, port: str, code: str) -> None:
        """Report a synthesis or send failure as a provider failure."""
        self.provider_failed(port, code)

    # ------------------------------------------------------------------ timers and calls

    def _start_timer(self, command: cmds.StartTimer) -> None:
        previous = self._timers.pop(command.name, None)
        if previous is not None:
            previous.cancel()
        deadline = self._step_at_ms + command.delay_ms
        self._timers[command.name] = self._tasks.spawn(self._timer(command, deadline), "timer")

    async def _timer(self, command: cmds.StartTimer, deadline_ms: float) -> None:
        await self._clock.sleep_until(deadline_ms)
        if self._timers.get(command.name) is asyncio.current_task():
            del self._timers[command.name]
        self.feed(ev.TimerFired(self._clock.now_ms(), command.name, command.token))

    async def _drain(self) -> None:
        if self._playout is None:
            return
        try:
            async with asyncio.timeout(self._config.drain_timeout_ms / 1000.0):
                await self._playout.wait_drained()
        except TimeoutError:
            logger.warning("call %s: speech did not finish before the deadline", self._call_id)

    async def _hang_up(self, command: cmds.HangUp) -> None:
        await self._drain()
        control = self._deps.call_control
        if self._call.info.telephony and control is not None:
            try:
                async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                    await control.hang_up(self._call_id, for_everyone=True)
            except Exception as exc:  # noqa: BLE001 (the call ends either way)
                logger.warning("call %s: hang-up failed: %r", self._call_id, exc)
                self._metrics.provider_error("call_control", error_code(exc))
        self.end("hang_up")

    async def _transfer(self, command: cmds.TransferCall) -> None:
        await self._drain()
        control = self._deps.call_control
        if not self._call.info.telephony or control is None:
            self.end("transfer")
            return
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await control.transfer(
                    self._call_id,
                    _participant(command.target),
                    operation_context=f"transfer:{command.reason}"[:64],
                )
        except Exception as exc:  # noqa: BLE001 (a failed transfer is an event)
            logger.warning("call %s: transfer failed: %r", self._call_id, exc)
            self._metrics.provider_error("call_control", error_code(exc))
            self._trace.transfer_result(False, self._clock.now_ms())
            self.feed(ev.TransferResult(self._clock.now_ms(), accepted=False))
