"""How an expectation fails: the message (expected, closest, differences, the turn) and error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from bootstrap.testkit.turn import Turn

__all__ = ["INPUT_KINDS", "ExpectationError", "fail", "said_spec", "tool_spec"]

INPUT_KINDS = frozenset({"caller", "dtmf"})
"""Kinds the ordered cursor skips unless asked for: the caller's own input."""


class ExpectationError(AssertionError):
    """An expectation failed; the message shows what was expected and what happened.

    Attributes:
        turn: The turn checked.
        expected: The expectation as a sentence.
    """

    def __init__(self, message: str, turn: Turn, expected: str) -> None:
        super().__init__(message)
        self.turn = turn
        self.expected = expected


def fail(turn: Turn, expected: str, details: list[str], marker: int | None = None) -> NoReturn:
    """Raise :class:`ExpectationError`: ``Expected <expected>``, the details, then the turn.

    Raises:
        ExpectationError: Always (``marker``: the event to point at with ``>>>``).
    """
    __tracebackhide__ = True
    body = [f"Expected {expected}"]
    body += [f"  {line}" for line in details]
    body += ["", turn.render(marker)]
    raise ExpectationError("\n".join(body), turn, expected)


def tool_spec(name: str | None, args: Mapping[str, Any] | None) -> str:
    """An expected tool call as words."""
    shown = f"a call of tool {name}" if name else "a tool call"
    return shown + (f" with arguments including {dict(args)}" if args else "")


def said_spec(contains: str | None, matches: str | None, equals: str | None) -> str:
    """Expected words as a phrase."""
    parts = []
    if contains is not None:
        parts.append(f"something containing {contains!r}")
    if matches is not None:
        parts.append(f"something matching /{matches}/")
    if equals is not None:
        parts.append(f"exactly {equals!r}")
    return " and ".join(parts) or "the expected words"
