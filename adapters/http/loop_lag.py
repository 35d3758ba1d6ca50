"""The server's event-loop lag, exported as ``parley_event_loop_lag_seconds``.

Every call of a process shares one event loop: when a callback or a task step runs long (a
burst of frames, a garbage collection, a blocking call by mistake), every call's frames wait.
:class:`LoopLagMonitor` measures that wait where it shows: a task that sleeps ``interval_s``
and records how much later than asked it woke up (the loop's timer granularity is about 1 ms
on uvloop), into a histogram a dashboard or ``benchmarks/bench_acs_calls.py`` turns into
percentiles. It costs one wake-up every ``interval_s``.

The histogram is registered while the monitor runs (two apps of one process sharing a
registry in turn each get it; while one runs, a second monitor of the same registry does not
sample: the loop is already measured).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from prometheus_client import CollectorRegistry, Histogram

__all__ = ["LAG_BUCKETS_S", "LoopLagMonitor"]

LAG_BUCKETS_S: Final = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.2,
    0.5,
    1.0,
)
"""Histogram buckets, seconds: fine below 20 ms (one media frame), coarse above."""


class LoopLagMonitor:
    """Samples the running loop's lag into a histogram of ``registry``.

    Args:
        registry: Where ``parley_event_loop_lag_seconds`` is registered.
        interval_s: Sleep between two samples, seconds.
    """

    def __init__(self, registry: CollectorRegistry, interval_s: float = 0.01) -> None:
        if interval_s <= 0:
            raise ValueError(f"lag sampling interval must be positive, got {interval_s}")
        self._interval_s = interval_s
        self._registry = registry
        self._histogram = Histogram(
            "parley_event_loop_lag_seconds",
            "How late the event loop ran a timer that was due (sampled every interval).",
            buckets=LAG_BUCKETS_S,
            registry=None,
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Register the histogram and start sampling on the running loop (once)."""
        if self._task is not None:
            return
        try:
            self._registry.register(self._histogram)
        except ValueError:
            return  # another monitor of this registry is running: the loop is measured
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        """Stop sampling and unregister the histogram; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._registry.unregister(self._histogram)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._interval_s
        observe = self._histogram.observe
        while True:
            due = loop.time() + interval
            await asyncio.sleep(interval)
            observe(max(0.0, loop.time() - due))
