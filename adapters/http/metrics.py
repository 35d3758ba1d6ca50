"""PrometheusCallMetrics: the ``CallMetrics`` port exported with prometheus-client.

Every instance registers its collectors in its own :class:`prometheus_client.CollectorRegistry`
(never the global default registry), so two apps or two tests in one process do not collide.
``GET /metrics`` renders that registry.

Metric names (all prefixed ``parley_``):

=========================================== ========= =====================================
name                                        type      labels
=========================================== ========= =====================================
``parley_active_calls``                     gauge
``parley_calls_total``                      counter
``parley_calls_refused_total``              counter   ``reason`` (busy, draining)
``parley_frames_in_total``                  counter
``parley_frames_out_total``                 counter
``parley_frames_dropped_total``             counter   ``reason``
``parley_barge_ins_total``                  counter
``parley_false_interruptions_total``        counter
``parley_latency_seconds``                  histogram ``stage`` (:class:`ports.LatencyStage`)
``parley_provider_errors_total``            counter   ``port``, ``code``
=========================================== ========= =====================================

Latencies arrive in ms and are exported in seconds, as Prometheus base units require.

The two per-frame counters (``frames_in``, ``frames_out``: 50 per second per call each way)
are plain integers incremented in place and read by a collector at scrape time, not
prometheus-client ``Counter`` objects (whose ``inc`` takes a lock and a method chain per
call).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ports import LatencyStage

__all__ = ["LATENCY_BUCKETS_S", "PrometheusCallMetrics"]

logger = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
)
"""Histogram buckets, seconds: dense where voice-to-voice latency matters (0.1-2 s)."""


class _FrameCounters(Collector):
    """The per-frame counters: integers bumped on the hot path, exported when scraped."""

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "parley_frames_in", "Inbound media frames accepted.", value=self.frames_in
        )
        yield CounterMetricFamily(
            "parley_frames_out", "Outbound media frames sent.", value=self.frames_out
        )


class PrometheusCallMetrics:
    """``ports.CallMetrics`` over prometheus-client collectors in a private registry.

    Args:
        registry: Where to register; a new one when omitted (see :attr:`registry`).

    Attributes:
        registry: The registry ``GET /metrics`` renders.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._active = Gauge("parley_active_calls", "Calls in progress.", registry=r)
        self._calls = Counter("parley_calls", "Calls started.", registry=r)
        self._refused = Counter(
            "parley_calls_refused", "Calls refused at admission.", ["reason"], registry=r
        )
        self._frames = _FrameCounters()
        r.register(self._frames)
        self._dropped = Counter(
            "parley_frames_dropped", "Media frames or messages dropped.", ["reason"], registry=r
        )
        self._barge_ins = Counter(
            "parley_barge_ins", "Caller interruptions that stopped playback.", registry=r
        )
        self._false = Counter(
            "parley_false_interruptions",
            "Barge-ins followed by no words; the agent resumed.",
            registry=r,
        )
        self._latency = Histogram(
            "parley_latency_seconds",
            "Per-turn latency by stage, as the server sees it.",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self._provider_errors = Counter(
            "parley_provider_errors",
            "Adapter failures by port and code.",
            ["port", "code"],
            registry=r,
        )
        for stage in LatencyStage:
            # Pre-create every stage so dashboards see zero-count series from the start.
            self._latency.labels(stage=stage.value)

    def call_started(self) -> None:
        """A call began (active calls +1)."""
        self._active.inc()
        self._calls.inc()

    def call_ended(self) -> None:
        """A call ended (active calls -1)."""
        self._active.dec()

    def call_refused(self, reason: str) -> None:
        """A call was refused at admission (not a port method; used by the HTTP adapter)."""
        self._refused.labels(reason=reason).inc()

    def frame_in(self) -> None:
        """One inbound media frame was accepted."""
        self._frames.frames_in += 1

    def frame_out(self) -> None:
        """One outbound media frame was sent."""
        self._frames.frames_out += 1

    def frame_dropped(self, reason: str) -> None:
        """One media frame or message was dropped."""
        self._dropped.labels(reason=reason).inc()

    def barge_in(self) -> None:
        """The caller interrupted the agent."""
        self._barge_ins.inc()

    def false_interruption(self) -> None:
        """A barge-in turned out not to be one."""
        self._false.inc()

    def latency(self, stage: LatencyStage, ms: float) -> None:
        """Record a per-turn latency given in ms (exported in seconds)."""
        if ms < 0:
            logger.debug("negative latency %.1f ms for %s ignored", ms, stage)
            return
        self._latency.labels(stage=str(stage)).observe(ms / 1000.0)

    def provider_error(self, port: str, code: str) -> None:
        """A port's adapter failed with error ``code``."""
        self._provider_errors.labels(port=port, code=code).inc()
