"""The ``ToolExecutor`` port: run the tools an agent may call.

Promise:
    * ``specs(names)`` returns the :class:`~ports.chat.ToolSpec` of each named tool, in the
      given order; unknown names raise ``KeyError`` naming them (agent graphs are validated
      against ``names()`` at start, so this is a configuration bug).
    * ``run(call, timeout_ms=...)`` always returns a :class:`~ports.chat.ToolResult`: a tool's
      exception, bad arguments, an unknown tool or the timeout become an error result
      (``is_error=True``), never an exception. Cancelling the awaiting task cancels the tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ports.chat import ToolCall, ToolResult, ToolSpec


class ToolExecutor(Protocol):
    """The registry of tools available to agents, and their runner."""

    def names(self) -> frozenset[str]:
        """Names of every registered tool."""
        ...

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        """Specs of the named tools, in order.

        Raises:
            KeyError: A name is not registered.
        """
        ...

    async def run(self, call: ToolCall, *, timeout_ms: float, call_id: str = "") -> ToolResult:
        """Run ``call`` and return its result; never raises for tool failures.

        Args:
            call: The tool call, with decoded arguments.
            timeout_ms: Deadline in ms; past it the result is an error result.
            call_id: The conversation's call id, for tools that need context.
        """
        ...
