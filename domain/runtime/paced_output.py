"""What every audio output of a call shares: runs of frames sent back to back on one schedule.

An audio output (the cascade's :class:`~domain.runtime.playout.Playout`, the realtime mode's
:class:`~domain.runtime.realtime.output.RealtimeOutput`) queues runs of frames (a synthesised
speech, a service response's audio) that play back to back. Their frames leave on one
absolute schedule: frame ``n`` of a continuous run leaves at ``play_end - lead``, where
``play_end`` advances by each frame's duration and restarts from now after an underrun or a
stop, so errors never accumulate over a long call and the far end never holds more than
``pacing_lead_ms``. The sending itself is :mod:`domain.runtime.sender`'s, the same for every
output: the process's :class:`~domain.runtime.pacer.Pacer` sends the frames of a stream with
``try_send_audio``; any other stream gets one sender task of its own.

A subclass says what a run is and what sending one of its frames means (:meth:`_sent`: words
or clauses played, progress, first-frame marks) and what its completion reports
(:meth:`_completed`); see ``docs/adr/0005-media-hot-path.md``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, Protocol, TypeVar

from domain.runtime.config import RuntimeConfig
from domain.runtime.pacer import Pacer
from domain.runtime.sender import PacedSender, send_loop
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import AudioFrame, CallMetrics, Clock, MediaStream


class PlayoutListener(Protocol):
    """What an audio output reports to the call (synchronously, on the loop)."""

    def playback_progress(
        self,
        speech_id: str,
        played_ms: float,
        played_text: str | None,
        duration_ms: float | None,
    ) -> None:
        """Audio of ``speech_id`` sent so far (ms), the words sent and its total when known."""
        ...

    def playback_completed(self, speech_id: str, duration_ms: float) -> None:
        """Every frame of ``speech_id`` was sent."""
        ...

    def first_audio(self, speech_id: str) -> None:
        """The first synthesised audio of ``speech_id`` arrived."""
        ...

    def first_frame_sent(self, speech_id: str) -> None:
        """The first frame of ``speech_id`` was sent."""
        ...

    def playout_failed(self, port: str, code: str) -> None:
        """Synthesis or sending failed with port error ``code``."""
        ...


class Run(Protocol):
    """One queued run of frames: a speech, a service response's audio."""

    frames: deque[AudioFrame]
    """Frames not sent yet, in order (the producer appends, the sender takes)."""
    done: bool
    """No frame will be added any more: once ``frames`` is empty the run is complete."""


RunT = TypeVar("RunT", bound=Run)


class PacedOutput(Generic[RunT]):
    """The queue, schedule and sender of one call's audio output (a base class).

    Args:
        media: The call's media stream (``send_audio``, optionally ``try_send_audio``).
        clock: Time source of the schedule.
        metrics: Gets ``frame_out`` per frame sent and dropped frames by reason.
        config: Pacing lead, send deadline.
        tasks: The call's task owner (the sender task, a send the far end makes wait).
        watchdog: Enforces the send deadline.
        listener: Gets ``playout_failed`` when a send times out (and the subclass's reports).
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
        tasks: TaskOwner,
        watchdog: Watchdog,
        listener: PlayoutListener,
        pacer: Pacer | None,
    ) -> None:
        self._media = media
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self._tasks = tasks
        self._watchdog = watchdog
        self._listener = listener
        self._queue: deque[RunT] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._generation = 0
        self._play_end_ms = 0.0
        self.frames_sent = 0
        """Frames sent so far."""
        try_send = getattr(media, "try_send_audio", None)
        self._paced = (
            PacedSender(self, pacer, try_send) if pacer is not None and callable(try_send) else None
        )

    @property
    def paced(self) -> bool:
        """True when the process's pacer sends this output's frames (no task of its own)."""
        return self._paced is not None

    @property
    def playing(self) -> bool:
        """True while audio is queued or the far end still has sent audio to play."""
        return bool(self._queue) or self._play_end_ms > self._clock.now_ms()

    def start(self) -> None:
        """Start sending (a sender task, once, unless the pacer sends)."""
        if self._sender is None and self._paced is None:
            self._sender = self._tasks.spawn(send_loop(self), "sender")

    async def wait_drained(self) -> None:
        """Return once every queued run has been sent and the far end has played it."""
        while True:
            if self._queue:
                self._idle.clear()
                await self._idle.wait()
                continue
            play_end = self._play_end_ms
            if play_end <= self._clock.now_ms():
                return
            await self._clock.sleep_until(play_end)

    def _kick(self) -> None:
        """Frames or runs changed: the sender looks again."""
        if self._paced is not None:
            self._paced.kick()
        else:
            self._wake.set()

    def _restart(self) -> None:
        """The queue was dropped (a stop): nothing is due, the schedule restarts from now.

        The caller sends stop-audio to the far end in the same loop iteration, which clears
        what the far end still held; a send in flight is not accounted (its generation is
        stale).
        """
        self._generation += 1
        self._play_end_ms = self._clock.now_ms()
        if self._paced is not None:
            self._paced.stopped()
        self._kick()
        self._idle.set()

    # what the senders call (synchronously) ------------------------------------------------

    def _take(self, run: RunT) -> AudioFrame:
        """Take the next frame of ``run`` (the head of the queue) to send it."""
        return run.frames.popleft()

    def _sent(self, run: RunT, duration_ms: float) -> None:
        """A frame of ``run`` lasting ``duration_ms`` was sent (the schedule is advanced)."""
        raise NotImplementedError

    def _completed(self, run: RunT) -> None:
        """``run``, the head of the queue, is done and every frame of it sent: pop, report."""
        raise NotImplementedError
