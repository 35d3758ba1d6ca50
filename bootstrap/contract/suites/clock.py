"""Contract of ports.Clock: monotonic ms, absolute deadlines, wake order, cancellation.

The suite is :class:`ClockContract`; subclass it in a test module and define the
``clock_case`` fixture returning a :class:`~bootstrap.contract.cases.ClockCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import ClockCase
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite


class ClockContract(ContractSuite):
    """The promises of :class:`ports.Clock`; needs a ``clock_case`` fixture."""

    port = "clock"
    protocol = "ports.Clock"
    case_fixture = "clock_case"

    async def test_now_is_monotonic_milliseconds(self, clock_case: ClockCase) -> None:
        clock = clock_case.clock
        first = clock.now_ms()
        await clock_case.advance(15)
        second = clock.now_ms()
        assert isinstance(first, float)
        # At least the 15 ms advanced, and (for real time) nowhere near 15 s: the unit is ms.
        assert 15 <= second - first < 15_000

    async def test_sleep_until_a_past_deadline_returns_at_once(self, clock_case: ClockCase) -> None:
        clock = clock_case.clock
        async with asyncio.timeout(1):
            await clock.sleep_until(clock.now_ms() - 10)
            await clock.sleep(0)
            await clock.sleep(-5)

    async def test_sleepers_wake_in_deadline_order_and_never_early(
        self, clock_case: ClockCase
    ) -> None:
        clock = clock_case.clock
        start = clock.now_ms()
        woken: list[tuple[int, float]] = []

        async def sleeper(offset: int) -> None:
            await clock.sleep_until(start + offset)
            woken.append((offset, clock.now_ms()))

        async with no_task_leak():
            tasks = [asyncio.create_task(sleeper(offset)) for offset in (30, 10, 20)]
            await clock_case.advance(45)
            async with asyncio.timeout(1):
                await asyncio.gather(*tasks)
        assert [offset for offset, _ in woken] == [10, 20, 30]
        assert all(now >= start + offset for offset, now in woken)

    async def test_sleep_waits_for_its_duration(self, clock_case: ClockCase) -> None:
        clock = clock_case.clock
        start = clock.now_ms()
        task = asyncio.create_task(clock.sleep(20))
        await clock_case.advance(5)
        assert not task.done()
        await clock_case.advance(25)
        async with asyncio.timeout(1):
            await task
        assert clock.now_ms() - start >= 20

    async def test_cancelling_a_sleeper_leaves_the_others_running(
        self, clock_case: ClockCase
    ) -> None:
        clock = clock_case.clock
        async with no_task_leak():
            doomed = asyncio.create_task(clock.sleep(10_000))
            survivor = asyncio.create_task(clock.sleep(10))
            await asyncio.sleep(0)
            doomed.cancel()
            with pytest.raises(asyncio.CancelledError):
                await doomed
            await clock_case.advance(20)
            async with asyncio.timeout(1):
                await survivor
