"""What a test conversation records: one frozen value per thing that happened, in order.

Every event carries ``at_ms``, the conversation's virtual clock when it happened (ms since the
call started), and a ``kind`` naming its type for ordered checks
(``turn.expect.next_event(kind="tool_call")``):

========== ==================== ================================================================
kind       class                what happened
========== ==================== ================================================================
caller     :class:`CallerSaid`  the caller's words (typed, or recognised in voice mode)
dtmf       :class:`CallerPressed` keys the caller pressed
speech     :class:`AgentSaid`   a clause the agent spoke (text mode: showed)
tool_call  :class:`ToolCalled`  a tool call, its arguments and its result
handoff    :class:`HandedOff`   the active agent changed
transfer   :class:`Transferred` the call was transferred
interrupted :class:`Interrupted` the caller cut the agent's speech (barge-in, or a key)
call_ended :class:`CallEnded`   the call is over (``reason`` ``hang_up`` when the agent hung up)
========== ==================== ================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AgentSaid",
    "CallEnded",
    "CallerPressed",
    "CallerSaid",
    "Event",
    "HandedOff",
    "Interrupted",
    "ToolCalled",
    "Transferred",
    "describe",
]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class CallerSaid:
    """The caller's words: typed (text mode) or the final transcript (voice mode).

    Attributes:
        text: The words.
        at_ms: Virtual time, ms.
    """

    kind: ClassVar[str] = "caller"
    text: str
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class CallerPressed:
    """DTMF keys the caller pressed (``0-9``, ``*``, ``#``, ``A-D``).

    Attributes:
        digits: The keys, in order.
        at_ms: Virtual time of the first key, ms.
    """

    kind: ClassVar[str] = "dtmf"
    digits: str
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentSaid:
    """One clause the agent spoke (in text mode: showed).

    Attributes:
        text: The clause.
        agent: The active agent when it was queued.
        at_ms: Virtual time it was queued, ms.
    """

    kind: ClassVar[str] = "speech"
    text: str
    agent: str | None = None
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ToolCalled:
    """A tool call, with its result once the tool answered.

    Attributes:
        name: Tool name.
        arguments: Arguments the model gave (decoded JSON object).
        result: The result content the model saw, or ``None`` if the tool had not answered
            when the turn ended.
        is_error: The result is an error (unknown tool, bad arguments, exception, timeout).
        agent: The agent that called it.
        call_id: The model's id for the call.
        at_ms: Virtual time of the call, ms.
    """

    kind: ClassVar[str] = "tool_call"
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    result: str | None = None
    is_error: bool = False
    agent: str | None = None
    call_id: str = ""
    at_ms: float = 0.0

    @property
    def result_json(self) -> Any:
        """The result decoded as JSON, or the raw text when it is not JSON (None: no result)."""
        if self.result is None:
            return None
        try:
            return json.loads(self.result)
        except ValueError:
            return self.result


@dataclass(frozen=True, slots=True)
class HandedOff:
    """The active agent changed.

    Attributes:
        from_agent: The agent that handed off.
        to_agent: The agent now active.
        reason: Why, as the model or intent gave it.
        at_ms: Virtual time, ms.
    """

    kind: ClassVar[str] = "handoff"
    from_agent: str
    to_agent: str
    reason: str = ""
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Transferred:
    """The call was transferred.

    Attributes:
        target: Where to (a phone number or identifier).
        reason: Why.
        at_ms: Virtual time, ms.
    """

    kind: ClassVar[str] = "transfer"
    target: str
    reason: str = ""
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The caller cut the agent's speech.

    Attributes:
        reason: ``barge_in`` (the caller spoke) or ``dtmf`` (a key).
        heard: The words of the cut message the caller heard, once known.
        at_ms: Virtual time, ms.
    """

    kind: ClassVar[str] = "interrupted"
    reason: str
    heard: str | None = None
    at_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over.

    Attributes:
        reason: ``hang_up`` (the agent hung up), ``transfer``, ``remote_closed`` (the caller
            or the test closed it), ``error``...
        at_ms: Virtual time, ms.
    """

    kind: ClassVar[str] = "call_ended"
    reason: str
    at_ms: float = 0.0


Event = (
    CallerSaid
    | CallerPressed
    | AgentSaid
    | ToolCalled
    | HandedOff
    | Transferred
    | Interrupted
    | CallEnded
)
"""Any recorded event."""

KINDS: dict[str, type] = {
    cls.kind: cls
    for cls in (
        CallerSaid,
        CallerPressed,
        AgentSaid,
        ToolCalled,
        HandedOff,
        Transferred,
        Interrupted,
        CallEnded,
    )
}
"""Event class by kind."""


def describe(event: Event) -> str:
    """One readable line for ``event`` (used in failure messages and transcripts)."""
    match event:
        case CallerSaid():
            return f'caller: "{event.text}"'
        case CallerPressed():
            return f"caller pressed {event.digits}"
        case AgentSaid():
            return f'{event.agent or "agent"}: "{event.text}"'
        case ToolCalled():
            shown = "(no result)" if event.result is None else event.result
            if len(shown) > 160:
                shown = shown[:157] + "..."
            flag = "error " if event.is_error else ""
            return f"tool {event.name} {_json(dict(event.arguments))} -> {flag}{shown}"
        case HandedOff():
            why = f" ({event.reason})" if event.reason else ""
            return f"handoff {event.from_agent} -> {event.to_agent}{why}"
        case Transferred():
            return f"transfer to {event.target}" + (f" ({event.reason})" if event.reason else "")
        case Interrupted():
            heard = f', heard "{event.heard}"' if event.heard is not None else ""
            return f"interrupted by {event.reason.replace('_', '-')}{heard}"
        case CallEnded():
            return f"call ended: {event.reason}"
    return repr(event)  # pragma: no cover - the match is exhaustive
