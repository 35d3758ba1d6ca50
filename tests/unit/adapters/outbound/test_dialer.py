"""The outbound dialer: a bounded queue, a concurrency cap, a pace, a result per number."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.outbound import (
    Dialer,
    DialerLimits,
    DialRequest,
    DialResult,
    OutboundTracker,
    Outcome,
    QueueFullError,
    outcome_of_code,
)
from ports import CallEvent, CallEventKind, InvalidTargetError, ProviderUnavailableError


class FakeGateway:
    """Places calls that last ``call_s`` and end as ``outcome``; records concurrency."""

    def __init__(self, call_s: float = 0.05, outcome: Outcome = Outcome.COMPLETED) -> None:
        self.call_s = call_s
        self.outcome = outcome
        self.live = 0
        self.most_live = 0
        self.started: list[tuple[str, float]] = []
        self.refuse: dict[str, Exception] = {}

    async def place_call(self, request: DialRequest) -> asyncio.Future[DialResult]:
        if request.to in self.refuse:
            raise self.refuse[request.to]
        self.started.append((request.to, time.monotonic()))
        self.live += 1
        self.most_live = max(self.most_live, self.live)
        future: asyncio.Future[DialResult] = asyncio.get_running_loop().create_future()

        def done() -> None:
            self.live -= 1
            future.set_result(DialResult(request, self.outcome, call_id=f"c-{request.id}"))

        asyncio.get_running_loop().call_later(self.call_s, done)
        return future


def requests(n: int, **kwargs: object) -> list[DialRequest]:
    return [DialRequest(f"r{i}", f"+1425555{i:04d}", **kwargs) for i in range(n)]  # type: ignore[arg-type]


async def finished(dialer: Dialer, n: int, timeout: float = 10.0) -> list[DialResult]:
    async with asyncio.timeout(timeout):
        while True:
            results = dialer.results(1000)
            if len([r for r in results if r.outcome.final]) >= n:
                return results
            await asyncio.sleep(0.01)


async def test_every_number_gets_a_result_and_no_more_than_max_concurrent_run_at_once() -> None:
    gateway = FakeGateway(call_s=0.08)
    dialer = Dialer(gateway, DialerLimits(max_queue=50, max_concurrent=3, calls_per_second=200))
    dialer.start()
    try:
        dialer.submit(requests(12))
        results = await finished(dialer, 12)
    finally:
        await dialer.aclose()
    assert gateway.most_live == 3
    assert {r.request.id: r.outcome for r in results} == {
        f"r{i}": Outcome.COMPLETED for i in range(12)
    }
    assert dialer.counts["completed"] == 12


async def test_calls_start_at_the_configured_pace() -> None:
    gateway = FakeGateway(call_s=0.01)
    dialer = Dialer(gateway, DialerLimits(max_concurrent=10, calls_per_second=20))
    dialer.start()
    try:
        dialer.submit(requests(6))
        await finished(dialer, 6)
    finally:
        await dialer.aclose()
    starts = [t for _, t in gateway.started]
    # 20 per second: one start every 50 ms, never a burst (a bound, not a latency assertion).
    assert starts[-1] - starts[0] >= 5 * 0.05 * 0.9


async def test_a_submit_that_does_not_fit_the_queue_is_refused_whole() -> None:
    dialer = Dialer(FakeGateway(), DialerLimits(max_queue=5, max_concurrent=1))
    dialer.submit(requests(3))
    with pytest.raises(QueueFullError) as refused:
        dialer.submit(
            requests(3, agent="x")[:3] and [DialRequest(f"x{i}", "+14255550000") for i in range(3)]
        )
    assert refused.value.free == 2
    assert dialer.waiting == 3 and dialer.result("x0") is None
    await dialer.aclose()
    assert {r.outcome for r in dialer.results()} == {Outcome.CANCELLED}


async def test_a_scheduled_request_waits_for_its_time() -> None:
    gateway = FakeGateway(call_s=0.01)
    dialer = Dialer(gateway, DialerLimits(calls_per_second=100))
    dialer.start()
    try:
        later = datetime.now(UTC) + timedelta(milliseconds=400)
        dialer.submit([DialRequest("late", "+14255550001", at=later)])
        dialer.submit([DialRequest("now", "+14255550002")])
        await finished(dialer, 2)
    finally:
        await dialer.aclose()
    assert [to for to, _ in gateway.started] == ["+14255550002", "+14255550001"]


async def test_refused_calls_end_as_invalid_number_or_failed() -> None:
    gateway = FakeGateway()
    gateway.refuse["+14255550000"] = InvalidTargetError("no such number", port="call_control")
    gateway.refuse["+14255550001"] = ProviderUnavailableError("down", port="call_control")
    dialer = Dialer(gateway, DialerLimits(calls_per_second=100))
    dialer.start()
    try:
        dialer.submit(requests(2))
        results = {r.request.id: r for r in await finished(dialer, 2)}
    finally:
        await dialer.aclose()
    assert results["r0"].outcome is Outcome.INVALID_NUMBER
    assert results["r1"].outcome is Outcome.FAILED and results["r1"].end_reason == "unavailable"


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        (486, "", Outcome.BUSY),
        (0, "busy", Outcome.BUSY),
        (408, "", Outcome.NO_ANSWER),
        (480, "no-answer", Outcome.NO_ANSWER),
        (603, "", Outcome.REJECTED),
        (404, "", Outcome.INVALID_NUMBER),
        (500, "failed", Outcome.FAILED),
    ],
)
def test_result_codes_map_to_outcomes(code: int, message: str, outcome: Outcome) -> None:
    assert outcome_of_code(code, message) is outcome


async def test_the_tracker_decides_from_events_and_from_the_call_end() -> None:
    tracker = OutboundTracker()
    busy = tracker.expect("c1", DialRequest("r1", "+14255550001"))
    machine = tracker.expect("c2", DialRequest("r2", "+14255550002"))
    tracker.observe(CallEvent(CallEventKind.CREATE_CALL_FAILED, "c1", result_code=486))
    tracker.observe(CallEvent(CallEventKind.CALL_CONNECTED, "c2"))
    tracker.observe(CallEvent(CallEventKind.CALL_DISCONNECTED, "c2"))  # connected: not decided
    assert not machine.done()
    tracker.finished("c2", "voicemail")
    assert (await busy).outcome is Outcome.BUSY
    assert (await machine).outcome is Outcome.VOICEMAIL
