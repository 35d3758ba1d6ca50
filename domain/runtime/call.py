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
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.latency import TurnLatency, latency_data
from domain.runtime.playout import Playout
from domain.runtime.speech_detector import STARTED, STOPPED, SpeechDetector
from domain.runtime.tasks import TaskOwner, Watchdog
from domain.session import Conversation, SessionState
from ports import (
    AudioFormat,
    AudioReceived,
    CallEvent,
    CallEventKind,
    CallSummary,
    ConversationUpdate,
    DtmfReceived,
    InboundCall,
    InvalidAudioError,
    JsonObject,
    LatencyStage,
    MediaEvent,
    ParleyError,
    Participant,
    ProviderError,
    RecognitionSession,
    ResponseDone,
    ResponseEvent,
    StoreError,
    StreamClosed,
    StreamStarted,
    TextDelta,
    ToolCallsRequested,
    ToolResult,
    TranscriptEntry,
    UpdateKind,
    VersionConflictError,
    VoiceActivityDetector,
)

logger = logging.getLogger(__name__)


class _Response:
    """A model stream in flight."""

    __slots__ = ("closed", "response_id", "task")

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.task: asyncio.Task[None] | None = None
        self.closed = False


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ParleyError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "provider_error"


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
        self._stt: RecognitionSession | None = None
        self._stt_restarts = 0
        self._vad: VoiceActivityDetector | None = None
        self._detector = SpeechDetector(
            config.vad_threshold, config.speech_start_ms, config.speech_stop_ms
        )
        self._responses: dict[str, _Response] = {}
        self._tool_tasks: dict[str, set[asyncio.Task[None]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._transcript_queue: asyncio.Queue[TranscriptEntry | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._save_wanted = asyncio.Event()
        self._save_seq = 0
        self._saved_seq = 0
        self._saved_version: int | None = None
        self._onset_ms: float | None = None
        self._speech_stopped_ms: float | None = None
        self._turn: TurnLatency | None = None
        self._barge_ins = 0
        self._user_turns = 0
        self._agent_turns = 0

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
                self._start(first, media_events)
                await self._ended.wait()
            elif isinstance(first, StreamClosed):
                self._end(first.reason)
        except asyncio.CancelledError:
            self._end("cancelled")
            await self._teardown(media_events)
            raise
        except Exception:
            # A bug, not a provider failure: end the call rather than leak it.
            logger.exception("call %s failed", self._call_id)
            self._end("error")
        await self._teardown(media_events)
        return CallSummary(
            call_id=self._call_id,
            end_reason=self._end_reason or "remote_closed",
            user_turns=self._user_turns,
            agent_turns=self._agent_turns,
            barge_ins=self._barge_ins,
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

    def _start(self, started: StreamStarted, media_events: AsyncIterator[MediaEvent]) -> None:
        fmt = started.format
        self._fmt = fmt
        deps = self._deps
        self._playout = Playout(
            tts=deps.tts,
            media=self._call.media,
            clock=self._clock,
            metrics=self._metrics,
            config=self._config,
            fmt=fmt,
            tasks=self._tasks,
            watchdog=self._watchdog,
            listener=self,
        )
        self._playout.start()
        try:
            self._vad = deps.vad_factory(fmt)
        except Exception as exc:  # noqa: BLE001 (any adapter failure becomes an event)
            logger.warning("call %s: no voice activity detection: %r", self._call_id, exc)
            self._provider_failed("vad", _error_code(exc))
        self._writer = self._tasks.spawn(self._write_transcripts(), "transcripts")
        self._tasks.spawn(self._save_loop(), "saver")
        if self._call.call_events is not None:
            self._tasks.spawn(self._read_call_events(self._call.call_events), "call-events")
        self._tasks.spawn(self._watch(), "watchdog")
        self.feed(ev.CallStarted(self._clock.now_ms(), self._call_id, self._call.info.caller))
        self._tasks.spawn(self._read_media(media_events, fmt), "media")

    def _end(self, reason: str) -> None:
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
        self._transcript_queue.put_nowait(None)
        if self._writer is not None:
            await asyncio.wait({self._writer}, timeout=port_timeout_s)
        await self._tasks.shutdown(config.shutdown_timeout_ms / 1000.0)
        if isinstance(media_events, AsyncGenerator):
            try:
                async with asyncio.timeout(port_timeout_s):
                    await media_events.aclose()
            except Exception:  # noqa: BLE001 (closing must not fail the call)
                logger.debug("closing media events failed", exc_info=True)
        await self._close_stt()
        if self._saved_seq != self._save_seq:
            await self._save_now()
        try:
            async with asyncio.timeout(port_timeout_s):
                await self._call.media.close()
        except Exception:  # noqa: BLE001 (closing must not fail the call)
            logger.debug("closing the media stream failed", exc_info=True)
        self._metrics.call_ended()
        self._notify(UpdateKind.CALL_ENDED, data={"reason": self._end_reason or "remote_closed"})

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
                    and event.name == "false_interruption"
                    and step.noop_reason is None
                ):
                    self._metrics.false_interruption()
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
                self._save_seq += 1
                self._save_wanted.set()
            case cmds.EmitTranscript():
                self._transcript_queue.put_nowait(command.entry)
                if command.entry.kind == "user":
                    self._user_turns += 1
                elif command.entry.kind == "assistant":
                    self._agent_turns += 1
                    self._notify(
                        UpdateKind.AGENT_MESSAGE,
                        command.entry.text,
                        data={"interrupted": command.entry.interrupted},
                    )
            case cmds.HandOffTo():
                self._notify(
                    UpdateKind.HANDOFF,
                    data={
                        "from": command.from_agent,
                        "to": command.to_agent,
                        "reason": command.reason,
                    },
                )
            case cmds.TransferCall():
                self._notify(
                    UpdateKind.TRANSFER, data={"target": command.target, "reason": command.reason}
                )
                self._tasks.spawn(self._transfer(command), "transfer")
            case cmds.HangUp():
                self._tasks.spawn(self._hang_up(command), "hang-up")

    def _notify(self, kind: UpdateKind, text: str = "", *, data: JsonObject | None = None) -> None:
        observer = self._call.observer
        if observer is None:
            return
        try:
            observer.on_update(
                ConversationUpdate(kind, text, self._state.agent or None, data or {})
            )
        except Exception:
            logger.exception("call observer failed on %s", kind)

    def _provider_failed(self, port: str, code: str) -> None:
        self._metrics.provider_error(port, code)
        self.feed(ev.ProviderFailed(self._clock.now_ms(), port, code))

    def _store_failed(self, port: str, exc: BaseException) -> None:
        # Counted, not fed to the conversation: a write-behind store changes nothing the
        # caller hears, and counting it as a conversation failure would escalate (transfer or
        # hang up) calls during a store outage.
        self._metrics.provider_error(port, _error_code(exc))

    def _emit_record(self, data: JsonObject) -> None:
        if self._closing:
            return
        self._transcript_queue.put_nowait(
            TranscriptEntry(
                kind="turn_latency", at_ms=self._clock.now_ms(), agent=self._state.agent, data=data
            )
        )

    # ------------------------------------------------------------------ inbound

    async def _read_media(self, media_events: AsyncIterator[MediaEvent], fmt: AudioFormat) -> None:
        await self._open_stt(fmt)
        clock = self._clock
        metrics = self._metrics
        detector = self._detector
        threshold = self._config.vad_threshold
        idle_ms = self._config.media_idle_timeout_ms
        guard = self._watchdog.guard()
        try:
            while True:
                if idle_ms:
                    guard.arm(idle_ms)
                try:
                    event = await anext(media_events)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if not guard.expired():
                        raise
                    logger.info("call %s: no media for %.0f ms", self._call_id, idle_ms)
                    self._end("idle_timeout")
                    return
                guard.armed = False
                if type(event) is AudioReceived:
                    frame = event.frame
                    if frame.format is not fmt and frame.format != fmt:
                        metrics.frame_dropped("wrong_format")
                        continue
                    metrics.frame_in()
                    stt = self._stt
                    if stt is not None:
                        try:
                            stt.push(frame)
                        except InvalidAudioError:
                            metrics.frame_dropped("invalid_audio")
                            continue
                        except ParleyError as exc:
                            self._drop_stt(stt, exc.code)
                    vad = self._vad
                    if vad is None or event.silent:
                        probability = 0.0
                    else:
                        try:
                            probability = vad.speech_probability(frame)
                        except InvalidAudioError:
                            metrics.frame_dropped("invalid_audio")
                            continue
                        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
                            logger.warning("voice activity detection failed: %r", exc)
                            self._vad = None
                            self._provider_failed("vad", _error_code(exc))
                            probability = 0.0
                    change = detector.update(
                        probability,
                        frame.duration_ms,
                        clock.now_ms() if probability >= threshold else 0.0,
                    )
                    if change:
                        self._speech_changed(change)
                elif type(event) is DtmfReceived:
                    self.feed(ev.DtmfDigit(clock.now_ms(), event.digit))
                elif type(event) is StreamClosed:
                    self._end(event.reason)
                    return
            self._end("remote_closed")
        except ParleyError as exc:
            logger.warning("call %s: media stream failed: %s", self._call_id, exc.code)
            self._end("error")

    def _speech_changed(self, change: int) -> None:
        if change == STARTED:
            onset = self._detector.onset_ms
            self._onset_ms = onset
            self._speech_stopped_ms = None
            self.feed(ev.UserSpeechStarted(onset))
        elif change == STOPPED:
            now = self._clock.now_ms()
            self._speech_stopped_ms = now
            stt = self._stt
            if stt is not None:
                try:
                    stt.end_of_speech()
                except ParleyError as exc:
                    self._drop_stt(stt, exc.code)
            self.feed(ev.UserSpeechStopped(now))

    async def _watch(self) -> None:
        tick = self._config.watchdog_tick_ms
        clock = self._clock
        watchdog = self._watchdog
        next_tick = clock.now_ms()
        while True:
            next_tick += tick
            await clock.sleep_until(next_tick)
            watchdog.check()

    async def _open_stt(self, fmt: AudioFormat) -> None:
        try:
            session = self._deps.stt.session(fmt, language=self._config.language)
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await session.__aenter__()
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            logger.warning("call %s: speech-to-text did not open: %r", self._call_id, exc)
            self._stt_failed(_error_code(exc))
            return
        self._stt = session
        self._tasks.spawn(self._read_stt(session), "stt")

    async def _read_stt(self, session: RecognitionSession) -> None:
        clock = self._clock
        try:
            async for result in session.events():
                now = clock.now_ms()
                text = result.text
                if result.is_final:
                    if text.strip():
                        self._final_transcript(now)
                        self._notify(UpdateKind.TRANSCRIPT_FINAL, text)
                    self.feed(ev.FinalTranscript(now, text, result.confidence))
                else:
                    if text.strip():
                        self._notify(UpdateKind.TRANSCRIPT_PARTIAL, text)
                    self.feed(ev.PartialTranscript(now, text))
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            if not isinstance(exc, ProviderError):
                logger.exception("speech-to-text raised a non-port error")
            if self._stt is session:
                self._stt = None
                await self._close_session(session)
                self._stt_failed(_error_code(exc))

    def _drop_stt(self, session: RecognitionSession, code: str) -> None:
        """Retire a failed session (its reader ends when it closes) and report the failure."""
        if self._stt is session:
            self._stt = None
        self._tasks.spawn(self._close_session(session), "stt-close")
        self._stt_failed(code)

    def _stt_failed(self, code: str) -> None:
        self._provider_failed("speech_to_text", code)
        if self._closing or self._fmt is None:
            return
        if self._stt_restarts < self._config.stt_max_restarts:
            self._stt_restarts += 1
            self._tasks.spawn(self._open_stt(self._fmt), "stt-reopen")

    async def _close_session(self, session: RecognitionSession) -> None:
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await session.aclose()
        except Exception:  # noqa: BLE001 (closing must not fail the call)
            logger.debug("closing speech-to-text failed", exc_info=True)

    async def _close_stt(self) -> None:
        session, self._stt = self._stt, None
        if session is not None:
            await self._close_session(session)

    async def _read_call_events(self, events: AsyncIterator[CallEvent]) -> None:
        clock = self._clock
        try:
            async for event in events:
                kind = event.kind
                if kind in (CallEventKind.CALL_DISCONNECTED, CallEventKind.CALL_LOST):
                    reason = "transfer" if self._transferred else kind.value
                    self._end(reason)
                    return
                if kind is CallEventKind.TRANSFER_ACCEPTED:
                    self._transferred = True
                    self.feed(ev.TransferResult(clock.now_ms(), accepted=True))
                elif kind is CallEventKind.TRANSFER_FAILED:
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
                    self._first_token(now)
                if type(item) is TextDelta:
                    self.feed(ev.ResponseTextDelta(now, rid, item.text))
                elif type(item) is ToolCallsRequested:
                    self.feed(ev.ToolCallsRequested(now, rid, item.calls))
                elif type(item) is ResponseDone:
                    break
                if response.closed:
                    return
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
            failure = _error_code(exc)
        finally:
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
        self.feed(ev.ToolCompleted(self._clock.now_ms(), command.response_id, result))

    def _run_tool(self, command: cmds.RunTool) -> None:
        self._notify(
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
        self._notify(UpdateKind.AGENT_TEXT, command.text)
        turn = self._turn
        if (
            turn is not None
            and turn.speech_id is None
            and command.response_id is not None
            and turn.first_token_ms is not None
        ):
            turn.speech_id = command.speech_id
        self._playout.enqueue(command)

    def _stop_playback(self, command: cmds.StopPlayback) -> None:
        assert self._playout is not None  # noqa: S101 (commands start after the stream)
        self._playout.stop()
        barge_in = command.reason == "barge_in"
        onset = self._onset_ms if barge_in else None
        # Scheduled now, in the same loop iteration that dropped the queued audio.
        self._tasks.spawn(self._stop_audio(onset), "stop-audio")
        self._notify(UpdateKind.STOP_AUDIO, data={"reason": command.reason})
        if barge_in:
            self._barge_ins += 1
            self._metrics.barge_in()
            turn = self._turn
            if turn is not None and turn.first_frame_ms is None:
                self._turn = None

    async def _stop_audio(self, onset_ms: float | None) -> None:
        called_ms = self._clock.now_ms()
        if onset_ms is not None:
            reaction = max(0.0, called_ms - onset_ms)
            self._metrics.latency(LatencyStage.BARGE_IN_REACTION, reaction)
            self._emit_record({LatencyStage.BARGE_IN_REACTION.value: round(reaction, 1)})
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await self._call.media.stop_audio()
        except Exception as exc:  # noqa: BLE001 (adapter failure is counted, the call goes on)
            logger.warning("stop_audio failed: %r", exc)
            self._metrics.provider_error("media_stream", _error_code(exc))

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
        self.feed(ev.PlaybackCompleted(self._clock.now_ms(), speech_id, duration_ms))

    def first_audio(self, speech_id: str) -> None:
        """Mark time to first audio of the current turn's answer."""
        turn = self._turn
        if turn is not None and turn.speech_id == speech_id and turn.first_audio_ms is None:
            turn.first_audio_ms = self._clock.now_ms()

    def first_frame_sent(self, speech_id: str) -> None:
        """Complete and record the current turn's latency when its answer's first frame left."""
        turn = self._turn
        if turn is None or turn.speech_id != speech_id:
            return
        turn.first_frame_ms = self._clock.now_ms()
        self._turn = None
        stages = turn.stages()
        for stage, ms in stages.items():
            self._metrics.latency(stage, ms)
        self._emit_record(latency_data(stages))

    def playout_failed(self, port: str, code: str) -> None:
        """Report a synthesis or send failure as a provider failure."""
        self._provider_failed(port, code)

    def _first_token(self, now: float) -> None:
        turn = self._turn
        if turn is not None and turn.first_token_ms is None:
            turn.first_token_ms = now

    def _final_transcript(self, now: float) -> None:
        turn = self._turn
        if turn is not None and turn.first_token_ms is None:
            # Another final of the same turn (merged by the conversation): measure from it.
            turn.final_ms = now
            return
        stopped = self._speech_stopped_ms
        self._turn = TurnLatency(stopped, now)
        self._speech_stopped_ms = None

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
                self._metrics.provider_error("call_control", _error_code(exc))
        self._end("hang_up")

    async def _transfer(self, command: cmds.TransferCall) -> None:
        await self._drain()
        control = self._deps.call_control
        if not self._call.info.telephony or control is None:
            self._end("transfer")
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
            self._metrics.provider_error("call_control", _error_code(exc))
            self.feed(ev.TransferResult(self._clock.now_ms(), accepted=False))

    # ------------------------------------------------------------------ persistence

    async def _write_transcripts(self) -> None:
        queue = self._transcript_queue
        timeout_s = self._config.port_timeout_ms / 1000.0
        while True:
            entry = await queue.get()
            if entry is None:
                return
            try:
                async with asyncio.timeout(timeout_s):
                    await self._deps.transcripts.append(self._call_id, entry)
            except Exception as exc:  # noqa: BLE001 (a lost line must not end the call)
                logger.warning("call %s: transcript append failed: %r", self._call_id, exc)
                self._store_failed("transcript_log", exc)

    async def _save_loop(self) -> None:
        while True:
            await self._save_wanted.wait()
            await self._clock.sleep(self._config.save_debounce_ms)
            self._save_wanted.clear()
            await self._save_now()

    async def _save_now(self) -> None:
        state = self._state
        seq = self._save_seq
        sessions = self._deps.sessions
        timeout_s = self._config.port_timeout_ms / 1000.0
        try:
            data = state.to_dict()
            for _ in range(2):
                try:
                    async with asyncio.timeout(timeout_s):
                        self._saved_version = await sessions.put(
                            self._call_id, data, expected_version=self._saved_version
                        )
                    self._saved_seq = max(self._saved_seq, seq)
                    return
                except VersionConflictError as exc:
                    async with asyncio.timeout(timeout_s):
                        stored = await sessions.get(self._call_id)
                    self._saved_version = stored.version if stored is not None else exc.actual
            raise StoreError("session version kept changing")
        except Exception as exc:  # noqa: BLE001 (a failed save must not end the call)
            logger.warning("call %s: session save failed: %r", self._call_id, exc)
            self._store_failed("session_store", exc)
