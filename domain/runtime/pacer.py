"""One pacing timer for every call of a process: each tick sends every call's due frames.

A sleeping sender task per call costs a timer, a future and a task wake-up for every outbound
frame (50 per second per call). The :class:`Pacer` keeps one heap of due times instead: its one
task sleeps until the earliest due time, then asks every sender due within ``batch_ms`` to send
what is due, synchronously, and sleeps again. With frames of many calls due at scattered
phases, a tick serves all of them within ``batch_ms`` (frames leave at most that much early,
never late because of the batching), so wake-ups per second are bounded by ``1000 / batch_ms``
whatever the number of calls.

The pacer's task exists only while something is scheduled: it ends when the heap empties and
is started again by the next :meth:`Pacer.schedule`, so no task outlives the calls. The sleep
is on the runtime's :class:`~ports.Clock`, so tests drive it with a manual clock. See
``docs/adr/0005-media-hot-path.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math

from ports import Clock

logger = logging.getLogger(__name__)


class PacerSlot:
    """What the pacer drives (one per call's outbound audio): at most one pending due time.

    A sender is its own slot (no second object pointing back at it, so a finished call leaves
    no reference cycle through the pacer).

    Attributes:
        due_ms: When it is due, or ``None`` when not scheduled.
    """

    __slots__ = ("due_ms",)

    def __init__(self) -> None:
        self.due_ms: float | None = None

    def pace(self, now_ms: float, limit_ms: float) -> float | None:
        """Send every frame due by ``limit_ms`` (``now_ms`` is the tick's time).

        Returns:
            When the next frame is due (ms on the clock), or ``None`` when nothing is due
            until the sender schedules itself again.
        """
        raise NotImplementedError


class Pacer:
    """A heap of due senders and one task that serves them.

    Args:
        clock: The clock the due times are on.
        batch_ms: A tick also serves senders due within this many ms after it (0: exactly
            due ones only).
    """

    __slots__ = (
        "_batch_ms",
        "_clock",
        "_heap",
        "_interrupted",
        "_live",
        "_seq",
        "_sleep_until",
        "_task",
    )

    def __init__(self, clock: Clock, batch_ms: float = 2.0) -> None:
        if batch_ms < 0:
            raise ValueError(f"pacing batch must not be negative, got {batch_ms} ms")
        self._clock = clock
        self._batch_ms = batch_ms
        self._heap: list[tuple[float, int, PacerSlot]] = []
        self._seq = itertools.count()
        self._live = 0
        self._task: asyncio.Task[None] | None = None
        self._sleep_until = math.inf
        self._interrupted = False

    @property
    def scheduled(self) -> int:
        """Senders with a pending due time."""
        return self._live

    def schedule(self, slot: PacerSlot, due_ms: float) -> None:
        """Serve ``slot`` at ``due_ms`` (or earlier, if it is already due earlier)."""
        current = slot.due_ms
        if current is not None:
            if current <= due_ms:
                return
        else:
            self._live += 1
        slot.due_ms = due_ms
        heapq.heappush(self._heap, (due_ms, next(self._seq), slot))
        task = self._task
        if task is None or task.done():
            task = self._task = asyncio.get_running_loop().create_task(self._run(), name="pacer")
            task.add_done_callback(_release)
        elif (
            self._sleep_until < math.inf
            and due_ms < self._sleep_until - self._batch_ms
            and not self._interrupted
        ):
            # Sleeping towards a later due time: wake now (a rare event: a speech starts).
            self._interrupted = True
            task.cancel()

    def cancel(self, slot: PacerSlot) -> None:
        """Forget ``slot``'s due time (its heap entry is dropped when reached)."""
        if slot.due_ms is None:
            return
        slot.due_ms = None
        self._live -= 1
        if self._live == 0:
            self._heap.clear()
            task = self._task
            if task is not None and not task.done() and task is not asyncio.current_task():
                self._interrupted = False
                task.cancel()
            self._task = None

    async def _run(self) -> None:
        heap = self._heap
        clock = self._clock
        served = False
        try:
            while self._live:
                due, _, slot = heap[0]
                if slot.due_ms != due:
                    heapq.heappop(heap)  # rescheduled or cancelled since
                    continue
                now = clock.now_ms()
                if due > now:
                    await self._sleep(due)
                    served = False
                    continue
                if served:
                    served = False
                    await asyncio.sleep(0)  # still due right after a tick: let others run first
                    continue
                limit = now + self._batch_ms
                while heap and heap[0][0] <= limit:
                    due, _, slot = heapq.heappop(heap)
                    if slot.due_ms != due:
                        continue
                    slot.due_ms = None
                    self._live -= 1
                    try:
                        following = slot.pace(now, limit)
                    except Exception:
                        logger.exception("a paced sender failed; it is no longer paced")
                        continue
                    if following is not None:
                        self.schedule(slot, following)
                served = True
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    async def _sleep(self, until_ms: float) -> None:
        """Sleep until ``until_ms``; :meth:`schedule` may cut it short for an earlier due."""
        self._sleep_until = until_ms
        try:
            await self._clock.sleep_until(until_ms)
        except asyncio.CancelledError:
            if not self._interrupted or self._live == 0:
                raise
            self._interrupted = False
            if _uncancel() > 0:
                raise  # cancelled for real as well
        finally:
            self._sleep_until = math.inf


def _uncancel() -> int:
    """Withdraw one cancellation of the current task; the cancellations left."""
    # A helper, so no frame of the pacer's task holds the task (its stored CancelledError's
    # traceback would then make a cycle).
    task = asyncio.current_task()
    return task.uncancel() if task is not None else 0


def _release(task: asyncio.Task[None]) -> None:
    """Drop a finished pacer task's stored cancellation (its traceback holds its frames)."""
    if task.cancelled():
        with contextlib.suppress(asyncio.CancelledError):
            task.exception()
