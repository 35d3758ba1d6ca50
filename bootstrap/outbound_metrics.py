"""The outbound calls counter, one per metrics registry (a container ``Singleton``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


def outbound_calls_counter(registry: CollectorRegistry) -> Counter:
    """``parley_outbound_calls_total{outcome}``, registered on ``registry``."""
    return Counter(
        "parley_outbound_calls",
        "Outbound calls by final outcome (completed, voicemail, busy, no_answer, ...).",
        ["outcome"],
        registry=registry,
    )
