"""Outbound call requests, their outcomes, and how a provider's call events decide them.

A :class:`DialRequest` is one number to call (from ``POST /api/calls`` or ``parley dial``); its
:class:`DialResult` says how it went. :class:`OutboundTracker` follows the calls a gateway
placed: the provider's events (``CreateCallFailed`` on ACS, a ``busy``/``no-answer`` status
callback on Twilio, both as ``CallDisconnected``-style :class:`~ports.CallEvent` values with a
SIP-style ``result_code``) decide calls that never connected; the runtime's end reason decides
the others (``voicemail`` when a message was left on a machine).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from ports import CallEvent, CallEventKind


class Outcome(StrEnum):
    """How one outbound call ended.

    QUEUED and DIALLING are not final. COMPLETED: a person answered and the conversation ran
    (``end_reason`` says how it ended: hang-up, transfer...). VOICEMAIL: an answering machine;
    the agent's message was left (or the call was hung up when it has none). BUSY, NO_ANSWER,
    REJECTED, INVALID_NUMBER: the call never connected, as the provider said. FAILED: the
    provider refused the request or it errored. CANCELLED: the server stopped before dialling.
    """

    QUEUED = "queued"
    DIALLING = "dialling"
    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True once the call is over (or never happened)."""
        return self not in (Outcome.QUEUED, Outcome.DIALLING)


@dataclass(frozen=True, slots=True)
class DialRequest:
    """One number to call.

    Attributes:
        id: Unique id of the request (the results are kept under it).
        to: E.164 number to call.
        agent: Agent to start the call with ("" for the graph's start agent).
        variables: Values for the agent's prompt templates, as (name, value) pairs.
        caller_id: E.164 number to call from ("" for the provider's default).
        at: When to dial (UTC), None for as soon as a slot is free.
    """

    id: str
    to: str
    agent: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    caller_id: str = ""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DialResult:
    """Where one request stands.

    Attributes:
        request: The request.
        outcome: The outcome so far.
        call_id: The provider's call id, once dialled.
        end_reason: The runtime's end reason of a connected call (``hang_up``, ``voicemail``,
            ``transfer``, ``remote_closed``...), or the provider's message for one that failed.
        result_code: The provider's SIP-style code of a call that did not connect.
        dialled_at: Wall-clock time the call was placed (s since the epoch), 0 before.
        ended_at: Wall-clock time it was decided (s since the epoch), 0 before.
    """

    request: DialRequest
    outcome: Outcome = Outcome.QUEUED
    call_id: str = ""
    end_reason: str = ""
    result_code: int = 0
    dialled_at: float = 0.0
    ended_at: float = 0.0

    def to_json(self) -> dict[str, object]:
        """The result as ``GET /api/outbound-calls/{id}`` shows it."""
        request = self.request
        return {
            "id": request.id,
            "to": request.to,
            "agent": request.agent,
            "at": request.at.isoformat() if request.at is not None else None,
            "outcome": self.outcome.value,
            "final": self.outcome.final,
            "call_id": self.call_id,
            "end_reason": self.end_reason,
            "result_code": self.result_code,
            "dialled_at": self.dialled_at or None,
            "ended_at": self.ended_at or None,
        }


def outcome_of_code(code: int, message: str = "") -> Outcome:
    """The outcome of a call that did not connect, from its SIP-style result code.

    486/600 busy; 408/480/487 no answer; 403/603 rejected; 404/484/400 invalid number; the
    provider's message ("busy", "no-answer"...) when the code says nothing more.
    """
    if code in (486, 600) or message == "busy":
        return Outcome.BUSY
    if code in (408, 480, 487) or message in ("no-answer", "canceled"):
        return Outcome.NO_ANSWER
    if code in (403, 603):
        return Outcome.REJECTED
    if code in (400, 404, 484):
        return Outcome.INVALID_NUMBER
    return Outcome.FAILED


@dataclass(slots=True)
class _Tracked:
    request: DialRequest
    future: asyncio.Future[DialResult]
    dialled_at: float
    connected: bool = False
    events: list[str] = field(default_factory=list)


class OutboundTracker:
    """The outbound calls one gateway placed, until each is decided (no module state).

    Args:
        max_calls: Most calls followed at once (oldest forgotten first).
        wall_clock: Seconds since the epoch.
    """

    def __init__(
        self, *, max_calls: int = 10_000, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._calls: OrderedDict[str, _Tracked] = OrderedDict()
        self._max = max_calls
        self._clock = wall_clock

    def expect(self, call_id: str, request: DialRequest) -> asyncio.Future[DialResult]:
        """Follow ``call_id``, placed for ``request``; its result resolves the future."""
        future: asyncio.Future[DialResult] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = _Tracked(request, future, self._clock())
        while len(self._calls) > self._max:
            _, old = self._calls.popitem(last=False)
            if not old.future.done():
                old.future.cancel()
        return future

    def request_for(self, call_id: str) -> DialRequest | None:
        """The request ``call_id`` was placed for, if this gateway placed it."""
        tracked = self._calls.get(call_id)
        return tracked.request if tracked is not None else None

    def observe(self, event: CallEvent) -> None:
        """Take a provider event: a call that connected, or one that never will."""
        tracked = self._calls.get(event.call_connection_id)
        if tracked is None or tracked.future.done():
            return
        kind = event.kind
        if kind is CallEventKind.CALL_CONNECTED:
            tracked.connected = True
        elif kind is CallEventKind.CREATE_CALL_FAILED or (
            kind is CallEventKind.CALL_DISCONNECTED and not tracked.connected
        ):
            outcome = outcome_of_code(event.result_code, event.message)
            if kind is CallEventKind.CALL_DISCONNECTED and outcome is Outcome.FAILED:
                outcome = Outcome.NO_ANSWER  # disconnected before it ever connected
            self._decide(event.call_connection_id, outcome, event.message, event.result_code)

    def finished(self, call_id: str, end_reason: str) -> None:
        """The connected call's conversation ended with ``end_reason``."""
        outcome = Outcome.VOICEMAIL if end_reason == "voicemail" else Outcome.COMPLETED
        self._decide(call_id, outcome, end_reason, 0)

    def _decide(self, call_id: str, outcome: Outcome, reason: str, code: int) -> None:
        tracked = self._calls.pop(call_id, None)
        if tracked is None or tracked.future.done():
            return
        tracked.future.set_result(
            replace(
                DialResult(tracked.request),
                outcome=outcome,
                call_id=call_id,
                end_reason=reason,
                result_code=code,
                dialled_at=tracked.dialled_at,
                ended_at=self._clock(),
            )
        )
