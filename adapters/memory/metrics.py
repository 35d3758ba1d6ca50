"""RecordingMetrics: a :class:`ports.CallMetrics` that keeps everything in dicts."""

from __future__ import annotations

from collections import Counter, defaultdict

from ports import LatencyStage


class RecordingMetrics:
    """Counts and latencies in plain containers, for assertions and local runs.

    Attributes:
        counts: Event counts by name: ``call_started``, ``call_ended``, ``frame_in``,
            ``frame_out``, ``barge_in``, ``false_interruption``.
        dropped: Dropped frames by reason.
        provider_errors: Provider failures by ``(port, code)``.
        latencies: Recorded latencies in ms, by stage, in order.
        active_calls: Calls started and not yet ended.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.provider_errors: Counter[tuple[str, str]] = Counter()
        self.latencies: defaultdict[LatencyStage, list[float]] = defaultdict(list)
        self.active_calls = 0

    def call_started(self) -> None:
        """A call began."""
        self.counts["call_started"] += 1
        self.active_calls += 1

    def call_ended(self) -> None:
        """A call ended."""
        self.counts["call_ended"] += 1
        self.active_calls -= 1

    def frame_in(self) -> None:
        """One inbound frame accepted."""
        self.counts["frame_in"] += 1

    def frame_out(self) -> None:
        """One outbound frame sent."""
        self.counts["frame_out"] += 1

    def frame_dropped(self, reason: str) -> None:
        """One frame or message dropped for ``reason``."""
        self.dropped[reason] += 1

    def barge_in(self) -> None:
        """The caller interrupted the agent."""
        self.counts["barge_in"] += 1

    def false_interruption(self) -> None:
        """A barge-in was not one; the agent resumed."""
        self.counts["false_interruption"] += 1

    def latency(self, stage: LatencyStage, ms: float) -> None:
        """Record ``ms`` for ``stage``."""
        self.latencies[stage].append(ms)

    def provider_error(self, port: str, code: str) -> None:
        """A port's adapter failed with ``code``."""
        self.provider_errors[(port, code)] += 1
