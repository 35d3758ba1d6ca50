"""One call's speech side: ``Speak`` and ``StopPlayback`` out, playback reports back in.

The output is the call's :class:`~domain.runtime.output.SpeechOutput` (paced audio, or text in
text mode); this object is its :class:`~domain.runtime.playout.PlayoutListener`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig
from domain.runtime.errors import error_code
from domain.runtime.latency import LatencyTracker
from domain.runtime.output import SpeechOutput
from domain.runtime.pacer import Pacer
from domain.runtime.playout import Playout
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import (
    AudioFormat,
    CallMetrics,
    Clock,
    JsonObject,
    MediaStream,
    TextToSpeech,
    UpdateKind,
)
from ports.tracing import NO_CALL_TRACE, CallTrace

logger = logging.getLogger(__name__)


class SpeechListener(Protocol):
    """What the speech side reports to its call (synchronously, on the loop)."""

    def feed(self, event: ev.Event) -> None:
        """Give an event to the conversation."""
        ...

    def notify(self, kind: UpdateKind, text: str = "", *, data: JsonObject | None = None) -> None:
        """Show an update to the call's observer."""
        ...

    def provider_failed(self, port: str, code: str) -> None:
        """Count an adapter failure and feed it to the conversation."""
        ...


class SpeechOut:
    """Speech of one call, from the conversation's commands to the output and back.

    Args:
        media: The call's media stream (``stop_audio`` on barge-in).
        config: Runtime tuning (port and drain timeouts).
        clock: The call's clock.
        metrics: Barge-ins and media failures.
        tasks: The call's task owner.
        latency: Per-turn latency marks.
        listener: The call.
        call_id: The call, for logs.
        pacer: The process's pacer, for a stream that can send without waiting.
    """

    def __init__(
        self,
        *,
        media: MediaStream,
        config: RuntimeConfig,
        clock: Clock,
        metrics: CallMetrics,
        tasks: TaskOwner,
        latency: LatencyTracker,
        listener: SpeechListener,
        call_id: str,
        pacer: Pacer | None = None,
    ) -> None:
        self._media = media
        self._config = config
        self._clock = clock
        self._metrics = metrics
        self._tasks = tasks
        self._latency = latency
        self._listener = listener
        self._call_id = call_id
        self._pacer = pacer
        self.output: SpeechOutput | None = None
        """The output (set when the stream starts)."""
        self.trace: CallTrace = NO_CALL_TRACE
        """The call's trace (set when the call starts)."""

    def audio_output(self, tts: TextToSpeech, fmt: AudioFormat, watchdog: Watchdog) -> Playout:
        """The paced text-to-speech playout into the media stream, reporting to this object."""
        return Playout(
            tts=tts,
            media=self._media,
            clock=self._clock,
            metrics=self._metrics,
            config=self._config,
            fmt=fmt,
            tasks=self._tasks,
            watchdog=watchdog,
            listener=weakref.proxy(self),
            pacer=self._pacer,
        )

    def speak(self, command: cmds.Speak, step_at_ms: float) -> None:
        """Show and queue ``command`` (``step_at_ms``: its step's event time)."""
        assert self.output is not None  # noqa: S101 (commands start after the stream)
        self._listener.notify(UpdateKind.AGENT_TEXT, command.text)
        self.trace.synthesis_started(command.speech_id, step_at_ms, characters=len(command.text))
        self._latency.speech_queued(command.speech_id, command.response_id)
        self.output.enqueue(command)

    def stop_playback(self, command: cmds.StopPlayback, step_at_ms: float) -> None:
        """Drop queued speech and schedule stop-audio in this loop iteration (barge-in)."""
        assert self.output is not None  # noqa: S101 (commands start after the stream)
        self.output.stop()
        self.trace.playback_stopped(step_at_ms, reason=command.reason)
        barge_in = command.reason in cmds.BARGE_IN_REASONS
        # Reaction time counts from the caller's speech onset; a DTMF key has none.
        onset = (
            self._latency.barge_in_onset_ms if command.reason == cmds.StopReason.BARGE_IN else None
        )
        # Scheduled now, in the same loop iteration that dropped the queued audio.
        self._tasks.spawn(self._stop_audio(onset), "stop-audio")
        self._listener.notify(UpdateKind.STOP_AUDIO, data={"reason": command.reason})
        if barge_in:
            self._metrics.barge_in()
            self._latency.barge_in(step_at_ms)

    async def _stop_audio(self, onset_ms: float | None) -> None:
        self._latency.stop_audio_called(onset_ms, self._clock.now_ms())
        try:
            async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                await self._media.stop_audio()
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
        self._listener.feed(
            ev.PlaybackProgress(
                self._clock.now_ms(), speech_id, played_ms, played_text, duration_ms
            )
        )

    def playback_completed(self, speech_id: str, duration_ms: float) -> None:
        """Report the end of ``speech_id`` to the state machine."""
        if self.output is not None and self.output.current_speech_id() is None:
            self._latency.agent_silent()
        now = self._clock.now_ms()
        self.trace.synthesis_ended(speech_id, now, outcome="completed")
        self._listener.feed(ev.PlaybackCompleted(now, speech_id, duration_ms))

    def first_audio(self, speech_id: str) -> None:
        """Mark time to first audio of the current turn's answer."""
        now = self._clock.now_ms()
        self._latency.first_audio(speech_id, now)
        self.trace.synthesis_first_audio(speech_id, now)

    def first_frame_sent(self, speech_id: str) -> None:
        """Complete and record the current turn's latency when its answer's first frame left."""
        self._latency.first_frame(speech_id, self._clock.now_ms())

    def playout_failed(self, port: str, code: str) -> None:
        """Report a synthesis or send failure as a provider failure."""
        self._listener.provider_failed(port, code)

    async def drain(self) -> None:
        """Wait, within ``drain_timeout_ms``, for queued speech to play."""
        if self.output is None:
            return
        try:
            async with asyncio.timeout(self._config.drain_timeout_ms / 1000.0):
                await self.output.wait_drained()
        except TimeoutError:
            logger.warning("call %s: speech did not finish before the deadline", self._call_id)
