"""Resuming a call whose media stream reconnected: the saved session, made live again.

A media WebSocket can drop and reconnect for the same call (a network blip, or the call
moving to another instance that shares the session store). The call runtime then reads the
session saved under the call id and continues from it: same agent, same history, no second
greeting (the conversation's start handler greets only a state without history), and the
transcript goes on from where it stopped. Only a call that stopped because its media went
away resumes; one that ended for good (hung up by the agent, transferred) starts fresh.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from domain.conversation import Phase, SessionState, TurnState, UserState
from domain.runtime.errors import error_code
from ports import CallMetrics, SessionStore

logger = logging.getLogger(__name__)

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


async def load_resumed_state(
    sessions: SessionStore, call_id: str, timeout_ms: float, metrics: CallMetrics
) -> SessionState | None:
    """Read the session saved under ``call_id`` and make it live again, if it should resume.

    Args:
        sessions: The session store.
        call_id: The call connection id the new media stream belongs to.
        timeout_ms: Deadline on the store read, ms.
        metrics: Counts a store failure (``provider_error("session_store", code)``).

    Returns:
        The state to continue from (see :func:`resumed_state`), or ``None`` to start fresh:
        nothing saved, the call ended for good, the saved state unreadable, or the store
        failing or slower than ``timeout_ms`` (a store outage must not stop a call).
    """
    try:
        async with asyncio.timeout(timeout_ms / 1000.0):
            stored = await sessions.get(call_id)
    except Exception as exc:  # noqa: BLE001 (a store outage starts the call fresh)
        logger.warning("call %s: saved session not read: %r", call_id, exc)
        metrics.provider_error("session_store", error_code(exc))
        return None
    if stored is None:
        return None
    try:
        resumed = resumed_state(SessionState.from_dict(stored.state))
    except ValueError as exc:
        logger.warning("call %s: saved session unreadable, starting fresh: %s", call_id, exc)
        return None
    if resumed is not None:
        logger.info(
            "call %s resumed: agent %s, %d messages", call_id, resumed.agent, len(resumed.history)
        )
    return resumed


__all__ = ["MEDIA_LOSS_REASONS", "load_resumed_state", "resumed_state"]
