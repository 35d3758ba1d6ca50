"""Starting a call's trace: tracing is an observer and must never stop a call."""

from __future__ import annotations

import logging

from ports import CallInfo
from ports.tracing import NO_CALL_TRACE, CallTrace, Tracing

logger = logging.getLogger(__name__)


def start_call_trace(tracing: Tracing, info: CallInfo, now_ms: float) -> CallTrace:
    """The call's trace from ``tracing``; the no-op trace if starting it failed (logged)."""
    try:
        return tracing.start_call(
            info.call_id, now_ms, channel=info.channel, traceparent=info.traceparent or None
        )
    except Exception:  # noqa: BLE001 (tracing must never stop a call)
        logger.warning("call %s: tracing did not start", info.call_id, exc_info=True)
        return NO_CALL_TRACE
