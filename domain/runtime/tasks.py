"""Task ownership for one call: every task is tracked, cancelled and awaited at call end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from ports import Clock

logger = logging.getLogger(__name__)

T = TypeVar("T")


class TaskOwner:
    """The set of live tasks of one call.

    A task body is expected to turn its own failures into conversation events; an exception
    that still escapes is a bug and is logged here, never re-raised into the loop.

    Args:
        name: Prefix for task names (the call id), for debugging.
    """

    __slots__ = ("_closed", "_name", "_tasks")

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start ``coro`` as an owned task.

        Raises:
            RuntimeError: The owner was shut down (the coroutine is closed, not run).
        """
        if self._closed:
            coro.close()
            raise RuntimeError(f"call {self._name} is shutting down; cannot start {name}")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            # Taking the stored CancelledError out of the task frees it: its traceback holds
            # the task's last frame, and through it the call's objects, in a reference cycle.
            with contextlib.suppress(asyncio.CancelledError):
                task.exception()
        elif (exc := task.exception()) is not None:
            logger.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def shutdown(self, timeout_s: float) -> int:
        """Refuse new tasks, cancel every live one and wait for all of them to finish.

        Args:
            timeout_s: Longest wait in seconds; tasks still running after it are logged.

        Returns:
            The number of tasks that did not finish within ``timeout_s`` (0 normally).
        """
        self._closed = True
        pending = {t for t in self._tasks if t is not asyncio.current_task()}
        for task in pending:
            task.cancel()
        if not pending:
            return 0
        _, still = await asyncio.wait(pending, timeout=timeout_s)
        for task in still:
            logger.error("task %s did not stop within %.1f s", task.get_name(), timeout_s)
        return len(still)


class Guard:
    """A deadline on the awaits of one task, checked by a :class:`Watchdog`.

    Hot paths (one send per outbound frame, one read per model token or synthesis chunk) arm
    the guard before the await and disarm it after: two attribute writes instead of a timer
    per await. When an armed await stalls past its limit the watchdog cancels the task; the
    task turns that cancellation back into a timeout with :meth:`expired`.

    Attributes:
        armed: True while the guarded await is in flight.
    """

    __slots__ = ("_limit_ms", "_seen", "_stalled_ms", "_task", "_tripped", "armed", "seq")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self._limit_ms = 0.0
        self._seen = -1
        self._stalled_ms = 0.0
        self._tripped = False
        self.armed = False
        self.seq = 0

    def arm(self, limit_ms: float) -> None:
        """Start guarding the next await with a limit of ``limit_ms``."""
        self.seq += 1
        self._limit_ms = limit_ms
        self.armed = True

    def expired(self) -> bool:
        """Call on ``CancelledError``: True when the watchdog caused it (and only it).

        The cancellation is then withdrawn (``Task.uncancel``) so the task carries on and
        treats the await as timed out; False means a real cancellation to re-raise.
        """
        if not self._tripped:
            return False
        self._tripped = False
        self.armed = False
        return self._task.uncancel() == 0

    def _check(self, tick_ms: float) -> None:
        if not self.armed or self._task.done():
            self._seen = -1
            return
        if self.seq != self._seen:
            self._seen = self.seq
            self._stalled_ms = 0.0
            return
        self._stalled_ms += tick_ms
        if self._stalled_ms >= self._limit_ms and not self._tripped:
            self._tripped = True
            self._task.cancel()


class Watchdog:
    """One checker per call for every :class:`Guard` of the call.

    A stalled await is cancelled once it has been in flight for its limit, to within one tick.

    Args:
        tick_ms: How often guards are checked; the precision of every guarded deadline.
    """

    __slots__ = ("_guards", "_tick_ms")

    def __init__(self, tick_ms: float) -> None:
        self._tick_ms = tick_ms
        self._guards: list[Guard] = []

    def guard(self) -> Guard:
        """A guard for the current task (kept until the task ends)."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a guard belongs to a task")
        guard = Guard(task)
        self._guards.append(guard)
        return guard

    async def run(self, clock: Clock) -> None:
        """Check every ``tick_ms`` on ``clock``, on an absolute schedule, until cancelled."""
        next_tick = clock.now_ms()
        while True:
            next_tick += self._tick_ms
            await clock.sleep_until(next_tick)
            self.check()

    def check(self) -> None:
        """Advance every guard by one tick; cancel the stalled ones; forget finished tasks."""
        tick = self._tick_ms
        alive = []
        for guard in self._guards:
            guard._check(tick)
            if not guard._task.done():
                alive.append(guard)
        self._guards = alive


async def close_quietly(closing: Awaitable[None], timeout_s: float, what: str) -> None:
    """Await ``closing`` for at most ``timeout_s`` seconds; a failure is logged, not raised.

    Closing a resource at call end must not fail the call or hold its teardown.

    Args:
        closing: The close to wait for (``media.close()``, ``events.aclose()``).
        timeout_s: Deadline, seconds.
        what: What is closed, for the debug log.
    """
    try:
        async with asyncio.timeout(timeout_s):
            await closing
    except Exception:  # noqa: BLE001 (closing must not fail the call)
        logger.debug("closing %s failed", what, exc_info=True)
