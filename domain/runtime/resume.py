"""Resuming a call whose media stream reconnected: the saved session, made live again.

A media WebSocket can drop and reconnect for the same call (a network blip, or the call
moving to another instance that shares the session store). The call runtime then reads the
session saved under the call id and continues from it: same agent, same history, no second
greeting (the conversation's start handler greets only a state without history), and the
transcript goes on from where it stopped. Only a call that stopped because its media went
away resumes; one that ended for good (hung up by the agent, transferred) starts fresh.
"""

from __future__ import annotations

from dataclasses import replace

from domain.conversation import Phase, SessionState, TurnState, UserState

MEDIA_LOSS_REASONS = frozenset(
    {"", "remote_closed", "error", "idle_timeout", "cancelled", "no_stream_start"}
)
"""End reasons of a run that lost its media stream; the call itself may still be up."""


def resumed_state(saved: SessionState) -> SessionState | None:
    """The state a reconnected media stream continues from, or ``None`` to start fresh.

    What was in flight when the stream dropped (a model response, a reply being spoken, an
    open caller turn, timers) is gone with the old stream; the previous run's ``CallEnded``
    already committed what the caller heard to the history. The conversation's counters and
    id sequence carry on, so ids never repeat.

    Args:
        saved: The state the previous run saved for this call.

    Returns:
        A listening state, not yet started (the new stream's ``CallStarted`` starts it), or
        ``None`` when the call had not started or ended for good.
    """
    status = saved.status
    if not status.started or status.end_reason not in MEDIA_LOSS_REASONS:
        return None
    return replace(
        saved,
        phase=Phase.LISTENING,
        response=None,
        reply=None,
        resume=None,
        user=UserState(),
        turn=TurnState(),
        timers=(),
        status=replace(status, started=False, transferring=False, end_reason=""),
    )


__all__ = ["MEDIA_LOSS_REASONS", "resumed_state"]
