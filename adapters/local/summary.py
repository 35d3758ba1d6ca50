"""The offline summarizer: a deterministic template summary of a call (``ports.CallSummarizer``).

Used with the offline dialog model (``PARLEY_LLM=offline``, and the fakes), so the post-call
summary works, and is tested, with no language model. It reads only what the record holds:

* text: who answered, which tools ran, handoffs, how and after how long the call ended, and
  the caller's first request;
* disposition: from the outcome (transferred -> the first disposition naming a transfer or a
  human; abandoned -> one naming abandonment; resolved -> ``resolved``), else the first one;
* fields: a ``choice`` field takes the first of its choices that names a tool called in the
  call (else an agent that took part, else ``other`` when allowed); a ``boolean`` field named
  ``resolved`` is whether the outcome was resolved, ``transferred`` whether it was
  transferred; a ``text`` field named ``intent`` is the first tool called; anything else is
  ``None``.

Same record in, same summary out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ports import JsonValue
from ports.call_summarizer import SummaryField, SummaryRequest, SummaryResult

SOURCE = "template"


def _first(items: Sequence[str], predicate: object) -> str | None:
    for item in items:
        if predicate(item):  # type: ignore[operator]
            return item
    return None


def _disposition(outcome: str, dispositions: Sequence[str]) -> str:
    if outcome == "transferred":
        found = _first(dispositions, lambda d: "transfer" in d or "human" in d)
    elif outcome == "abandoned":
        found = _first(dispositions, lambda d: "abandon" in d)
    elif outcome == "resolved":
        found = _first(dispositions, lambda d: d == "resolved")
    else:
        found = _first(dispositions, lambda d: "fail" in d or d == "other")
    return found or dispositions[0]


def _field(spec: SummaryField, tools: list[str], agents: Sequence[str], outcome: str) -> JsonValue:
    if spec.kind == "choice":
        for candidates in (tools, agents):
            for name in candidates:
                if name in spec.choices:
                    return name
        return "other" if "other" in spec.choices else None
    if spec.kind == "boolean":
        if spec.name == "resolved":
            return outcome == "resolved"
        if spec.name == "transferred":
            return outcome == "transferred"
        return None
    if spec.name == "intent":
        return tools[0] if tools else None
    return None


class TemplateSummarizer:
    """``CallSummarizer`` without a model: a template over the record (see the module)."""

    async def summarize(self, request: SummaryRequest) -> SummaryResult:
        """Summarise from the record alone (never fails)."""
        header = request.header
        tools: list[str] = []
        for line in request.lines:
            if line.kind == "tool_call" and line.text not in tools:
                tools.append(line.text)
        handoffs = [
            str(line.data.get("to", ""))
            for line in request.lines
            if line.kind == "event" and line.data.get("event") == "handoff"
        ]
        first_request = next((line.text for line in request.lines if line.kind == "user"), "")
        parts = [
            f"{header.channel or 'A'} call answered by {', '.join(header.agents) or 'the agent'}."
        ]
        if first_request:
            parts.append(f'The caller first said: "{first_request}".')
        if tools:
            parts.append(f"Tools used: {', '.join(tools)}.")
        if handoffs:
            parts.append(f"Handed off to {', '.join(handoffs)}.")
        seconds = round(header.duration_ms / 1000.0)
        parts.append(
            f"Outcome: {header.outcome} ({header.end_reason or 'unknown'}) after"
            f" {header.user_turns} caller turn(s) in {seconds} s."
        )
        return SummaryResult(
            text=" ".join(parts),
            disposition=_disposition(header.outcome, request.dispositions),
            fields={
                f.name: _field(f, tools, header.agents, header.outcome) for f in request.fields
            },
            source=SOURCE,
        )
