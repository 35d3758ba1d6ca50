"""The end-of-turn model at each pause: the caller's recent audio in, a judgement event out.

:class:`EndOfTurnProbe` keeps the last ``window_ms`` of the caller's audio in a ring buffer
(written in place per frame: no allocation on the frame path), remembers where the current
turn began, and at each pause the VAD reports (``UserSpeechStopped``) asks the
:class:`~ports.EndOfTurnDetector` about the turn's audio in an owned task with a deadline. The
answer reaches the conversation as :class:`~domain.events.EndOfTurnPredicted`; the domain's
endpointing policy decides what it means. ``speech_stopped`` says whether the model was asked,
so the conversation can wait for the judgement of a pause whose final comes first. A failed
or late prediction is logged, counted (``provider_error`` with port ``end_of_turn``) and fed
as a judgement without a probability: the turn is then taken as without a model, and the
call never escalates because the optional model failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from domain import events as ev
from domain.runtime.errors import error_code
from domain.runtime.tasks import TaskOwner
from ports import AudioFormat, AudioFrame, CallMetrics, Clock, EndOfTurnDetector

logger = logging.getLogger(__name__)

PRE_ROLL_MS = 300.0
"""Audio kept from before the speech onset that starts a turn, ms."""

NEW_TURN_AFTER_MS = 3000.0
"""Speech starting this long after the last pause starts a new turn's audio, ms."""


class EndOfTurnProbe:
    """One call's end-of-turn judgements (see the module docstring).

    Args:
        detector: The end-of-turn model (one per process).
        fmt: The call's inbound format (what :meth:`push` receives).
        clock: Time of the judgement events.
        tasks: The call's task owner (the prediction task is one of its tasks).
        metrics: Gets ``provider_error("end_of_turn", code)`` per failed prediction.
        feed: Gives an event to the conversation.
        timeout_ms: Deadline of one prediction, ms.
        call_id: For logs.
    """

    __slots__ = (
        "_call_id",
        "_clock",
        "_detector",
        "_feed",
        "_fmt",
        "_last_stop_ms",
        "_metrics",
        "_pending",
        "_pos",
        "_ring",
        "_since",
        "_tasks",
        "_timeout_s",
        "_view",
    )

    def __init__(
        self,
        detector: EndOfTurnDetector,
        fmt: AudioFormat,
        *,
        clock: Clock,
        tasks: TaskOwner,
        metrics: CallMetrics,
        feed: Callable[[ev.Event], None],
        timeout_ms: float,
        call_id: str,
    ) -> None:
        width = fmt.sample_width
        size = int(detector.window_ms * fmt.sample_rate_hz / 1000.0) * width
        self._detector = detector
        self._fmt = fmt
        self._clock = clock
        self._tasks = tasks
        self._metrics = metrics
        self._feed = feed
        self._timeout_s = timeout_ms / 1000.0
        self._call_id = call_id
        self._ring = bytearray(max(size, width))
        self._view = memoryview(self._ring)
        self._pos = 0  # next write position in the ring
        self._since = 0  # bytes of the current turn (with pre-roll) in the ring
        self._last_stop_ms = -NEW_TURN_AFTER_MS
        self._pending: asyncio.Task[None] | None = None

    def push(self, data: bytes) -> None:
        """Keep a frame of caller audio (in the call's format); writes the ring in place."""
        size = len(self._ring)
        n = len(data)
        if n >= size:
            self._view[:] = memoryview(data)[n - size :]
            self._pos = 0
        else:
            end = self._pos + n
            if end <= size:
                self._view[self._pos : end] = data
            else:
                first = size - self._pos
                source = memoryview(data)
                self._view[self._pos :] = source[:first]
                self._view[: n - first] = source[first:]
            self._pos = end % size
        self._since = min(size, self._since + n)

    def speech_started(self, at_ms: float) -> None:
        """Speech began; long after the last pause it starts a new turn's audio."""
        if at_ms - self._last_stop_ms >= NEW_TURN_AFTER_MS:
            width = self._fmt.sample_width
            pre_roll = int(PRE_ROLL_MS * self._fmt.sample_rate_hz / 1000.0) * width
            self._since = min(self._since, pre_roll)

    def speech_stopped(self, at_ms: float) -> bool:
        """A pause: ask the model about the turn's audio so far (an older question is dropped).

        Returns:
            True when the model was asked: an ``EndOfTurnPredicted`` for this pause follows
            unless the prediction fails or misses its deadline.
        """
        self._last_stop_ms = at_ms
        pending = self._pending
        if pending is not None and not pending.done():
            pending.cancel()
        if self._since == 0:
            return False
        try:
            self._pending = self._tasks.spawn(self._predict(self._snapshot(), at_ms), "turn")
        except RuntimeError:  # the call is shutting down
            self._pending = None
            return False
        return True

    def _snapshot(self) -> bytes:
        size = len(self._ring)
        start = (self._pos - self._since) % size
        if start + self._since <= size:
            return bytes(self._view[start : start + self._since])
        return bytes(self._view[start:]) + bytes(self._view[: self._pos])

    async def _predict(self, audio: bytes, stopped_ms: float) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                probability = await self._detector.predict(AudioFrame(audio, self._fmt))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (an optional model's failure is only counted)
            logger.warning("call %s: end-of-turn prediction failed: %r", self._call_id, exc)
            self._metrics.provider_error("end_of_turn", error_code(exc))
            # No judgement: a final held for it is taken now, as without a model.
            self._feed(ev.EndOfTurnPredicted(self._clock.now_ms(), None, stopped_ms))
            return
        self._feed(ev.EndOfTurnPredicted(self._clock.now_ms(), probability, stopped_ms))
