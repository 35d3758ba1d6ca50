"""The outbound dialer: a bounded queue of numbers, paced and capped, with a result per number.

A campaign of 1,000 numbers must not hit the provider's rate limits or take every call slot of
the instance, so requests wait in one bounded queue (:class:`DialerLimits.max_queue`, scheduled
ones included: a submit that does not fit is refused whole with :class:`QueueFullError`), and
one dispatcher task dials them in order:

* at most ``max_concurrent`` outbound calls are in progress at once (dialling or connected);
* calls start at most ``calls_per_second`` per second (an absolute schedule: one start every
  ``1 / calls_per_second`` s, never a burst to catch up);
* a request with ``at`` waits until then (UTC).

Each call is placed through a :class:`Placer` (a telephony gateway) and followed until its
:class:`~adapters.outbound.calls.DialResult` is final or ``call_timeout_s`` passes. Results are
kept per request id (the most recent ``max_results``) for ``GET /api/outbound-calls``; final
outcomes are counted (``counts``, and ``on_outcome`` for a metrics counter).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from adapters.outbound.calls import DialRequest, DialResult, Outcome
from ports import InvalidTargetError, ProviderError

logger = logging.getLogger(__name__)


class Placer(Protocol):
    """Places one outbound call (``AcsGateway.place_call``, ``TwilioGateway.place_call``)."""

    async def place_call(self, request: DialRequest) -> asyncio.Future[DialResult]:
        """Dial ``request``; the future resolves with the call's final result.

        Raises:
            ProviderError: The provider refused the call at once.
        """
        ...


class QueueFullError(Exception):
    """A submit does not fit the queue; nothing of it was queued.

    Attributes:
        free: Requests the queue could still take.
    """

    def __init__(self, free: int) -> None:
        super().__init__(f"the dial queue has room for {free} more request(s)")
        self.free = free


@dataclass(frozen=True, slots=True)
class DialerLimits:
    """Campaign limits of one instance.

    Attributes:
        max_queue: Requests waiting (scheduled ones included) at most.
        max_concurrent: Outbound calls in progress at once at most.
        calls_per_second: Call starts per second at most.
        max_results: Results kept (oldest final ones forgotten first).
        call_timeout_s: Longest a call is followed before its result is ``failed``.
    """

    max_queue: int = 1000
    max_concurrent: int = 10
    calls_per_second: float = 1.0
    max_results: int = 10_000
    call_timeout_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_queue < 1 or self.max_concurrent < 1 or self.calls_per_second <= 0:
            raise ValueError("dialer limits must be positive")


class Dialer:
    """Dials queued requests within :class:`DialerLimits`; one per process, started and closed.

    Args:
        placer: Places each call.
        limits: The limits.
        clock: Monotonic seconds (pacing).
        wall_clock: Seconds since the epoch (scheduled requests).
        on_outcome: Called with each final outcome (a metrics counter).
    """

    def __init__(
        self,
        placer: Placer,
        limits: DialerLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self._placer = placer
        self.limits = limits or DialerLimits()
        self._clock = clock
        self._wall = wall_clock
        self._on_outcome = on_outcome
        self._ready: deque[DialRequest] = deque()
        self._scheduled: list[tuple[float, int, DialRequest]] = []
        self._seq = itertools.count()
        self._results: OrderedDict[str, DialResult] = OrderedDict()
        self._slots = asyncio.Semaphore(self.limits.max_concurrent)
        self._wake = asyncio.Event()
        self._next_start = 0.0
        self._dispatcher: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ the API side

    @property
    def waiting(self) -> int:
        """Requests queued or scheduled, not dialled yet."""
        return len(self._ready) + len(self._scheduled)

    @property
    def in_progress(self) -> int:
        """Calls dialling or connected."""
        return sum(1 for task in self._calls if not task.done())

    def submit(self, requests: Sequence[DialRequest]) -> list[DialResult]:
        """Queue ``requests`` (all or none), in order.

        Raises:
            QueueFullError: They do not all fit.
            ValueError: A request id is already known.
        """
        free = self.limits.max_queue - self.waiting
        if len(requests) > free:
            raise QueueFullError(max(free, 0))
        for request in requests:
            if request.id in self._results:
                raise ValueError(f"request id {request.id!r} is already known")
        queued = []
        for request in requests:
            result = DialResult(request)
            self._keep(result)
            queued.append(result)
            if request.at is not None and request.at.timestamp() > self._wall():
                heapq.heappush(self._scheduled, (request.at.timestamp(), next(self._seq), request))
            else:
                self._ready.append(request)
        self._wake.set()
        return queued

    def result(self, request_id: str) -> DialResult | None:
        """The result of ``request_id`` so far, or None."""
        return self._results.get(request_id)

    def results(self, limit: int = 100) -> list[DialResult]:
        """The most recent results, newest first."""
        return list(reversed(self._results.values()))[:limit]

    def _keep(self, result: DialResult) -> None:
        self._results[result.request.id] = result
        self._results.move_to_end(result.request.id)
        while len(self._results) > self.limits.max_results:
            oldest = next(iter(self._results))
            if not self._results[oldest].outcome.final:
                break  # never forget a request still in progress
            del self._results[oldest]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the dispatcher task (once)."""
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="outbound-dialer")

    async def aclose(self) -> None:
        """Stop dialling; calls in progress are left to their gateway, the queue cancelled."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        for task in list(self._calls):
            task.cancel()
        for task in list(self._calls):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for request in [*self._ready, *(r for _, _, r in self._scheduled)]:
            self._finish(DialResult(request, Outcome.CANCELLED, end_reason="server stopped"))
        self._ready.clear()
        self._scheduled.clear()

    # ------------------------------------------------------------------ dispatching

    async def _dispatch(self) -> None:
        while True:
            now_wall = self._wall()
            while self._scheduled and self._scheduled[0][0] <= now_wall:
                self._ready.append(heapq.heappop(self._scheduled)[2])
            if not self._ready:
                self._wake.clear()
                timeout = self._scheduled[0][0] - now_wall if self._scheduled else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                continue
            await self._slots.acquire()
            delay = self._next_start - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            interval = 1.0 / self.limits.calls_per_second
            self._next_start = max(self._clock(), self._next_start) + interval
            if not self._ready:  # cancelled while waiting
                self._slots.release()
                continue
            request = self._ready.popleft()
            task = asyncio.create_task(self._call(request), name=f"outbound-{request.id}")
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)

    async def _call(self, request: DialRequest) -> None:
        try:
            dialling = replace(
                DialResult(request), outcome=Outcome.DIALLING, dialled_at=self._wall()
            )
            self._keep(dialling)
            try:
                future = await self._placer.place_call(request)
            except InvalidTargetError as exc:
                self._finish(DialResult(request, Outcome.INVALID_NUMBER, end_reason=exc.code))
                return
            except ProviderError as exc:
                logger.warning("outbound call %s not placed: %s", request.id, exc.code)
                self._finish(DialResult(request, Outcome.FAILED, end_reason=exc.code))
                return
            try:
                async with asyncio.timeout(self.limits.call_timeout_s):
                    result = await asyncio.shield(future)
            except TimeoutError:
                result = DialResult(request, Outcome.FAILED, end_reason="no outcome in time")
            self._finish(result)
        finally:
            self._slots.release()

    def _finish(self, result: DialResult) -> None:
        if not result.ended_at:
            result = replace(result, ended_at=self._wall())
        self._keep(result)
        self.counts[result.outcome.value] += 1
        if self._on_outcome is not None:
            self._on_outcome(result.outcome)
        logger.info(
            "outbound call %s to %s: %s", result.request.id, result.request.to, result.outcome
        )
