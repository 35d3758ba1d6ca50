"""One call's timers: ``StartTimer`` and ``CancelTimer``, fired on the call's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from domain import commands as cmds
from domain import events as ev
from domain.runtime.tasks import TaskOwner
from ports import Clock


class Timers:
    """Named timers; starting a name again replaces its timer.

    Args:
        tasks: The call's task owner (a timer is an owned task).
        clock: The call's clock; deadlines are absolute ms on it.
        fire: Gets the ``TimerFired`` event when a timer is due.
    """

    def __init__(self, tasks: TaskOwner, clock: Clock, fire: Callable[[ev.Event], None]) -> None:
        self._tasks = tasks
        self._clock = clock
        self._fire = fire
        self._running: dict[str, asyncio.Task[None]] = {}
        self._deadlines: dict[str, float] = {}

    def start(self, command: cmds.StartTimer, at_ms: float) -> None:
        """Arm ``command``'s timer, ``delay_ms`` after ``at_ms`` (its step's event time)."""
        self.cancel(command.name)
        deadline = at_ms + command.delay_ms
        self._running[command.name] = self._tasks.spawn(self._run(command, deadline), "timer")
        self._deadlines[command.name] = deadline

    def cancel(self, name: str) -> None:
        """Disarm timer ``name``, if armed."""
        timer = self._running.pop(name, None)
        self._deadlines.pop(name, None)
        if timer is not None:
            timer.cancel()

    def next_deadline_ms(self) -> float | None:
        """Deadline of the earliest armed timer, ms; ``None`` if none is armed."""
        return min(self._deadlines.values(), default=None)

    async def _run(self, command: cmds.StartTimer, deadline_ms: float) -> None:
        await self._clock.sleep_until(deadline_ms)
        if self._running.get(command.name) is asyncio.current_task():
            del self._running[command.name]
            del self._deadlines[command.name]
        self._fire(ev.TimerFired(self._clock.now_ms(), command.name, command.token))
