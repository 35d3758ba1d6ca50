"""The emulator's outbound callees and call participants: create outcomes, add, hold, unhold.

Extends :class:`~adapters.acs_emulator.server.AcsEmulator` (it owns one :class:`Telephony`):

* Outbound ``create``: each dialled number answers or not (:attr:`Telephony.callees`). An
  answer connects the call as before (``CallConnected``, media); ``busy``, ``no_answer``,
  ``declined`` and ``invalid`` post ``CreateCallFailed`` with a SIP-style
  ``resultInformation.code`` (486, 408, 603, 404) and nothing more ("Troubleshoot Call
  Automation response codes", https://learn.microsoft.com/azure/communication-services/resources/troubleshooting/voice-video-calling/troubleshooting-codes).
* ``POST /calling/callConnections/{id}/participants:add`` (202, ``AddParticipantResult``):
  the invitee answers or not (:attr:`Telephony.invitees`) after ``ring_s``, posting
  ``AddParticipantSucceeded`` or ``AddParticipantFailed`` with the request's
  ``operationContext``; ``participants:remove`` (202).
* ``:hold`` / ``:unhold`` (200): the held participant is recorded (and the caller's line goes
  quiet while held: its media client stops sending speech).
* Every operation's custom calling context (``customCallingContext``) is kept per call.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from adapters.acs_emulator.server import AcsEmulator, EmulatedCall


class Callee(StrEnum):
    """How a dialled number responds."""

    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    INVALID = "invalid"


FAILURE_CODES: dict[Callee, tuple[int, int, str]] = {
    Callee.BUSY: (486, 10486, "Busy Here"),
    Callee.NO_ANSWER: (408, 10004, "Call timed out: no answer"),
    Callee.DECLINED: (603, 10603, "Declined"),
    Callee.INVALID: (404, 10404, "Not Found: the number does not exist"),
}
"""``resultInformation`` (code, subCode, message) of a ``CreateCallFailed`` per outcome."""


@dataclass(slots=True)
class CallRecord:
    """What happened to one call's participants.

    Attributes:
        operations: ``hold``, ``unhold``, ``add``, ``remove``, in order, with the raw id.
        held: Raw ids on hold now.
        added: Raw ids invited (answered or not).
        contexts: The ``customCallingContext`` of every add and transfer, in order.
    """

    operations: list[tuple[str, str]] = field(default_factory=list)
    held: set[str] = field(default_factory=set)
    added: list[str] = field(default_factory=list)
    contexts: list[dict[str, Any]] = field(default_factory=list)


class Telephony:
    """Outbound outcomes and participant operations of one emulator.

    Args:
        emulator: The emulator it extends.
        ring_s: Ring time before a dialled number or an invitee responds, seconds.

    Attributes:
        callees: Outcome per dialled E.164 number (default: answer).
        invitees: Whether each invited raw id answers (default: answers).
        records: Per call connection id, what happened to its participants.
    """

    def __init__(self, emulator: AcsEmulator, *, ring_s: float = 0.05) -> None:
        self._emulator = emulator
        self.ring_s = ring_s
        self.callees: dict[str, Callee] = {}
        self.invitees: dict[str, bool] = {}
        self.records: defaultdict[str, CallRecord] = defaultdict(CallRecord)

    # ------------------------------------------------------------------ outbound

    async def connect_outbound(self, call: EmulatedCall) -> None:
        """A created call rings its number: connect it, or post ``CreateCallFailed``."""
        emulator = self._emulator
        await asyncio.sleep(self.ring_s)
        number = call.caller_raw_id.removeprefix("4:")
        outcome = self.callees.get(number, Callee.ANSWER)
        if outcome is Callee.ANSWER:
            await emulator._connect(call)  # noqa: SLF001 (the emulator's own connect step)
            return
        code, sub_code, message = FAILURE_CODES[outcome]
        call.ended.set()
        call.media_ready.set()
        await emulator.post_callback(
            call, "CreateCallFailed", code=code, sub_code=sub_code, message=message
        )

    # ------------------------------------------------------------------ participants

    async def participants(self, request: Request) -> Response:
        """``POST /calling/callConnections/{call_id}/participants:{action}``."""
        emulator = self._emulator
        error, body = await emulator._check(request)  # noqa: SLF001 (its HMAC check)
        if error is not None:
            return error
        call = emulator.calls.get(request.path_params["call_id"])
        if call is None or call.ended.is_set():
            return _error(404, "call not found")
        action = request.path_params["action"]
        record = self.records[call.call_connection_id]
        if action == "add":
            target = body.get("participantToAdd") or {}
            raw_id = str(target.get("rawId", ""))
            record.operations.append(("add", raw_id))
            record.added.append(raw_id)
            record.contexts.append(dict(body.get("customCallingContext") or {}))
            context = str(body.get("operationContext") or "")
            emulator._spawn(  # noqa: SLF001 (tasks the emulator owns)
                self._answer_invitation(call, raw_id, context), "acs-emulator-invite"
            )
            return JSONResponse(
                {
                    "participant": {"identifier": target, "isMuted": False, "isOnHold": False},
                    "operationContext": context,
                    "invitationId": f"invite-{len(record.added)}",
                },
                status_code=202,
            )
        if action == "remove":
            target = body.get("participantToRemove") or {}
            record.operations.append(("remove", str(target.get("rawId", ""))))
            return JSONResponse(
                {"operationContext": str(body.get("operationContext") or "")}, status_code=202
            )
        return _error(400, f"unsupported participants operation {action!r}")

    async def _answer_invitation(self, call: EmulatedCall, raw_id: str, context: str) -> None:
        await asyncio.sleep(self.ring_s)
        answers = self.invitees.get(raw_id, True)
        participant = {"identifier": _identifier(raw_id), "isMuted": False, "isOnHold": False}
        if answers:
            await self._emulator.post_callback(
                call,
                "AddParticipantSucceeded",
                operation_context=context,
                extra={"participant": participant},
            )
        else:
            await self._emulator.post_callback(
                call,
                "AddParticipantFailed",
                operation_context=context,
                extra={"participant": participant},
                code=408,
                sub_code=10004,
                message="The invitee did not answer.",
            )

    def hold(self, call: EmulatedCall, action: str, body: dict[str, Any]) -> Response:
        """``:hold`` / ``:unhold``: record it (200)."""
        raw_id = str((body.get("targetParticipant") or {}).get("rawId", ""))
        record = self.records[call.call_connection_id]
        record.operations.append((action, raw_id))
        if action == "hold":
            record.held.add(raw_id)
        else:
            record.held.discard(raw_id)
        return Response(status_code=200)

    def on_transfer(self, call: EmulatedCall, body: dict[str, Any]) -> None:
        """Keep a transfer's custom calling context."""
        context = body.get("customCallingContext")
        if context:
            self.records[call.call_connection_id].contexts.append(dict(context))

    def is_held(self, call: EmulatedCall) -> bool:
        """True while the call's caller is on hold."""
        return call.caller_raw_id in self.records[call.call_connection_id].held


def _identifier(raw_id: str) -> dict[str, Any]:
    if raw_id.startswith("4:"):
        return {"kind": "phoneNumber", "rawId": raw_id, "phoneNumber": {"value": raw_id[2:]}}
    return {"kind": "communicationUser", "rawId": raw_id, "communicationUser": {"id": raw_id}}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "NotFound" if status == 404 else "BadRequest", "message": message}},
        status_code=status,
    )
