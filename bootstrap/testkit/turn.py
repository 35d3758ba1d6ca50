"""One step of a test conversation and everything that followed it.

A :class:`Turn` is what :meth:`TestConversation.user_says` (and the other caller actions)
return: the events from the caller's action until the conversation waited for the caller
again, in order, with the turn's latency. ``turn.expect`` checks them
(:class:`~bootstrap.testkit.expect.TurnExpect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from bootstrap.testkit.events import (
    AgentSaid,
    CallEnded,
    Event,
    HandedOff,
    ToolCalled,
    Transferred,
    describe,
)

if TYPE_CHECKING:
    from bootstrap.testkit.expect import TurnExpect

__all__ = ["Turn"]


class Turn:
    """What happened after one caller action.

    Args:
        index: 0 for the greeting, then 1, 2... per caller action.
        action: The caller's action, as shown (``caller: "lock my card"``, ``silence 9000
            ms``, ``caller pressed 4242#``, ``greeting``).
        events: The events, in order (the caller's own words and keys included).
        latency_ms: From the end of the caller's input to the agent's first words (text
            mode: first shown clause; voice mode: first audio frame sent), virtual ms; None
            when the agent did not speak or the action had no input (greeting, silence).
        agent: The active agent when the turn ended.
        started_ms: Virtual time the action began, ms.
        ended_ms: Virtual time the turn ended, ms.
        mode: ``text`` or ``voice``.
    """

    def __init__(
        self,
        index: int,
        action: str,
        events: Sequence[Event],
        *,
        latency_ms: float | None = None,
        agent: str = "",
        started_ms: float = 0.0,
        ended_ms: float = 0.0,
        mode: str = "text",
    ) -> None:
        self.index = index
        self.action = action
        self.events: tuple[Event, ...] = tuple(events)
        self.latency_ms = latency_ms
        self.agent = agent
        self.started_ms = started_ms
        self.ended_ms = ended_ms
        self.mode = mode

    @cached_property
    def expect(self) -> TurnExpect:
        """Expectations on this turn (one cursor for ``next_event`` per turn)."""
        from bootstrap.testkit.expect import TurnExpect

        return TurnExpect(self)

    @property
    def said(self) -> list[str]:
        """The agent's clauses, in order."""
        return [e.text for e in self.events if isinstance(e, AgentSaid)]

    @property
    def text(self) -> str:
        """Everything the agent said in the turn, as one string."""
        return " ".join(t.strip() for t in self.said if t.strip())

    @property
    def tool_calls(self) -> list[ToolCalled]:
        """The tool calls, in order."""
        return [e for e in self.events if isinstance(e, ToolCalled)]

    @property
    def handoffs(self) -> list[HandedOff]:
        """The handoffs, in order."""
        return [e for e in self.events if isinstance(e, HandedOff)]

    @property
    def transfers(self) -> list[Transferred]:
        """The transfers, in order."""
        return [e for e in self.events if isinstance(e, Transferred)]

    @property
    def end_reason(self) -> str | None:
        """How the call ended during this turn, or None when it goes on."""
        ended = [e for e in self.events if isinstance(e, CallEnded)]
        return ended[-1].reason if ended else None

    def headline(self) -> str:
        """``turn 2 (text) · caller: "..." · 512 ms to first words``."""
        latency = (
            f" · {self.latency_ms:.0f} ms to first words" if self.latency_ms is not None else ""
        )
        return f"turn {self.index} ({self.mode}) · {self.action}{latency}"

    def render(self, marker: int | None = None) -> str:
        """The turn as text: the headline, then one numbered line per event.

        Args:
            marker: Index of an event to point at with ``>>>`` (a failed ordered check).
        """
        lines = [self.headline()]
        if not self.events:
            lines.append("    (nothing happened)")
        for i, event in enumerate(self.events):
            pointer = ">>>" if i == marker else "   "
            lines.append(f"{pointer} [{i}] {describe(event)}")
        if marker is not None and marker >= len(self.events):
            lines.append(f">>> [{marker}] (no more events)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"<Turn {self.index} {self.action!r}: {len(self.events)} events>"
