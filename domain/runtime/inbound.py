"""Caller audio in: VAD smoothing into speech events, and the speech-to-text session.

Per inbound frame the reader does a handful of attribute reads, one VAD call, one smoothing
update and one non-blocking ``push``; it allocates nothing and starts no task. Transitions
(speech started / stopped), DTMF and transcripts become conversation events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from domain import events as ev
from domain.runtime.config import RuntimeConfig
from domain.runtime.end_of_turn import EndOfTurnProbe
from domain.runtime.errors import error_code
from domain.runtime.latency import LatencyTracker
from domain.runtime.speech_detector import STARTED, STOPPED, SpeechDetector
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import (
    AudioFormat,
    AudioReceived,
    BeepDetector,
    BeepDetectorFactory,
    CallMetrics,
    Clock,
    DtmfReceived,
    EndOfTurnDetector,
    InvalidAudioError,
    MediaEvent,
    ParleyError,
    ProviderError,
    RecognitionSession,
    SpeechToText,
    StreamClosed,
    StreamStarted,
    UpdateKind,
    VoiceActivityDetector,
)

logger = logging.getLogger(__name__)


async def first_media_event(
    media_events: AsyncIterator[MediaEvent],
    timeout_ms: float,
    metrics: CallMetrics,
    call_id: str,
) -> MediaEvent:
    """The stream's ``StreamStarted`` (or ``StreamClosed``); audio before it is dropped.

    Returns ``StreamClosed`` with ``no_stream_start`` after ``timeout_ms``, ``error`` when the
    stream fails, ``remote_closed`` when it ends first.
    """
    try:
        async with asyncio.timeout(timeout_ms / 1000.0):
            while True:
                event = await anext(media_events)
                if isinstance(event, StreamStarted | StreamClosed):
                    return event
                metrics.frame_dropped("before_start")
    except StopAsyncIteration:
        return StreamClosed("remote_closed")
    except TimeoutError:
        logger.warning("call %s: no stream start within the deadline", call_id)
        return StreamClosed("no_stream_start")
    except ParleyError as exc:
        logger.warning("call %s: media stream failed: %s", call_id, exc.code)
        return StreamClosed("error")


class InboundListener(Protocol):
    """What the inbound side reports to its call (synchronously, on the loop)."""

    def feed(self, event: ev.Event) -> None:
        """Give an event to the conversation."""
        ...

    def notify(self, kind: UpdateKind, text: str) -> None:
        """Show a transcript to the call's observer."""
        ...

    def provider_failed(self, port: str, code: str) -> None:
        """An adapter of ``port`` failed with ``code``."""
        ...

    def end(self, reason: str) -> None:
        """The media stream ended; end the call with ``reason``."""
        ...


class Inbound:
    """One call's caller audio: VAD, smoothing, speech-to-text, DTMF.

    Args:
        stt: Speech-to-text port (one session per call, reopened after a failure).
        vad: The call's detector, or ``None`` when none could be made.
        clock: Time source of event times.
        metrics: Gets ``frame_in`` per accepted frame and drops by reason.
        config: Smoothing, media idle deadline, restarts, timeouts, language.
        fmt: The stream's inbound format.
        tasks: The call's task owner.
        watchdog: Enforces the media idle deadline.
        latency: Gets speech onset, end of speech and final-transcript marks.
        listener: Receives events, transcripts for display, failures and the end.
        call_id: For logs.
        end_of_turn: The end-of-turn model, asked at each pause (None: no model).
    """

    def __init__(
        self,
        *,
        stt: SpeechToText,
        vad: VoiceActivityDetector | None,
        clock: Clock,
        metrics: CallMetrics,
        config: RuntimeConfig,
        fmt: AudioFormat,
        tasks: TaskOwner,
        watchdog: Watchdog,
        latency: LatencyTracker,
        listener: InboundListener,
        call_id: str,
        end_of_turn: EndOfTurnDetector | None = None,
    ) -> None:
        self._stt_port = stt
        self._vad = vad
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self._fmt = fmt
        self._tasks = tasks
        self._watchdog = watchdog
        self._latency = latency
        self._listener = listener
        self._call_id = call_id
        self._detector = SpeechDetector(
            config.vad_threshold, config.speech_start_ms, config.speech_stop_ms
        )
        self._turn = (
            None
            if end_of_turn is None
            else EndOfTurnProbe(
                end_of_turn, fmt, clock=clock, tasks=tasks, metrics=metrics,
                feed=listener.feed, timeout_ms=config.port_timeout_ms, call_id=call_id,
            )
        )  # fmt: skip
        self._stt: RecognitionSession | None = None
        self._stt_restarts = 0
        self._closed = False
        self._beep: BeepDetector | None = None

    def detect_beep(self, active: bool, factory: BeepDetectorFactory | None) -> None:
        """Start (``active``) or stop giving the caller's audio to a beep detector."""
        self._beep = None
        if active and factory is not None:
            try:
                self._beep = factory(self._fmt)
            except Exception as exc:  # noqa: BLE001 (no detector: the beep timeout decides)
                logger.warning("call %s: no beep detection: %r", self._call_id, exc)

    async def read(self, media_events: AsyncIterator[MediaEvent]) -> None:
        """Open speech-to-text, then read the media stream until it closes (the task body)."""
        await self._open_stt()
        clock = self._clock
        metrics = self._metrics
        detector = self._detector
        listener = self._listener
        fmt = self._fmt
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
                    listener.end("idle_timeout")
                    return
                guard.armed = False
                if type(event) is AudioReceived:
                    frame = event.frame
                    if frame.format is not fmt and frame.format != fmt:
                        metrics.frame_dropped("wrong_format")
                        continue
                    metrics.frame_in()
                    if self._turn is not None:
                        self._turn.push(frame.data)
                    stt = self._stt
                    if stt is not None:
                        try:
                            stt.push(frame)
                        except InvalidAudioError:
                            metrics.frame_dropped("invalid_audio")
                            continue
                        except ParleyError as exc:
                            self._drop_stt(stt, exc.code)
                    beep = self._beep
                    if beep is not None and beep.process(frame):
                        listener.feed(ev.BeepDetected(clock.now_ms()))
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
                            listener.provider_failed("vad", error_code(exc))
                            probability = 0.0
                    change = detector.update(
                        probability,
                        frame.duration_ms,
                        clock.now_ms() if probability >= threshold else 0.0,
                    )
                    if change:
                        self._speech_changed(change)
                elif type(event) is DtmfReceived:
                    listener.feed(ev.DtmfDigit(clock.now_ms(), event.digit))
                elif type(event) is StreamClosed:
                    listener.end(event.reason)
                    return
            listener.end("remote_closed")
        except ParleyError as exc:
            logger.warning("call %s: media stream failed: %s", self._call_id, exc.code)
            listener.end("error")

    async def close(self) -> None:
        """Close the speech-to-text session (no final); nothing is reopened after this."""
        self._closed = True
        session, self._stt = self._stt, None
        if session is not None:
            await self._close_session(session)

    def _speech_changed(self, change: int) -> None:
        if change == STARTED:
            onset = self._detector.onset_ms
            self._latency.speech_started(onset)
            if self._turn is not None:
                self._turn.speech_started(onset)
            self._listener.feed(ev.UserSpeechStarted(onset))
        elif change == STOPPED:
            now = self._clock.now_ms()
            self._latency.speech_stopped(now)
            stt = self._stt
            if stt is not None:
                try:
                    stt.end_of_speech()
                except ParleyError as exc:
                    self._drop_stt(stt, exc.code)
            # The question goes to the model first (its task runs after this step), so the
            # conversation knows a judgement of this pause is coming.
            judged = self._turn.speech_stopped(now) if self._turn is not None else False
            self._listener.feed(ev.UserSpeechStopped(now, judged))

    async def _open_stt(self) -> None:
        try:
            session = self._stt_port.session(self._fmt, language=self._config.language)
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await session.__aenter__()
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            logger.warning("call %s: speech-to-text did not open: %r", self._call_id, exc)
            self._stt_failed(error_code(exc))
            return
        if self._closed:
            await self._close_session(session)
            return
        self._stt = session
        self._tasks.spawn(self._read_stt(session), "stt")

    async def _read_stt(self, session: RecognitionSession) -> None:
        clock = self._clock
        listener = self._listener
        try:
            async for result in session.events():
                now = clock.now_ms()
                text = result.text
                if result.is_final:
                    if text.strip():
                        self._latency.final_transcript(now, len(text.split()))
                        listener.notify(UpdateKind.TRANSCRIPT_FINAL, text)
                    listener.feed(ev.FinalTranscript(now, text, result.confidence))
                else:
                    if text.strip():
                        listener.notify(UpdateKind.TRANSCRIPT_PARTIAL, text)
                    listener.feed(ev.PartialTranscript(now, text))
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            if not isinstance(exc, ProviderError):
                logger.exception("speech-to-text raised a non-port error")
            if self._stt is session:
                self._stt = None
                await self._close_session(session)
                self._stt_failed(error_code(exc))

    def _drop_stt(self, session: RecognitionSession, code: str) -> None:
        """Retire a failed session (its reader ends when it closes) and report the failure."""
        if self._stt is session:
            self._stt = None
        self._tasks.spawn(self._close_session(session), "stt-close")
        self._stt_failed(code)

    def _stt_failed(self, code: str) -> None:
        self._listener.provider_failed("speech_to_text", code)
        if self._closed:
            return
        if self._stt_restarts < self._config.stt_max_restarts:
            self._stt_restarts += 1
            self._tasks.spawn(self._open_stt(), "stt-reopen")

    async def _close_session(self, session: RecognitionSession) -> None:
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await session.aclose()
        except Exception:  # noqa: BLE001 (closing must not fail the call)
            logger.debug("closing speech-to-text failed", exc_info=True)
