"""Prometheus export of the write-behind queues: depth (read on scrape) and overflow.

Names (registered in the app's own registry, never the global one):

====================================== ======= ==========================================
name                                   type    meaning
====================================== ======= ==========================================
``parley_write_behind_depth``          gauge   items waiting for the store, by ``queue``
``parley_write_behind_overflow_total`` counter transcript entries refused (lost) when full
====================================== ======= ==========================================

``queue`` is ``sessions`` (calls whose latest state is unwritten) or ``transcripts``
(entries waiting).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class QueueStats(Protocol):
    """What a write-behind wrapper exposes (``depth``; ``overflowed`` where it can lose)."""

    @property
    def depth(self) -> int:
        """Items waiting to be written."""
        ...


class WriteBehindCollector(Collector):
    """Reads the queues' figures at scrape time (no background task, no copies).

    Args:
        queues: Queue name (``sessions``, ``transcripts``) -> the wrapper.
    """

    def __init__(self, queues: Mapping[str, QueueStats]) -> None:
        self._queues = dict(queues)

    def describe(self) -> Iterator[Metric]:
        """The metric families (without samples), so registration does not scrape."""
        yield GaugeMetricFamily("parley_write_behind_depth", "", labels=["queue"])
        yield CounterMetricFamily("parley_write_behind_overflow", "", labels=["queue"])

    def collect(self) -> Iterator[Metric]:
        """Current depth of every queue and overflow count of those that can overflow."""
        depth = GaugeMetricFamily(
            "parley_write_behind_depth",
            "Writes waiting for the store (sessions: calls; transcripts: entries).",
            labels=["queue"],
        )
        overflow = CounterMetricFamily(
            "parley_write_behind_overflow",
            "Transcript entries refused because the write-behind queue was full (lost).",
            labels=["queue"],
        )
        for name, queue in self._queues.items():
            depth.add_metric([name], float(queue.depth))
            overflowed = getattr(queue, "overflowed", None)
            if isinstance(overflowed, int):
                overflow.add_metric([name], float(overflowed))
        yield depth
        yield overflow
