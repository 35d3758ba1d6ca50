"""Prometheus export of the call event router's figures, read at scrape time.

====================================== ======= ==========================================
name                                   type    meaning
====================================== ======= ==========================================
``parley_call_events_routed_total``    counter events by ``outcome`` (see ``OUTCOMES``)
``parley_call_router_lost_calls_total`` counter calls found without a live owner
``parley_call_router_attached_calls``  gauge   calls whose media stream is here
``parley_call_router_held_calls``      gauge   calls with events waiting for an owner
``parley_call_router_subscribed``      gauge   1 while listening on the bus channel
====================================== ======= ==========================================
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.routing.router import OUTCOMES, CallEventRouter


class CallRouterCollector(Collector):
    """Exports one :class:`CallEventRouter`'s counters.

    Args:
        router: The process's router.
    """

    def __init__(self, router: CallEventRouter) -> None:
        self._router = router

    def describe(self) -> Iterator[Metric]:
        """The metric families (without samples), so registration does not scrape."""
        yield CounterMetricFamily("parley_call_events_routed", "", labels=["outcome"])
        yield CounterMetricFamily("parley_call_router_lost_calls", "")
        yield GaugeMetricFamily("parley_call_router_attached_calls", "")
        yield GaugeMetricFamily("parley_call_router_held_calls", "")
        yield GaugeMetricFamily("parley_call_router_subscribed", "")

    def collect(self) -> Iterator[Metric]:
        """The router's figures now."""
        router = self._router
        routed = CounterMetricFamily(
            "parley_call_events_routed",
            "Call events (ACS callbacks) by routing outcome.",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            routed.add_metric([outcome], float(router.outcomes[outcome]))
        yield routed
        yield CounterMetricFamily(
            "parley_call_router_lost_calls",
            "Calls found without a live owner (hung up).",
            value=float(router.lost_calls),
        )
        yield GaugeMetricFamily(
            "parley_call_router_attached_calls",
            "Calls whose media stream is on this instance.",
            value=float(router.attached_calls),
        )
        yield GaugeMetricFamily(
            "parley_call_router_held_calls",
            "Calls with events waiting for an owner.",
            value=float(router.held_calls),
        )
        yield GaugeMetricFamily(
            "parley_call_router_subscribed",
            "1 while this instance listens on its event bus channel.",
            value=1.0 if router.subscribed else 0.0,
        )
