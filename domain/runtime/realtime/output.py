"""Realtime playout: the audio of service responses, paced into the call, reported per clause.

Each service response (a model response, or a fixed line spoken by the service) has a
:class:`~domain.runtime.realtime.track.Track`: its audio as it arrives, cut into frames of
``frame_ms``, and the conversation's clauses (``Speak``) of that response in order. Tracks
play back to back in the order they were opened (the order of the conversation's commands).
Queue, schedule and sending are the cascade's (:class:`~domain.runtime.paced_output.PacedOutput`):
on a stream with ``try_send_audio`` the process's one pacer sends every call's frames, on the
absolute schedule (a frame leaves ``pacing_lead_ms`` ahead of the far end's playback, so
StopAudio has little to clear).

The services give no word timings on their audio, so a track's played audio is shared between
its clauses in proportion to their text: a clause is reported complete when the played share
of the track passes its last character, and its progress carries the clause's estimated
duration, which the conversation uses to cut the heard words on barge-in. The last clause
completes when the response is finished and every frame has been sent.

On ``stop()`` (barge-in) every queued frame is dropped and the assistant item that was
playing is truncated at the audio actually played: audio sent minus what the far end still
holds by the pacing schedule (docs/adr/0011-realtime-speech-to-speech.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from domain.commands import Speak
from domain.runtime.config import RuntimeConfig
from domain.runtime.latency import LatencyTracker
from domain.runtime.paced_output import PacedOutput, PlayoutListener
from domain.runtime.pacer import Pacer
from domain.runtime.realtime.track import Track
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import AudioEncoding, AudioFormat, AudioFrame, CallMetrics, Clock, MediaStream

logger = logging.getLogger(__name__)


class RealtimeOutput(PacedOutput[Track]):
    """The realtime call's speech output (a :class:`~domain.runtime.output.SpeechOutput`).

    Args:
        media: The call's media stream.
        clock: Time source for pacing.
        metrics: Gets ``frame_out`` per frame sent and dropped frames.
        config: Frame duration, pacing lead, progress interval, send timeout.
        fmt: The call's audio format (responses arrive in it).
        tasks: The call's task owner.
        watchdog: Enforces the send deadline.
        listener: Gets progress and completion per clause (the call's speech side).
        latency: Gets the first audio and first frame of each answer.
        request_line: Asks the session to speak a fixed line (``speech_id``, ``text``).
        truncate: Truncates assistant item ``item_id`` at ``audio_end_ms``.
        dropped: Told which tracks ``stop()`` dropped (their responses are cancelled).
        pacer: The process's pacer; with it, a stream offering ``try_send_audio`` is paced by
            it instead of by a sender task of this call.
    """

    def __init__(
        self,
        *,
        media: MediaStream,
        clock: Clock,
        metrics: CallMetrics,
        config: RuntimeConfig,
        fmt: AudioFormat,
        tasks: TaskOwner,
        watchdog: Watchdog,
        listener: PlayoutListener,
        latency: LatencyTracker,
        request_line: Callable[[str, str], None],
        truncate: Callable[[str, int], None],
        dropped: Callable[[list[str]], None],
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(
            media=media,
            clock=clock,
            metrics=metrics,
            config=config,
            tasks=tasks,
            watchdog=watchdog,
            listener=listener,
            pacer=pacer,
        )
        self._fmt = fmt
        self._latency = latency
        self._request_line = request_line
        self._truncate = truncate
        self._dropped = dropped
        self._frame_bytes = fmt.frame_bytes(config.frame_ms)
        self._silence = b"\xff" if fmt.encoding is AudioEncoding.MULAW else b"\x00"
        self._by_key: dict[str, Track] = {}

    # SpeechOutput ------------------------------------------------------------------

    def enqueue(self, cmd: Speak) -> None:
        """A clause of a response's track, or a fixed line (its own track and response)."""
        if cmd.response_id is None:
            track = self.open_track(cmd.speech_id)
            self._add_clause(track, cmd.speech_id, cmd.text)
            self._request_line(cmd.speech_id, cmd.text)
            return
        found = self._by_key.get(cmd.response_id)
        if found is None:
            # Its response is gone (cancelled or lost): nothing of it will play.
            self._listener.playback_completed(cmd.speech_id, 0.0)
            return
        self._add_clause(found, cmd.speech_id, cmd.text)
        self._kick()

    def current_speech_id(self) -> str | None:
        """The clause now playing (or next to), if any."""
        for track in self._queue:
            if track.spoken < len(track.clauses):
                return track.clauses[track.spoken].speech_id
        return None

    def stop(self) -> bool:
        """Drop every track; truncate the item that was playing at the audio played.

        The audio played of a track is what was sent of it minus what the far end still holds
        by the schedule (``play_end - now``: the far end plays without gaps from the schedule's
        last restart), so ``audio_end_ms`` is exact to the frame.

        Returns:
            True when audio was queued or still playing at the far end.
        """
        now = self._clock.now_ms()
        had_audio = self.playing
        held = max(0.0, self._play_end_ms - now)
        keys = []
        for track in self._queue:
            keys.append(track.key)
            if track.item_id:
                self._truncate(track.item_id, int(max(0.0, track.sent_ms - held)))
            held = max(0.0, held - track.sent_ms)
            self._by_key.pop(track.key, None)
        self._queue.clear()
        self._restart()
        if keys:
            self._dropped(keys)
        return had_audio

    # from the session --------------------------------------------------------------

    def open_track(self, key: str) -> Track:
        """Open the track of response (or line) ``key``, to play after those opened before."""
        track = Track(key)
        self._queue.append(track)
        self._by_key[key] = track
        self._idle.clear()
        return track

    def audio(self, key: str, item_id: str, frame: AudioFrame) -> None:
        """Audio of ``key``'s response (ignored once the track was dropped)."""
        track = self._by_key.get(key)
        if track is None:
            return
        fmt = self._fmt
        if frame.format is not fmt and frame.format != fmt:
            self._metrics.frame_dropped("wrong_format")
            return
        if track.first_audio_ms is None:
            track.first_audio_ms = self._clock.now_ms()
            self._mark(track)
        if item_id:
            track.item_id = item_id
        if track.add_audio(frame.data, fmt, self._frame_bytes, self._config.frame_ms):
            self._kick()

    def finish(self, key: str) -> None:
        """``key``'s response is done: its last partial frame is padded and queued."""
        track = self._by_key.get(key)
        if track is None:
            return
        track.finish(self._fmt, self._frame_bytes, self._config.frame_ms, self._silence)
        self._kick()

    def discard(self, key: str) -> None:
        """Drop ``key``'s track without playing the rest (a cancelled response)."""
        track = self._by_key.pop(key, None)
        if track is None:
            return
        if track.item_id:
            self._truncate(track.item_id, int(track.sent_ms))
        self._queue.remove(track)
        rest = track.clauses[track.spoken :]
        # Nothing more of it is reported, even for a frame of it still being sent.
        track.spoken = len(track.clauses)
        for clause in rest:
            self._listener.playback_completed(clause.speech_id, 0.0)
        self._kick()

    # what the senders call -----------------------------------------------------------

    def _sent(self, run: Track, duration_ms: float) -> None:
        """First-frame mark and clause progress of ``run`` (one more frame of it sent)."""
        if run.first_frame_ms is None:
            run.first_frame_ms = self._clock.now_ms()
            self._mark(run)
        run.sent_ms += duration_ms
        self._progress(run)

    def _completed(self, run: Track) -> None:
        self._complete(run, len(run.clauses))
        queue = self._queue
        # Reporting may have stopped the output (the queue is then empty already).
        if queue and queue[0] is run:
            queue.popleft()
            self._by_key.pop(run.key, None)

    # clauses -------------------------------------------------------------------------

    def _add_clause(self, track: Track, speech_id: str, text: str) -> None:
        track.add_clause(speech_id, text)
        if len(track.clauses) == 1:
            self._mark(track)

    def _mark(self, track: Track) -> None:
        """Latency marks of a track's first clause, once its first audio/frame is known."""
        if not track.clauses:
            return
        speech_id = track.clauses[0].speech_id
        if track.marked == 0 and track.first_audio_ms is not None:
            track.marked = 1
            self._latency.first_audio(speech_id, track.first_audio_ms)
        if track.marked == 1 and track.first_frame_ms is not None:
            track.marked = 2
            self._latency.first_frame(speech_id, track.first_frame_ms)

    def _complete(self, track: Track, upto: int) -> None:
        """Report the clauses before index ``upto`` complete."""
        rate = track.ms_per_char()
        while track.spoken < upto:
            clause = track.clauses[track.spoken]
            track.spoken += 1
            track.last_progress_ms = track.sent_ms
            self._listener.playback_completed(clause.speech_id, (clause.end - clause.start) * rate)

    def _progress(self, track: Track) -> None:
        clauses = track.clauses
        if track.spoken >= len(clauses):
            return
        rate = track.ms_per_char()
        if rate <= 0.0:
            return
        played_chars = track.sent_ms / rate
        index = track.spoken
        # The last known clause waits for the end of the response (more text may follow).
        last = len(clauses) if track.done and not track.frames else len(clauses) - 1
        while index < last and clauses[index].end <= played_chars:
            index += 1
        if index > track.spoken:
            self._complete(track, index)
        if track.spoken < len(clauses) and (
            track.sent_ms - track.last_progress_ms >= self._config.progress_interval_ms
        ):
            clause = clauses[track.spoken]
            track.last_progress_ms = track.sent_ms
            self._listener.playback_progress(
                clause.speech_id,
                max(0.0, track.sent_ms - clause.start * rate),
                None,
                (clause.end - clause.start) * rate,
            )
