"""The process pacer: one timer serves every call's due frames, on time, batched, and leaves."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.memory import ManualClock
from domain.runtime.pacer import Pacer, PacerSlot


class Periodic(PacerSlot):
    """A sender with one frame every ``period_ms`` from ``first_ms``; records when it sent."""

    def __init__(self, first_ms: float, period_ms: float = 20.0, frames: int = 10) -> None:
        super().__init__()
        self.next_ms = first_ms
        self.period_ms = period_ms
        self.left = frames
        self.sent: list[tuple[float, float]] = []  # (tick time, due time)

    def pace(self, now_ms: float, limit_ms: float) -> float | None:
        while self.left and self.next_ms <= limit_ms:
            self.sent.append((now_ms, self.next_ms))
            self.next_ms += self.period_ms
            self.left -= 1
        return self.next_ms if self.left else None


def pacer_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "pacer" and not t.done()]


async def test_each_sender_is_served_at_its_due_time_never_late() -> None:
    clock = ManualClock()
    pacer = Pacer(clock, batch_ms=0.0)
    senders = [Periodic(first_ms=float(k * 7)) for k in range(3)]
    for sender in senders:
        pacer.schedule(sender, sender.next_ms)
    await clock.advance(400)
    for sender in senders:
        assert len(sender.sent) == 10
        assert all(tick == due for tick, due in sender.sent)


async def test_senders_due_within_the_batch_share_one_tick_and_leave_at_most_that_early() -> None:
    clock = ManualClock()
    pacer = Pacer(clock, batch_ms=4.0)
    # 40 calls at scattered phases over one 20 ms period.
    senders = [Periodic(first_ms=k * 0.5, frames=5) for k in range(40)]
    for sender in senders:
        pacer.schedule(sender, sender.next_ms)
    ticks: set[float] = set()
    await clock.advance(200)
    for sender in senders:
        assert len(sender.sent) == 5
        for tick, due in sender.sent:
            assert 0.0 <= due - tick <= 4.0
            ticks.add(tick)
    # 200 frames over 100 ms of schedule, served in at most one tick per 4 ms (plus the edges).
    assert len(ticks) <= 100 / 4 + 2


async def test_an_earlier_frame_cuts_the_sleep_towards_a_later_one_short() -> None:
    clock = ManualClock()
    pacer = Pacer(clock, batch_ms=2.0)
    late = Periodic(first_ms=100.0, frames=1)
    pacer.schedule(late, 100.0)
    await clock.advance(10)
    early = Periodic(first_ms=30.0, frames=1)
    pacer.schedule(early, 30.0)
    await clock.advance(200)
    assert early.sent == [(30.0, 30.0)]
    assert late.sent == [(100.0, 100.0)]


async def test_no_task_is_left_once_nothing_is_scheduled() -> None:
    clock = ManualClock()
    pacer = Pacer(clock)
    done = Periodic(first_ms=0.0, frames=2)
    pacer.schedule(done, 0.0)
    await clock.advance(100)
    assert done.left == 0
    await clock.settle()
    assert pacer_tasks() == []
    waiting = Periodic(first_ms=500.0)
    pacer.schedule(waiting, 500.0)
    await clock.settle()
    assert len(pacer_tasks()) == 1
    pacer.cancel(waiting)
    await clock.settle()
    assert pacer_tasks() == [] and pacer.scheduled == 0


async def test_a_cancelled_slot_is_not_served() -> None:
    clock = ManualClock()
    pacer = Pacer(clock)
    kept, dropped = Periodic(first_ms=10.0, frames=1), Periodic(first_ms=10.0, frames=1)
    slot = dropped
    pacer.schedule(kept, 10.0)
    pacer.schedule(slot, 10.0)
    pacer.cancel(slot)
    await clock.advance(50)
    assert kept.sent and not dropped.sent


async def test_a_failing_sender_is_logged_and_dropped_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(PacerSlot):
        def pace(self, now_ms: float, limit_ms: float) -> float | None:
            raise RuntimeError("bug in a sender")

    clock = ManualClock()
    pacer = Pacer(clock)
    healthy = Periodic(first_ms=5.0, frames=3)
    pacer.schedule(Broken(), 5.0)
    pacer.schedule(healthy, 5.0)
    with caplog.at_level(logging.ERROR):
        await clock.advance(100)
    assert len(healthy.sent) == 3
    assert "paced sender failed" in caplog.text


def test_a_negative_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        Pacer(ManualClock(), batch_ms=-1.0)
