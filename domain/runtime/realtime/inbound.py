"""Caller audio into the realtime session; the caller's speech and transcripts out of it.

Per inbound frame the reader counts it and hands it to the session's non-blocking
``push_audio`` (in the call's format: at 24 kHz no conversion happens anywhere). With turn
detection ``parley`` it also runs the cascade's VAD smoothing and commits the input buffer at
each end of speech; otherwise the service's ``speech_started`` / ``speech_stopped`` events are
the caller's speech, their audio offsets mapped onto the call's clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from domain import events as ev
from domain.runtime.config import RuntimeConfig
from domain.runtime.errors import error_code
from domain.runtime.latency import LatencyTracker
from domain.runtime.realtime.link import SessionLink
from domain.runtime.speech_detector import STARTED, STOPPED, SpeechDetector
from domain.runtime.tasks import Watchdog
from ports import (
    AudioFormat,
    AudioReceived,
    CallMetrics,
    Clock,
    DtmfReceived,
    InvalidAudioError,
    MediaEvent,
    ParleyError,
    StreamClosed,
    UpdateKind,
    VoiceActivityDetector,
)
from ports.beep import BeepDetector, BeepDetectorFactory
from ports.realtime import InputTranscript, SpeechStarted, SpeechStopped

logger = logging.getLogger(__name__)


class RealtimeInboundListener(Protocol):
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


class RealtimeInbound:
    """One realtime call's caller side.

    Args:
        link: The session link (``push``, ``request``, pushed audio ms).
        vad: The call's detector, used only with turn detection ``parley``.
        parley_vad: Returns True while turn detection is ``parley`` (it may change with the
            active agent).
        heard_final: Told each final transcript (the service already has that input).
        clock: Time source of event times.
        metrics: Gets ``frame_in`` per frame and drops by reason.
        config: VAD smoothing, media idle deadline.
        fmt: The call's format.
        watchdog: Enforces the media idle deadline.
        latency: Gets speech onset, end of speech and final-transcript marks.
        listener: The call.
        call_id: For logs.
    """

    def __init__(
        self,
        *,
        link: SessionLink,
        vad: VoiceActivityDetector | None,
        parley_vad: Callable[[], bool],
        heard_final: Callable[[str], None],
        clock: Clock,
        metrics: CallMetrics,
        config: RuntimeConfig,
        fmt: AudioFormat,
        watchdog: Watchdog,
        latency: LatencyTracker,
        listener: RealtimeInboundListener,
        call_id: str,
    ) -> None:
        self._link = link
        self._vad = vad
        self._parley_vad = parley_vad
        self._heard_final = heard_final
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self._fmt = fmt
        self._watchdog = watchdog
        self._latency = latency
        self._listener = listener
        self._call_id = call_id
        self._detector = SpeechDetector(
            config.vad_threshold, config.speech_start_ms, config.speech_stop_ms
        )
        self._partials: dict[str, str] = {}
        self._speaking = False
        self._beep: BeepDetector | None = None

    def detect_beep(self, active: bool, factory: BeepDetectorFactory | None) -> None:
        """Start (``active``) or stop giving the caller's audio to a beep detector.

        Outbound screening works in realtime mode too: the detector hears the same frames
        the service does.
        """
        self._beep = None
        if active and factory is not None:
            try:
                self._beep = factory(self._fmt)
            except Exception as exc:  # noqa: BLE001 (no detector: the beep timeout decides)
                logger.warning("call %s: no beep detection: %r", self._call_id, exc)

    async def read(self, media_events: AsyncIterator[MediaEvent]) -> None:
        """Read the media stream until it closes (the task body)."""
        clock = self._clock
        metrics = self._metrics
        link = self._link
        listener = self._listener
        fmt = self._fmt
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
                    if not link.push(frame):
                        metrics.frame_dropped("realtime_not_ready")
                    beep = self._beep
                    if beep is not None and beep.process(frame):
                        listener.feed(ev.BeepDetected(clock.now_ms()))
                    if self._parley_vad():
                        self._local_vad(event)
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
        """Close the session (nothing is reopened after this)."""
        await self._link.close()

    # Parley's VAD (turn detection "parley") -------------------------------------------

    def _local_vad(self, event: AudioReceived) -> None:
        vad = self._vad
        probability = 0.0
        if vad is not None and not event.silent:
            try:
                probability = vad.speech_probability(event.frame)
            except InvalidAudioError:
                self._metrics.frame_dropped("invalid_audio")
                return
            except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
                logger.warning("voice activity detection failed: %r", exc)
                self._vad = None
                self._listener.provider_failed("vad", error_code(exc))
        now = self._clock.now_ms()
        change = self._detector.update(
            probability,
            event.frame.duration_ms,
            now if probability >= self._config.vad_threshold else 0.0,
        )
        if change == STARTED:
            self._started(self._detector.onset_ms)
        elif change == STOPPED:
            self._stopped(now)
            self._link.request(lambda session: session.commit_input())

    # the service's speech and transcripts ----------------------------------------------

    def _at(self, audio_ms: float) -> float:
        """Clock time of caller audio offset ``audio_ms`` (pushed audio plays in real time)."""
        now = self._clock.now_ms()
        return min(now, now - (self._link.audio_ms - audio_ms))

    def speech_started(self, event: SpeechStarted) -> None:
        """The service heard the caller start (ignored while Parley's VAD decides)."""
        if not self._parley_vad():
            self._started(self._at(event.audio_start_ms))

    def speech_stopped(self, event: SpeechStopped) -> None:
        """The service heard the caller stop."""
        if not self._parley_vad():
            self._stopped(self._at(event.audio_end_ms))

    def _started(self, onset_ms: float) -> None:
        self._speaking = True
        self._latency.speech_started(onset_ms)
        self._listener.feed(ev.UserSpeechStarted(onset_ms))

    def _stopped(self, at_ms: float) -> None:
        if not self._speaking:
            return
        self._speaking = False
        self._latency.speech_stopped(at_ms)
        self._listener.feed(ev.UserSpeechStopped(at_ms))

    def transcript(self, event: InputTranscript) -> None:
        """Input transcription: a partial (accumulated per item) or the final."""
        now = self._clock.now_ms()
        listener = self._listener
        if not event.is_final:
            text = self._partials.get(event.item_id, "") + event.text
            self._partials[event.item_id] = text
            if text.strip():
                listener.notify(UpdateKind.TRANSCRIPT_PARTIAL, text)
            listener.feed(ev.PartialTranscript(now, text))
            return
        self._partials.pop(event.item_id, None)
        text = event.text
        if text.strip():
            self._heard_final(text)
            self._latency.final_transcript(now, len(text.split()))
            listener.notify(UpdateKind.TRANSCRIPT_FINAL, text)
        listener.feed(ev.FinalTranscript(now, text))
