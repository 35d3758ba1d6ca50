"""Fluent expectations on a turn: sentences that fail with what was expected and what happened.

Unordered checks read as sentences and chain::

    turn.expect.tool_call("lock_card", args={"last_four": "4242"}).says(contains="locked")

Ordered checks walk the turn with a cursor (the caller's own words and keys are skipped unless
asked for)::

    turn.expect.next_event().is_tool_call("report_fraud")
    turn.expect.next_event(kind="handoff").is_handoff("fraud")
    turn.expect.no_more_events()

A failed check raises :class:`ExpectationError` (an ``AssertionError``) whose message says
what was expected, the closest thing that happened and how it differs, then the whole turn
with the failing position marked. Text checks (``contains``, ``matches``) ignore case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from difflib import ndiff
from typing import Any, Self, overload

from bootstrap.testkit.checks import (
    event_problems,
    speech_problems,
    tool_problems,
)
from bootstrap.testkit.event_expect import EventExpect
from bootstrap.testkit.events import (
    KINDS,
    Interrupted,
    describe,
)
from bootstrap.testkit.failure import INPUT_KINDS, ExpectationError, fail, said_spec, tool_spec
from bootstrap.testkit.judge import judge
from bootstrap.testkit.turn import Turn
from ports import LanguageModel

__all__ = ["EventExpect", "ExpectationError", "TurnExpect"]


class TurnExpect:
    """Expectations on one :class:`Turn` (get it as ``turn.expect``)."""

    def __init__(self, turn: Turn) -> None:
        self._turn = turn
        self._cursor = 0

    # -- unordered: read as sentences ---------------------------------------------------

    def tool_call(
        self,
        name: str,
        *,
        args: Mapping[str, Any] | None = None,
        result: str | None = None,
        is_error: bool | None = None,
    ) -> Self:
        """The agent called tool ``name`` (anywhere in the turn).

        Args:
            name: Tool name.
            args: Arguments the call must include (a subset; values compared exactly).
            result: Text the tool's result must contain (case-insensitive).
            is_error: Whether the result must (True) or must not (False) be an error.

        Returns:
            This object, to chain.

        Raises:
            ExpectationError: No such call; the message lists every call with its differences.
        """
        __tracebackhide__ = True
        calls = self._turn.tool_calls
        for call in calls:
            if not tool_problems(call, name, args, result, is_error):
                return self
        details = [
            f"{describe(c)}: " + "; ".join(tool_problems(c, name, args, result, is_error))
            for c in calls
        ] or ["there was no tool call"]
        fail(self._turn, tool_spec(name, args), details)

    def no_tool_calls(self) -> Self:
        """The agent called no tool in the turn (handoffs are not tool calls here)."""
        __tracebackhide__ = True
        if self._turn.tool_calls:
            details = [describe(c) for c in self._turn.tool_calls]
            fail(self._turn, "no tool call", details)
        return self

    def handoff_to(self, agent: str) -> Self:
        """The conversation was handed off to ``agent``."""
        __tracebackhide__ = True
        handoffs = self._turn.handoffs
        if any(h.to_agent == agent for h in handoffs):
            return self
        details = [describe(h) for h in handoffs] or [
            f"there was no handoff; the active agent is {self._turn.agent or '?'}"
        ]
        fail(self._turn, f"a handoff to {agent}", details)

    def no_handoff(self) -> Self:
        """No handoff happened in the turn."""
        __tracebackhide__ = True
        if self._turn.handoffs:
            fail(self._turn, "no handoff", [describe(h) for h in self._turn.handoffs])
        return self

    @overload
    def says(
        self,
        *,
        contains: str | None = ...,
        matches: str | None = ...,
        equals: str | None = ...,
        not_contains: str | None = ...,
        judged_by: None = None,
        intent: None = None,
    ) -> Self: ...

    @overload
    def says(
        self,
        *,
        contains: str | None = ...,
        matches: str | None = ...,
        equals: str | None = ...,
        not_contains: str | None = ...,
        judged_by: LanguageModel,
        intent: str,
    ) -> Awaitable[Self]: ...

    def says(
        self,
        *,
        contains: str | None = None,
        matches: str | None = None,
        equals: str | None = None,
        not_contains: str | None = None,
        judged_by: LanguageModel | None = None,
        intent: str | None = None,
    ) -> Self | Awaitable[Self]:
        """What the agent said in the turn (its clauses joined) satisfies every given check.

        Args:
            contains: Text it must contain (case-insensitive).
            matches: A regular expression it must match somewhere (case-insensitive).
            equals: The exact words (whitespace normalised); a failure shows a diff.
            not_contains: Text it must not contain (case-insensitive).
            judged_by: A language model that judges ``intent`` (then ``await`` the call).
            intent: What the words should accomplish, for the judge
                ("confirms the card is locked").

        Returns:
            This object; with ``judged_by``, an awaitable of it.

        Raises:
            ExpectationError: A check failed (for the judge: its verdict and reason).
            ValueError: ``judged_by`` without ``intent`` or the reverse.
        """
        __tracebackhide__ = True
        if (judged_by is None) != (intent is None):
            raise ValueError("says(judged_by=..., intent=...) needs both")
        said = self._turn.text
        problems = speech_problems(said, contains, matches, not_contains)
        if equals is not None and " ".join(equals.split()) != " ".join(said.split()):
            diff = ndiff([" ".join(equals.split())], [" ".join(said.split())])
            problems.append("the words differ (- expected, + said):")
            problems += [f"  {line.rstrip()}" for line in diff]
        if problems:
            fail(self._turn, "the agent to say " + said_spec(contains, matches, equals), problems)
        if judged_by is None or intent is None:
            return self
        return self._judged(judged_by, intent, said)

    async def _judged(self, model: LanguageModel, intent: str, said: str) -> Self:
        __tracebackhide__ = True
        if not said:
            fail(self._turn, f"words fulfilling the intent {intent!r}", ["the agent said nothing"])
        verdict = await judge(model, intent=intent, said=said)
        if not verdict.success:
            fail(
                self._turn,
                f"words fulfilling the intent {intent!r}",
                [f"said: {said!r}", f"the judge says no: {verdict.reason}"],
            )
        return self

    def transfer(self, to: str | None = None) -> Self:
        """The call was transferred (to ``to`` when given)."""
        __tracebackhide__ = True
        found = self._turn.transfers
        if any(to is None or t.target == to for t in found):
            return self
        details = [describe(t) for t in found] or ["there was no transfer"]
        fail(self._turn, "a transfer" + (f" to {to}" if to else ""), details)

    def ends_call(self) -> Self:
        """The agent hung up (the call ended with reason ``hang_up``)."""
        __tracebackhide__ = True
        reason = self._turn.end_reason
        if reason != "hang_up":
            detail = "the call goes on" if reason is None else f"the call ended: {reason}"
            fail(self._turn, "the agent to end the call", [detail])
        return self

    def interrupted(self, *, heard_contains: str | None = None) -> Self:
        """The caller cut the agent's speech (voice mode: a barge-in or a key).

        Args:
            heard_contains: Words the caller must have heard of the cut message.
        """
        __tracebackhide__ = True
        cuts = [e for e in self._turn.events if isinstance(e, Interrupted)]
        for cut in cuts:
            if heard_contains is None or heard_contains.lower() in (cut.heard or "").lower():
                return self
        details = [describe(c) for c in cuts] or ["the agent was not interrupted"]
        fail(self._turn, "an interruption", details)

    def responds_within(self, ms: float) -> Self:
        """The agent's first words came at most ``ms`` after the caller's input (virtual ms)."""
        __tracebackhide__ = True
        latency = self._turn.latency_ms
        if latency is None or latency > ms:
            shown = "not measured (no words after input)" if latency is None else f"{latency:.0f}"
            fail(self._turn, f"a response within {ms:.0f} ms", [f"latency: {shown} ms"])
        return self

    # -- ordered: a cursor over the turn ---------------------------------------------

    def next_event(self, kind: str | None = None) -> EventExpect:
        """The next event (of ``kind``, skipping others); the caller's input is skipped.

        Args:
            kind: ``speech``, ``tool_call``, ``handoff``, ``transfer``, ``interrupted``,
                ``call_ended``, or ``caller``/``dtmf`` for the caller's own input.

        Raises:
            ExpectationError: No such event is left.
            ValueError: Unknown kind.
        """
        __tracebackhide__ = True
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r} (kinds: {', '.join(KINDS)})")
        events = self._turn.events
        while self._cursor < len(events):
            index = self._cursor
            self._cursor += 1
            event = events[index]
            if kind is None and event.kind in INPUT_KINDS:
                continue
            if kind is None or event.kind == kind:
                return EventExpect(self._turn, event, index)
        fail(self._turn, f"another {kind or ''} event".replace("  ", " "), [], self._cursor)

    def skip_next(self, count: int = 1) -> Self:
        """Move the cursor past ``count`` events (the caller's input is skipped too)."""
        __tracebackhide__ = True
        for _ in range(count):
            self.next_event()
        return self

    def no_more_events(self) -> None:
        """Nothing but the caller's input is left after the cursor."""
        __tracebackhide__ = True
        events = self._turn.events
        left = [i for i in range(self._cursor, len(events)) if events[i].kind not in INPUT_KINDS]
        if left:
            fail(self._turn, "no more events", [describe(events[left[0]])], left[0])

    def contains_event(self, kind: str, **criteria: Any) -> EventExpect:
        """An event of ``kind`` matching ``criteria``, anywhere in the turn (cursor unmoved).

        ``criteria`` are the keyword arguments of the matching ``EventExpect.is_*`` check
        (``contains_event("tool_call", name="lock_card", args={...})``).

        Raises:
            ExpectationError: None matches; the message lists the events of that kind.
        """
        __tracebackhide__ = True
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r} (kinds: {', '.join(KINDS)})")
        candidates = [(i, e) for i, e in enumerate(self._turn.events) if e.kind == kind]
        reasons = []
        for index, event in candidates:
            problems = event_problems(event, criteria)
            if not problems:
                return EventExpect(self._turn, event, index)
            reasons.append(f"[{index}] {describe(event)}: {'; '.join(problems)}")
        wanted = f"a {kind} event" + (f" with {criteria}" if criteria else "")
        fail(self._turn, wanted, reasons or [f"there was no {kind} event"])

    def __getitem__(self, index: int) -> EventExpect:
        """The event at ``index`` (negative counts from the end)."""
        __tracebackhide__ = True
        events = self._turn.events
        position = index + len(events) if index < 0 else index
        if not 0 <= position < len(events):
            fail(self._turn, f"an event at index {index}", [f"{len(events)} events"])
        return EventExpect(self._turn, events[position], position)
