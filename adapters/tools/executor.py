"""RegistryToolExecutor: the ``ToolExecutor`` port over a :class:`ToolRegistry`.

Promise (see :mod:`ports.tool_executor`): ``run`` always returns a :class:`ports.ToolResult`.
Unknown tools, arguments that fail the tool's pydantic model, exceptions and timeouts become
error results (``is_error=True``) whose content says what went wrong in words the model can
act on; a tool's exception text is logged, not shown to the model.

What a tool may return:

* a :class:`ports.ToolResult` (its ``call_id`` is replaced by the call's);
* an action, :class:`ports.HandOff`, :class:`ports.TransferCall` or :class:`ports.HangUp`:
  the result carries it as ``action`` with a short JSON content describing it;
* a ``(value, action)`` tuple: content from ``value``, plus the action;
* a ``str`` (sent as is) or any value pydantic can dump to JSON (dicts, lists, dataclasses,
  pydantic models, dates, decimals).

Async tools run on the loop and are cancelled at the deadline; plain functions run in a worker
thread (``asyncio.to_thread``), which cannot be interrupted: past the deadline the result is an
error and the thread's late return is discarded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.tools.registry import ToolContext, ToolRegistry
from ports import HandOff, HangUp, ToolCall, ToolResult, ToolSpec, TransferCall

__all__ = ["RegistryToolExecutor"]

logger = logging.getLogger(__name__)

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _action_content(action: HandOff | TransferCall | HangUp) -> str:
    if isinstance(action, HandOff):
        return _ANY.dump_json({"action": "handoff", "agent": action.agent}).decode()
    if isinstance(action, TransferCall):
        return _ANY.dump_json({"action": "transfer", "target": action.target}).decode()
    return _ANY.dump_json({"action": "hang_up"}).decode()


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _ANY.dump_json(value).decode()


def _to_result(call_id: str, value: Any) -> ToolResult:
    if isinstance(value, ToolResult):
        return ToolResult(call_id, value.content, value.is_error, value.action)
    if isinstance(value, HandOff | TransferCall | HangUp):
        return ToolResult(call_id, _action_content(value), action=value)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], HandOff | TransferCall | HangUp)
    ):
        return ToolResult(call_id, _content(value[0]), action=value[1])
    return ToolResult(call_id, _content(value))


def _describe_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


class RegistryToolExecutor:
    """Runs tools of a :class:`ToolRegistry` with validation, deadlines and error results.

    Args:
        registry: The tools.
        default_timeout_ms: Used when neither the caller nor the tool sets a deadline.
    """

    def __init__(self, registry: ToolRegistry, *, default_timeout_ms: float = 5000.0) -> None:
        self._registry = registry
        self._default_timeout_ms = default_timeout_ms

    def names(self) -> frozenset[str]:
        """Names of every registered tool."""
        return self._registry.names()

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        """Specs of the named tools, in order.

        Raises:
            KeyError: A name is not registered.
        """
        return self._registry.specs(names)

    async def run(self, call: ToolCall, *, timeout_ms: float, call_id: str = "") -> ToolResult:
        """Run ``call``; never raises for tool failures (see the module docstring).

        Args:
            call: The tool call, with decoded arguments.
            timeout_ms: Deadline in ms; the tool's own ``timeout_ms`` wins when smaller.
            call_id: The conversation's call id, passed to tools that take a ToolContext.

        Returns:
            The result; ``is_error`` for unknown tools, bad arguments, exceptions, timeouts.
        """
        if call.name not in self._registry:
            return ToolResult(call.id, f"unknown tool {call.name!r}", is_error=True)
        tool = self._registry.get(call.name)
        try:
            arguments = tool.arguments.model_validate(dict(call.arguments))
        except ValidationError as exc:
            logger.info("tool %s: invalid arguments", call.name)
            return ToolResult(
                call.id,
                f"invalid arguments for {call.name}: {_describe_errors(exc)}",
                is_error=True,
            )
        kwargs = {name: getattr(arguments, name) for name in type(arguments).model_fields}
        if tool.context_parameter:
            kwargs[tool.context_parameter] = ToolContext(call_id=call_id, tool_call_id=call.id)
        deadlines = [t for t in (timeout_ms, tool.timeout_ms) if t is not None and t > 0]
        deadline_ms = min(deadlines) if deadlines else self._default_timeout_ms
        try:
            async with asyncio.timeout(deadline_ms / 1000.0):
                if tool.is_async:
                    value = await tool.function(**kwargs)
                else:
                    value = await asyncio.to_thread(tool.function, **kwargs)
        except TimeoutError:
            logger.warning("tool %s timed out after %.0f ms", call.name, deadline_ms)
            return ToolResult(
                call.id, f"{call.name} did not answer within {deadline_ms:.0f} ms", is_error=True
            )
        except Exception as exc:
            # A tool's failure is the model's problem to explain, never the call's crash.
            logger.warning("tool %s failed: %s", call.name, type(exc).__name__, exc_info=True)
            return ToolResult(call.id, f"{call.name} failed: {type(exc).__name__}", is_error=True)
        try:
            return _to_result(call.id, value)
        except Exception as exc:  # pydantic could not serialise the return value
            logger.warning("tool %s returned a value that is not JSON: %s", call.name, exc)
            return ToolResult(call.id, f"{call.name} returned an unusable value", is_error=True)
