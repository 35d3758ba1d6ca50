"""Sending an output's frames on its absolute schedule: by the process pacer, or by a task.

Both senders serve any :class:`~domain.runtime.paced_output.PacedOutput` (the cascade's
playout, the realtime mode's output) and keep the same schedule and bookkeeping
(:func:`after_sent`): frame ``n`` of a continuous run leaves at ``play_end - lead``, where
``play_end`` advances by each frame's duration and restarts from now after an underrun; what a
sent frame means beyond that (words played, progress, first-frame marks) is the output's
``_sent``; a run completes once its last frame is sent (the output's ``_completed``).

* :class:`PacedSender`: for a stream with ``try_send_audio`` (sends without suspending). The
  process's :class:`~domain.runtime.pacer.Pacer` calls :meth:`PacedSender.pace` when a frame is
  due; no task, timer or future per frame. A frame the stream cannot take now (the peer is not
  reading) goes through ``send_audio`` in a task with the send deadline, and pacing resumes
  after it.
* :func:`send_loop`: one task per call that sleeps until each frame is due (any stream).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.runtime.pacer import Pacer, PacerSlot
from ports import AudioFrame, ParleyError, StreamClosedError

if TYPE_CHECKING:
    from domain.runtime.paced_output import PacedOutput

logger = logging.getLogger(__name__)


def after_sent(p: PacedOutput[Any], run: Any, duration: float) -> None:
    """Account one frame of ``run`` sent: the schedule, counters, then the output's own."""
    p._play_end_ms += duration
    p.frames_sent += 1
    p._metrics.frame_out()
    p._sent(run, duration)


class PacedSender(PacerSlot):
    """An output's frames, sent by the process pacer through ``try_send_audio``.

    Args:
        output: The output whose queue this sends (held weakly: the output owns this).
        pacer: The process's pacer.
        try_send: The stream's ``try_send_audio``: True when sent, False when it would wait.
    """

    __slots__ = ("_closed", "_p", "_pacer", "_slow", "_try_send")

    def __init__(
        self, output: PacedOutput[Any], pacer: Pacer, try_send: Callable[[AudioFrame], bool]
    ) -> None:
        super().__init__()
        self._p = weakref.proxy(output)
        self._pacer = pacer
        self._try_send = try_send
        self._slow: asyncio.Task[None] | None = None
        self._closed = False

    def kick(self) -> None:
        """Something changed (frames, a new run, a stop): be served when next due."""
        if self._slow is not None or self._closed:
            return
        p = self._p
        queue = p._queue
        if not queue:
            p._idle.set()
            return
        run = queue[0]
        now = p._clock.now_ms()
        if not run.frames:
            if run.done:
                self._pacer.schedule(self, now)  # completion is due now
            return
        self._pacer.schedule(self, max(p._play_end_ms, now) - p._config.pacing_lead_ms)

    def stopped(self) -> None:
        """The output was stopped: nothing is due."""
        self._pacer.cancel(self)

    def pace(self, now_ms: float, limit_ms: float) -> float | None:
        """Send every frame due by ``limit_ms``; the next due time, or None (see the pacer)."""
        p = self._p
        queue = p._queue
        lead = p._config.pacing_lead_ms
        try_send = self._try_send
        metrics = p._metrics
        while queue and self._slow is None and not self._closed:
            run = queue[0]
            if not run.frames:
                if not run.done:
                    return None  # the producer kicks when it has frames
                p._completed(run)
                continue
            if p._play_end_ms < now_ms:
                # Underrun (or first frame): the far end has played everything; restart the
                # schedule from now.
                p._play_end_ms = now_ms
            send_at: float = p._play_end_ms - lead
            if send_at > limit_ms:
                return send_at
            generation = p._generation
            frame = p._take(run)
            try:
                sent = try_send(frame)
            except StreamClosedError:
                logger.info("media stream closed; sender stops")
                self._closed = True
                return None
            except ParleyError as exc:
                metrics.frame_dropped(exc.code)
                continue
            if not sent:
                self._slow = p._tasks.spawn(self._send_waiting(frame, run, generation), "send")
                return None
            after_sent(p, run, frame.duration_ms)
        if not queue:
            p._idle.set()
        return None

    async def _send_waiting(self, frame: AudioFrame, run: Any, generation: int) -> None:
        """One frame the stream could not take at once: ``send_audio`` under the deadline."""
        p = self._p
        guard = p._watchdog.guard()
        guard.arm(p._config.send_timeout_ms)
        try:
            await p._media.send_audio(frame)
        except asyncio.CancelledError:
            if not guard.expired():
                raise
            p._metrics.frame_dropped("send_timeout")
            p._listener.playout_failed("media_stream", "timeout")
        except StreamClosedError:
            logger.info("media stream closed; sender stops")
            self._closed = True
        except ParleyError as exc:
            p._metrics.frame_dropped(exc.code)
        else:
            if generation == p._generation:
                after_sent(p, run, frame.duration_ms)
        finally:
            guard.armed = False
            self._slow = None
        self.kick()


async def send_loop(p: PacedOutput[Any]) -> None:
    """One call's sender task: sleep until each frame is due, then send it (any stream)."""
    clock = p._clock
    media = p._media
    metrics = p._metrics
    listener = p._listener
    lead = p._config.pacing_lead_ms
    send_limit_ms = p._config.send_timeout_ms
    guard = p._watchdog.guard()
    queue = p._queue
    wake = p._wake
    while True:
        if not queue:
            p._idle.set()
            wake.clear()
            await wake.wait()
            continue
        run = queue[0]
        if not run.frames:
            if run.done:
                p._completed(run)
                continue
            wake.clear()
            await wake.wait()
            continue
        generation = p._generation
        now = clock.now_ms()
        if p._play_end_ms < now:
            # Underrun (or first frame): the far end has played everything; restart the
            # schedule from now.
            p._play_end_ms = now
        send_at = p._play_end_ms - lead
        if send_at > now:
            await clock.sleep_until(send_at)
            if generation != p._generation or not queue or queue[0] is not run:
                continue  # stopped, or the run was dropped, while waiting
        frame = p._take(run)
        guard.arm(send_limit_ms)
        try:
            await media.send_audio(frame)
        except asyncio.CancelledError:
            if not guard.expired():
                raise
            metrics.frame_dropped("send_timeout")
            listener.playout_failed("media_stream", "timeout")
            continue
        except StreamClosedError:
            logger.info("media stream closed; sender stops")
            return
        except ParleyError as exc:
            metrics.frame_dropped(exc.code)
            continue
        finally:
            guard.armed = False
        if generation != p._generation:
            continue
        after_sent(p, run, frame.duration_ms)
