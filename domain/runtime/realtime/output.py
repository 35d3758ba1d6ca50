"""Realtime playout: the audio of service responses, paced into the call, reported per clause.

Each service response (a model response, or a fixed line spoken by the service) has a track:
its audio as it arrives, cut into frames of ``frame_ms``, and the conversation's clauses
(``Speak``) of that response in order. Tracks play back to back in the order they were opened
(the order of the conversation's commands), on the cascade's absolute schedule: a frame leaves
``pacing_lead_ms`` ahead of the far end's playback, so StopAudio has little to clear.

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

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from domain.commands import Speak
from domain.runtime.config import RuntimeConfig
from domain.runtime.latency import LatencyTracker
from domain.runtime.playout import PlayoutListener
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import (
    AudioFormat,
    AudioFrame,
    CallMetrics,
    Clock,
    MediaStream,
    ParleyError,
    StreamClosedError,
)

logger = logging.getLogger(__name__)


class _Clause:
    __slots__ = ("end", "speech_id", "start")

    def __init__(self, speech_id: str, start: int, end: int) -> None:
        self.speech_id = speech_id
        self.start = start
        self.end = end


class _Track:
    """One service response's audio and the clauses spoken by it."""

    __slots__ = (
        "buf",
        "chars",
        "clauses",
        "done",
        "first_audio_ms",
        "first_frame_ms",
        "frames",
        "key",
        "item_id",
        "last_progress_ms",
        "marked",
        "received_ms",
        "sent_ms",
        "spoken",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        self.item_id = ""
        self.frames: deque[AudioFrame] = deque()
        self.buf = bytearray()
        self.received_ms = 0.0
        self.sent_ms = 0.0
        self.done = False
        self.clauses: list[_Clause] = []
        self.chars = 0
        self.spoken = 0
        self.last_progress_ms = 0.0
        self.first_audio_ms: float | None = None
        self.first_frame_ms: float | None = None
        self.marked = 0  # 1: first audio marked, 2: first frame marked too

    def ms_per_char(self) -> float:
        """Estimated audio per character of this track's text (0 before both are known)."""
        if not self.chars or not self.received_ms:
            return 0.0
        return self.received_ms / self.chars


class RealtimeOutput:
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
    ) -> None:
        self._media = media
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self._fmt = fmt
        self._tasks = tasks
        self._watchdog = watchdog
        self._listener = listener
        self._latency = latency
        self._request_line = request_line
        self._truncate = truncate
        self._dropped = dropped
        self._frame_bytes = fmt.frame_bytes(config.frame_ms)
        self._tracks: deque[_Track] = deque()
        self._by_key: dict[str, _Track] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._generation = 0
        self._play_end_ms = 0.0
        self.frames_sent = 0

    # SpeechOutput ------------------------------------------------------------------

    def start(self) -> None:
        """Start the sender task (once)."""
        if self._sender is None:
            self._sender = self._tasks.spawn(self._send_loop(), "realtime-sender")

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
        self._wake.set()

    def current_speech_id(self) -> str | None:
        """The clause now playing (or next to), if any."""
        for track in self._tracks:
            if track.spoken < len(track.clauses):
                return track.clauses[track.spoken].speech_id
        return None

    def stop(self) -> bool:
        """Drop every track; truncate the item that was playing at the audio played.

        Returns:
            True when audio was queued or still playing at the far end.
        """
        now = self._clock.now_ms()
        had_audio = bool(self._tracks) or self._play_end_ms > now
        held = max(0.0, self._play_end_ms - now)
        keys = []
        for track in self._tracks:
            keys.append(track.key)
            if track.item_id:
                self._truncate(track.item_id, int(max(0.0, track.sent_ms - held)))
            held = max(0.0, held - track.sent_ms)
            self._by_key.pop(track.key, None)
        self._tracks.clear()
        self._generation += 1
        self._play_end_ms = now
        self._wake.set()
        self._idle.set()
        if keys:
            self._dropped(keys)
        return had_audio

    async def wait_drained(self) -> None:
        """Return once every track has been sent and the far end has played it."""
        while True:
            if self._tracks:
                self._idle.clear()
                await self._idle.wait()
                continue
            play_end = self._play_end_ms
            if play_end <= self._clock.now_ms():
                return
            await self._clock.sleep_until(play_end)

    # from the session --------------------------------------------------------------

    def open_track(self, key: str) -> _Track:
        """Open the track of response (or line) ``key``, to play after those opened before."""
        track = _Track(key)
        self._tracks.append(track)
        self._by_key[key] = track
        self._idle.clear()
        return track

    def audio(self, key: str, item_id: str, frame: AudioFrame) -> None:
        """Audio of ``key``'s response (ignored once the track was dropped)."""
        track = self._by_key.get(key)
        if track is None:
            return
        if frame.format != self._fmt:
            self._metrics.frame_dropped("wrong_format")
            return
        if track.first_audio_ms is None:
            track.first_audio_ms = self._clock.now_ms()
            self._mark(track)
        if item_id:
            track.item_id = item_id
        size = self._frame_bytes
        buf = track.buf
        buf += frame.data
        whole = len(buf) // size
        if whole:
            fmt = self._fmt
            frame_ms = self._config.frame_ms
            frames = track.frames
            for i in range(whole):
                frames.append(AudioFrame(bytes(buf[i * size : (i + 1) * size]), fmt))
            del buf[: whole * size]
            track.received_ms += whole * frame_ms
            self._wake.set()

    def finish(self, key: str) -> None:
        """``key``'s response is done: its last partial frame is padded and queued."""
        track = self._by_key.get(key)
        if track is None:
            return
        if track.buf:
            pad = self._frame_bytes - len(track.buf)
            track.frames.append(AudioFrame(bytes(track.buf) + bytes(pad), self._fmt))
            track.received_ms += self._config.frame_ms
            track.buf.clear()
        track.done = True
        self._wake.set()

    def discard(self, key: str) -> None:
        """Drop ``key``'s track without playing the rest (a cancelled response)."""
        track = self._by_key.pop(key, None)
        if track is None:
            return
        if track.item_id:
            self._truncate(track.item_id, int(track.sent_ms))
        self._tracks.remove(track)
        for clause in track.clauses[track.spoken :]:
            self._listener.playback_completed(clause.speech_id, 0.0)
        self._wake.set()

    # internals ---------------------------------------------------------------------

    def _add_clause(self, track: _Track, speech_id: str, text: str) -> None:
        start = track.chars
        track.chars += len(text) + (1 if start else 0)
        track.clauses.append(_Clause(speech_id, start, track.chars))
        if len(track.clauses) == 1:
            self._mark(track)

    def _mark(self, track: _Track) -> None:
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

    def _complete(self, track: _Track, upto: int) -> None:
        """Report the clauses before index ``upto`` complete."""
        rate = track.ms_per_char()
        while track.spoken < upto:
            clause = track.clauses[track.spoken]
            track.spoken += 1
            track.last_progress_ms = track.sent_ms
            self._listener.playback_completed(clause.speech_id, (clause.end - clause.start) * rate)

    def _progress(self, track: _Track) -> None:
        clauses = track.clauses
        rate = track.ms_per_char()
        if not clauses or rate <= 0.0:
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

    async def _send_loop(self) -> None:
        clock = self._clock
        media = self._media
        metrics = self._metrics
        lead = self._config.pacing_lead_ms
        guard = self._watchdog.guard()
        send_limit_ms = self._config.send_timeout_ms
        tracks = self._tracks
        wake = self._wake
        while True:
            if not tracks:
                self._idle.set()
                wake.clear()
                await wake.wait()
                continue
            track = tracks[0]
            if not track.frames:
                if track.done:
                    self._complete(track, len(track.clauses))
                    if tracks and tracks[0] is track:
                        tracks.popleft()
                        self._by_key.pop(track.key, None)
                    continue
                wake.clear()
                await wake.wait()
                continue
            generation = self._generation
            now = clock.now_ms()
            if self._play_end_ms < now:
                self._play_end_ms = now
            send_at = self._play_end_ms - lead
            if send_at > now:
                await clock.sleep_until(send_at)
                if generation != self._generation:
                    continue
            frame = track.frames.popleft()
            guard.arm(send_limit_ms)
            try:
                await media.send_audio(frame)
            except asyncio.CancelledError:
                if not guard.expired():
                    raise
                metrics.frame_dropped("send_timeout")
                self._listener.playout_failed("media_stream", "timeout")
                continue
            except StreamClosedError:
                logger.info("media stream closed; realtime sender stops")
                return
            except ParleyError as exc:
                metrics.frame_dropped(exc.code)
                continue
            finally:
                guard.armed = False
            if generation != self._generation:
                continue
            duration = frame.duration_ms
            self._play_end_ms += duration
            self.frames_sent += 1
            metrics.frame_out()
            if track.first_frame_ms is None:
                track.first_frame_ms = clock.now_ms()
                self._mark(track)
            track.sent_ms += duration
            self._progress(track)
