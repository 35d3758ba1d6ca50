"""How an event is compared with what a test expects: each function lists the differences.

An empty list means the event matches. Every difference is one short phrase
(``args.last_four: expected '1234', got '4242'``) for a failure message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bootstrap.testkit.events import (
    AgentSaid,
    CallEnded,
    CallerPressed,
    CallerSaid,
    Event,
    HandedOff,
    ToolCalled,
    Transferred,
)

__all__ = [
    "args_problems",
    "call_end_problems",
    "event_problems",
    "speech_problems",
    "tool_problems",
]


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if not isinstance(value, str) else repr(value)


def args_problems(
    expected: Mapping[str, Any], actual: Mapping[str, Any], path: str = "args"
) -> list[str]:
    """Keys of ``expected`` that ``actual`` lacks or holds another value for (nested subsets)."""
    problems = []
    for key, want in expected.items():
        where = f"{path}.{key}"
        if key not in actual:
            problems.append(f"{where}: missing (arguments: {sorted(actual)})")
            continue
        got = actual[key]
        if isinstance(want, Mapping) and isinstance(got, Mapping):
            problems += args_problems(want, got, where)
        elif want != got or type(want) is not type(got) and not _numbers(want, got):
            problems.append(f"{where}: expected {_shown(want)}, got {_shown(got)}")
    return problems


def _numbers(a: Any, b: Any) -> bool:
    numeric = (int, float)
    return (
        isinstance(a, numeric)
        and isinstance(b, numeric)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


def tool_problems(
    call: ToolCalled,
    name: str | None,
    args: Mapping[str, Any] | None,
    result: str | None,
    is_error: bool | None,
) -> list[str]:
    """How ``call`` differs from a tool call of ``name`` with ``args`` (subset) and ``result``."""
    if name is not None and call.name != name:
        return [f"it calls {call.name}, not {name}"]
    problems = args_problems(args, call.arguments) if args else []
    if result is not None and result.lower() not in (call.result or "").lower():
        problems.append(f"its result does not contain {result!r}")
    if is_error is not None and call.is_error != is_error:
        problems.append("its result is an error" if call.is_error else "its result is no error")
    return problems


def speech_problems(
    text: str, contains: str | None, matches: str | None, not_contains: str | None
) -> list[str]:
    """How ``text`` fails the text checks (case-insensitive)."""
    problems = []
    shown = repr(text) if text else "nothing"
    if contains is not None and contains.lower() not in text.lower():
        problems.append(f"said {shown}, which does not contain {contains!r}")
    if matches is not None and re.search(matches, text, re.IGNORECASE) is None:
        problems.append(f"said {shown}, which does not match /{matches}/")
    if not_contains is not None and not_contains.lower() in text.lower():
        problems.append(f"said {shown}, which contains {not_contains!r}")
    return problems


def call_end_problems(event: CallEnded, reason: str | None) -> list[str]:
    """How ``event`` differs from an end of call with ``reason``."""
    if reason is not None and event.reason != reason:
        return [f"the call ended: {event.reason}, not {reason}"]
    return []


def event_problems(event: Event, criteria: Mapping[str, Any]) -> list[str]:
    """How ``event`` differs from ``criteria`` (the keyword arguments of its ``is_*`` check).

    Raises:
        TypeError: A criterion the event's kind does not know.
    """
    known: dict[type, set[str]] = {
        ToolCalled: {"name", "args", "result", "is_error"},
        AgentSaid: {"contains", "matches"},
        CallerSaid: {"contains"},
        CallerPressed: {"digits"},
        HandedOff: {"to"},
        Transferred: {"to"},
        CallEnded: {"reason"},
    }
    allowed = known.get(type(event), set())
    unknown = set(criteria) - allowed
    if unknown:
        raise TypeError(
            f"{event.kind} events take {sorted(allowed) or 'no criteria'}, not {sorted(unknown)}"
        )
    match event:
        case ToolCalled():
            return tool_problems(
                event,
                criteria.get("name"),
                criteria.get("args"),
                criteria.get("result"),
                criteria.get("is_error"),
            )
        case AgentSaid() | CallerSaid():
            return speech_problems(
                event.text, criteria.get("contains"), criteria.get("matches"), None
            )
        case CallerPressed() if "digits" in criteria and event.digits != criteria["digits"]:
            return [f"keys {event.digits}, not {criteria['digits']}"]
        case HandedOff() if "to" in criteria and event.to_agent != criteria["to"]:
            return [f"it hands off to {event.to_agent}"]
        case Transferred() if "to" in criteria and event.target != criteria["to"]:
            return [f"it transfers to {event.target}"]
        case CallEnded():
            return call_end_problems(event, criteria.get("reason"))
    return []
