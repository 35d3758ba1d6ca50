"""Checks on one event of a turn (``turn.expect.next_event()``, ``contains_event``, ``[i]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from bootstrap.testkit.checks import call_end_problems, speech_problems, tool_problems
from bootstrap.testkit.events import CallEnded, Event, HandedOff, ToolCalled, Transferred, describe
from bootstrap.testkit.failure import fail, said_spec, tool_spec
from bootstrap.testkit.turn import Turn

__all__ = ["EventExpect"]


class EventExpect:
    """Checks on one event of a turn (from ``next_event``, ``contains_event`` or indexing)."""

    def __init__(self, turn: Turn, event: Event, index: int) -> None:
        self._turn = turn
        self.event = event
        self.index = index

    def _check(self, expected: str, problems: list[str]) -> Self:
        __tracebackhide__ = True
        if problems:
            fail(self._turn, expected, [f"[{self.index}] {describe(self.event)}", *problems],
                  self.index)  # fmt: skip
        return self

    def _kind(self, kind: str) -> list[str]:
        if self.event.kind != kind:
            return [f"it is a {self.event.kind} event"]
        return []

    def is_speech(self, *, contains: str | None = None, matches: str | None = None) -> Self:
        """The event is a clause the agent said (containing / matching the text, if given)."""
        __tracebackhide__ = True
        text = getattr(self.event, "text", "")
        problems = self._kind("speech") or speech_problems(text, contains, matches, None)
        return self._check("agent speech " + said_spec(contains, matches, None), problems)

    def is_caller(self, *, contains: str | None = None) -> Self:
        """The event is the caller's words."""
        __tracebackhide__ = True
        text = getattr(self.event, "text", "")
        problems = self._kind("caller") or speech_problems(text, contains, None, None)
        return self._check("the caller's words", problems)

    def is_tool_call(
        self,
        name: str | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        result: str | None = None,
        is_error: bool | None = None,
    ) -> Self:
        """The event is a tool call (of ``name``, with ``args`` included, if given)."""
        __tracebackhide__ = True
        event = self.event
        problems = (
            tool_problems(event, name, args, result, is_error)
            if isinstance(event, ToolCalled)
            else self._kind("tool_call")
        )
        return self._check(tool_spec(name, args), problems)

    def is_handoff(self, to: str | None = None) -> Self:
        """The event is a handoff (to agent ``to``, if given)."""
        __tracebackhide__ = True
        event = self.event
        problems = self._kind("handoff")
        if isinstance(event, HandedOff) and to is not None and event.to_agent != to:
            problems = [f"it hands off to {event.to_agent}"]
        return self._check("a handoff" + (f" to {to}" if to else ""), problems)

    def is_transfer(self, to: str | None = None) -> Self:
        """The event is a transfer (to ``to``, if given)."""
        __tracebackhide__ = True
        event = self.event
        problems = self._kind("transfer")
        if isinstance(event, Transferred) and to is not None and event.target != to:
            problems = [f"it transfers to {event.target}"]
        return self._check("a transfer" + (f" to {to}" if to else ""), problems)

    def is_interruption(self) -> Self:
        """The event is the caller cutting the agent's speech."""
        __tracebackhide__ = True
        return self._check("an interruption", self._kind("interrupted"))

    def is_call_end(self, reason: str | None = None) -> Self:
        """The event is the end of the call (with ``reason``, e.g. ``hang_up``, if given)."""
        __tracebackhide__ = True
        event = self.event
        problems = (
            call_end_problems(event, reason)
            if isinstance(event, CallEnded)
            else self._kind("call_ended")
        )
        return self._check("the end of the call", problems)
