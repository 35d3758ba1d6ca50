"""The driving port: how a driving adapter hands the core a new call.

Driving adapters (the HTTP/WebSocket server, the ACS media endpoint, the local ACS emulator
path, tests) never import ``domain``; they receive a :class:`CallHandler` from bootstrap and
call :meth:`CallHandler.handle_call` with the call's media stream, information and events.

Promise:
    * ``handle_call`` owns the call from the media stream's start to its close and returns a
      :class:`CallSummary` when the call has ended and every task it started has finished.
    * It never raises for provider failures; cancelling it ends the call cleanly (the media
      stream is closed and tasks are cancelled and awaited).
    * ``call.call_events`` (optional) yields the call's telephony events as they arrive; the
      adapter ends it when the call is over.
    * ``call.observer`` (optional) receives :class:`ConversationUpdate` values synchronously
      on the event loop; it must not block (queue and return).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ports.call_control import CallEvent
from ports.chat import JsonObject
from ports.media_stream import MediaStream


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What is known about a call when it arrives.

    Attributes:
        call_id: Unique id; for ACS the call connection id.
        channel: Where it came from: ``"acs"``, ``"browser"``, ``"test"``.
        caller: Caller raw id or phone number, when known.
        callee: Called raw id or phone number, when known.
        correlation_id: Provider correlation id for logs.
        telephony: True when ``call_id`` names a call that ``CallControl`` can act on
            (transfer, hang up); False for browser and test calls.
        traceparent: W3C ``traceparent`` the call arrived with ("" when none).
        start_agent: Agent the caller asked to be answered by (the browser page's choice,
            or the agent an outbound call was placed for); empty means the graph's start agent.
        direction: ``"inbound"`` or ``"outbound"`` (we placed the call: the callee is screened
            for a voicemail greeting first).
        variables: Values for the agent's prompt templates given when an outbound call was
            placed (``POST /api/calls``), as (name, value) pairs.
    """

    call_id: str
    channel: str = "test"
    caller: str = ""
    callee: str = ""
    correlation_id: str = ""
    telephony: bool = False
    traceparent: str = ""
    start_agent: str = ""
    direction: str = "inbound"
    variables: tuple[tuple[str, str], ...] = ()


class UpdateKind(StrEnum):
    """Kinds of conversation update a driving adapter may show its client."""

    TRANSCRIPT_PARTIAL = "transcript_partial"
    TRANSCRIPT_FINAL = "transcript_final"
    AGENT_TEXT = "agent_text"
    """A clause the agent is about to speak."""
    AGENT_MESSAGE = "agent_message"
    """A finished assistant message (truncated when interrupted)."""
    STOP_AUDIO = "stop_audio"
    HANDOFF = "handoff"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    """A tool finished: ``text`` is its result, ``data`` its name, id and ``is_error``."""
    TRANSFER = "transfer"
    CALL_ENDED = "call_ended"


@dataclass(frozen=True, slots=True)
class ConversationUpdate:
    """Something a client may want to show as it happens.

    Attributes:
        kind: What happened.
        text: Words involved (transcript, agent text), when any.
        agent: Active agent name.
        data: Extra JSON fields (tool name and arguments, handoff source and target, reason).
    """

    kind: UpdateKind
    text: str = ""
    agent: str | None = None
    data: JsonObject = field(default_factory=dict)


class CallObserver(Protocol):
    """Receives conversation updates of one call."""

    def on_update(self, update: ConversationUpdate) -> None:
        """Take an update; must not block or raise."""
        ...


@dataclass(frozen=True, slots=True)
class InboundCall:
    """Everything the core needs to run a call.

    Attributes:
        info: Call information.
        media: The call's media stream; the core reads it until :class:`StreamClosed`.
        call_events: Telephony events for this call, if any.
        observer: Receives conversation updates, if any.
    """

    info: CallInfo
    media: MediaStream
    call_events: AsyncIterator[CallEvent] | None = None
    observer: CallObserver | None = None


@dataclass(frozen=True, slots=True)
class CallSummary:
    """How a call ended.

    Attributes:
        call_id: The call.
        end_reason: ``"hang_up"``, ``"transfer"``, ``"remote_closed"``, ``"error"``...
        user_turns: Finished user turns.
        agent_turns: Finished assistant messages.
        barge_ins: Barge-ins that stopped playback.
        duration_ms: From stream start to end, ms.
    """

    call_id: str
    end_reason: str
    user_turns: int = 0
    agent_turns: int = 0
    barge_ins: int = 0
    duration_ms: float = 0.0


class CallHandler(Protocol):
    """The core's entry point for driving adapters."""

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Run ``call`` to its end and summarise it; never raises for provider failures."""
        ...
