"""ManualClock: a :class:`ports.Clock` whose time moves only when a test says so."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ManualClock:
    """Deterministic clock for tests and simulations.

    Time starts at ``start_ms`` and moves only through :meth:`advance`, :meth:`advance_to`,
    :meth:`advance_to_next` or :meth:`set_time`. Sleepers are woken in deadline order (ties in
    the order they went to sleep), and each sees ``now_ms()`` equal to its own deadline.

    How tests drive it::

        clock = ManualClock()
        task = asyncio.create_task(worker(clock))   # worker awaits clock.sleep(...)
        await clock.advance(100)   # moves to each due deadline in turn, lets woken tasks run
        assert clock.now_ms() == 100

    ``advance`` first lets the loop settle (so tasks created just before reach their first
    sleep), then steps time to the earliest pending deadline, wakes the sleepers due then,
    lets the event loop run ``settle_rounds`` iterations (so woken tasks can react and go back
    to sleep, possibly with a deadline still inside the window), and repeats until the target
    is reached. Work that waits on threads or sockets is not covered by the settle rounds; such
    tests should await that work explicitly. :meth:`settle` runs the loop without moving time.

    Args:
        start_ms: Initial time in ms.
        settle_rounds: Event-loop iterations to run after each wake-up (and at the end of an
            advance). Raise it when woken tasks hop through long chains of tasks/futures.
    """

    def __init__(self, start_ms: float = 0.0, *, settle_rounds: int = 20) -> None:
        self._now = float(start_ms)
        self._settle_rounds = settle_rounds
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ms(self) -> float:
        """Current manual time in ms."""
        return self._now

    async def sleep(self, ms: float) -> None:
        """Suspend until the clock has been advanced by ``ms`` (negative counts as 0)."""
        await self.sleep_until(self._now + max(ms, 0.0))

    async def sleep_until(self, deadline_ms: float) -> None:
        """Suspend until ``now_ms() >= deadline_ms``; if already past, yield once and return."""
        if deadline_ms <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline_ms, next(self._seq), future))
        await future

    @property
    def pending(self) -> int:
        """Number of tasks currently sleeping on this clock."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    @property
    def next_deadline_ms(self) -> float | None:
        """Earliest deadline of a live sleeper, or ``None`` when nobody sleeps."""
        self._drop_dead()
        return self._sleepers[0][0] if self._sleepers else None

    def set_time(self, now_ms: float) -> None:
        """Jump to ``now_ms`` at once and wake every sleeper due by then (no settling).

        Sleepers are released in deadline order but all observe the new time; prefer
        :meth:`advance` when the order of reactions matters.

        Raises:
            ValueError: ``now_ms`` is earlier than the current time (the clock is monotonic).
        """
        if now_ms < self._now:
            raise ValueError(f"a monotonic clock cannot go back from {self._now} to {now_ms} ms")
        self._now = float(now_ms)
        self._wake_due()

    async def advance(self, ms: float) -> None:
        """Move time forward by ``ms``, waking sleepers one deadline at a time.

        Raises:
            ValueError: ``ms`` is negative.
        """
        if ms < 0:
            raise ValueError(f"cannot advance by a negative duration ({ms} ms)")
        await self.advance_to(self._now + ms)

    async def advance_to(self, target_ms: float) -> None:
        """Move time forward to ``target_ms``, waking sleepers one deadline at a time.

        Raises:
            ValueError: ``target_ms`` is earlier than the current time.
        """
        if target_ms < self._now:
            raise ValueError(f"a monotonic clock cannot go back from {self._now} to {target_ms}")
        # Let tasks created just before this call reach their first sleep.
        await self.settle()
        while True:
            deadline = self.next_deadline_ms
            if deadline is None or deadline > target_ms:
                break
            self._now = max(self._now, deadline)
            self._wake_due()
            await self.settle()
        self._now = float(target_ms)
        await self.settle()

    async def advance_to_next(self) -> bool:
        """Jump to the earliest pending deadline and wake its sleepers.

        Returns:
            False when nobody was sleeping (time did not move), True otherwise.
        """
        deadline = self.next_deadline_ms
        if deadline is None:
            return False
        await self.advance_to(deadline)
        return True

    async def settle(self) -> None:
        """Let the event loop run ``settle_rounds`` iterations without moving time."""
        for _ in range(self._settle_rounds):
            await asyncio.sleep(0)

    def _drop_dead(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
