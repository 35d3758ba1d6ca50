"""Outbound calls: requests and outcomes, the per-gateway tracker, the paced dialer."""

from adapters.outbound.calls import (
    DialRequest,
    DialResult,
    OutboundTracker,
    Outcome,
    outcome_of_code,
)
from adapters.outbound.dialer import Dialer, DialerLimits, Placer, QueueFullError

__all__ = [
    "DialRequest",
    "DialResult",
    "Dialer",
    "DialerLimits",
    "Outcome",
    "OutboundTracker",
    "Placer",
    "QueueFullError",
    "outcome_of_code",
]
