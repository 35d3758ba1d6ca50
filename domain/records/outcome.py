"""A call's outcome (resolved, transferred, abandoned, failed) from how it ended."""

from __future__ import annotations

from typing import Final

from ports import CallSummary
from ports.call_history import CallOutcome

FAILED_REASONS: Final = frozenset(
    {"error", "cancelled", "CallLost", "idle_timeout", "stream_start_timeout", "server_draining"}
)
"""End reasons that mean the call was cut by a fault, not by a person."""


def classify(summary: CallSummary, *, transfer_accepted: bool = False) -> CallOutcome:
    """The outcome of a finished call.

    ``transfer_accepted``: the provider accepted a transfer of the call (ACS
    ``CallTransferAccepted``): the caller's leg may then close before the disconnect event
    names the transfer, so the end reason alone would say ``remote_closed``.

    * ``transfer``, or an accepted transfer -> transferred;
    * a fault (:data:`FAILED_REASONS`) -> failed;
    * the agent hung up (``hang_up``) -> resolved;
    * the caller left (disconnect, media closed) without a finished turn -> abandoned, after
      at least one -> resolved (the post-call summary's disposition and fields say more).
    """
    reason = summary.end_reason
    if reason == "transfer" or transfer_accepted:
        return CallOutcome.TRANSFERRED
    if reason in FAILED_REASONS:
        return CallOutcome.FAILED
    if reason == "hang_up":
        return CallOutcome.RESOLVED
    return CallOutcome.RESOLVED if summary.user_turns > 0 else CallOutcome.ABANDONED
