"""The call observer of a test conversation: conversation updates become recorded events."""

from __future__ import annotations

from dataclasses import replace

from bootstrap.testkit.events import (
    AgentSaid,
    CallEnded,
    CallerSaid,
    Event,
    HandedOff,
    Interrupted,
    ToolCalled,
    Transferred,
)
from domain.commands import BARGE_IN_REASONS
from ports import Clock, ConversationUpdate, UpdateKind


class Recorder:
    """Keeps every event of one conversation, stamped with its virtual clock.

    A :class:`~ports.CallObserver`: the runtime calls :meth:`on_update` synchronously on the
    loop. A tool's result fills in its :class:`ToolCalled` event in place (same position);
    the heard words of an interrupted message fill in the :class:`Interrupted` event.

    Args:
        clock: The conversation's clock.

    Attributes:
        events: Every event so far, in order.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.events: list[Event] = []

    def add(self, event: Event) -> None:
        """Record an event the harness itself knows of (typed words, pressed keys)."""
        self.events.append(event)

    def on_update(self, update: ConversationUpdate) -> None:
        """Turn one runtime update into an event (updates a test does not check are dropped)."""
        now = self._clock.now_ms()
        data, agent = update.data, update.agent
        match update.kind:
            case UpdateKind.AGENT_TEXT:
                self.events.append(AgentSaid(update.text, agent, now))
            case UpdateKind.TRANSCRIPT_FINAL if update.text.strip():
                self.events.append(CallerSaid(update.text.strip(), now))
            case UpdateKind.TOOL_CALL:
                arguments = data.get("arguments")
                self.events.append(
                    ToolCalled(
                        update.text,
                        dict(arguments) if isinstance(arguments, dict) else {},
                        agent=agent,
                        call_id=str(data.get("id", "")),
                        at_ms=now,
                    )
                )
            case UpdateKind.TOOL_RESULT:
                self._tool_result(str(data.get("id", "")), update.text, bool(data.get("is_error")))
            case UpdateKind.HANDOFF:
                self.events.append(
                    HandedOff(
                        str(data.get("from", "")),
                        str(data.get("to", "")),
                        str(data.get("reason", "") or ""),
                        now,
                    )
                )
            case UpdateKind.TRANSFER:
                self.events.append(
                    Transferred(str(data.get("target", "")), str(data.get("reason") or ""), now)
                )
            case UpdateKind.STOP_AUDIO if data.get("reason") in BARGE_IN_REASONS:
                self.events.append(Interrupted(str(data.get("reason")), at_ms=now))
            case UpdateKind.AGENT_MESSAGE if data.get("interrupted"):
                self._heard(update.text)
            case UpdateKind.CALL_ENDED:
                self.events.append(CallEnded(str(data.get("reason", "remote_closed")), now))

    def _tool_result(self, call_id: str, content: str, is_error: bool) -> None:
        for index in range(len(self.events) - 1, -1, -1):
            event = self.events[index]
            if isinstance(event, ToolCalled) and event.call_id == call_id and event.result is None:
                self.events[index] = replace(event, result=content, is_error=is_error)
                return

    def _heard(self, text: str) -> None:
        for index in range(len(self.events) - 1, -1, -1):
            event = self.events[index]
            if isinstance(event, Interrupted):
                if event.heard is None:
                    self.events[index] = replace(event, heard=text)
                return
