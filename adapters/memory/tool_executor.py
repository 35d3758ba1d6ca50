"""FunctionToolExecutor: a :class:`ports.ToolExecutor` over plain Python functions."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ports import (
    Clock,
    HandOff,
    HangUp,
    ToolCall,
    ToolResult,
    ToolSpec,
    TransferCall,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool: its spec and the function that runs it.

    The function receives the call's arguments as keyword arguments (plus ``call_id``, the
    conversation's call id, when it declares that parameter). It may be sync or async. Its
    return value becomes the result: a :class:`~ports.ToolResult` as is (``call_id`` fixed
    up), a ``str`` as the content, a tool action (``HandOff``, ``TransferCall``, ``HangUp``)
    as the action with empty content, a ``(content, action)`` tuple, or any other
    JSON-serialisable value as its JSON text.

    Attributes:
        spec: What the model sees.
        function: What runs.
    """

    spec: ToolSpec
    function: Callable[..., Any]


class FunctionToolExecutor:
    """Runs :class:`FunctionTool` functions in the event loop, within a timeout.

    Sync functions run inline on the loop, so they must be quick (tests, local demos); wrap
    blocking work in ``asyncio.to_thread`` inside an async function. Every failure becomes an
    error result (``is_error=True``): an unknown tool, arguments the function does not
    accept, an exception (``"<ExceptionType>: <message>"``), a non-JSON return value, or the
    timeout. Timeouts run on ``clock`` when one is given (so a ManualClock drives them), else
    on the event loop's clock.

    Args:
        tools: The tools, by their spec names.
        clock: Time source for timeouts.

    Raises:
        ValueError: Two tools share a name.

    Attributes:
        calls: Every call run, in order.
    """

    def __init__(self, tools: Iterable[FunctionTool] = (), *, clock: Clock | None = None) -> None:
        self._tools: dict[str, FunctionTool] = {}
        self._clock = clock
        self.calls: list[ToolCall] = []
        for tool in tools:
            self.add(tool)

    def add(self, tool: FunctionTool) -> None:
        """Register a tool.

        Raises:
            ValueError: The name is taken.
        """
        if tool.spec.name in self._tools:
            raise ValueError(f"tool {tool.spec.name!r} is registered twice")
        self._tools[tool.spec.name] = tool

    def add_function(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Register ``function`` under its own name and docstring unless given."""
        spec = ToolSpec(
            name=name or function.__name__,
            description=description or inspect.getdoc(function) or "",
            parameters=parameters or {"type": "object", "properties": {}},
        )
        self.add(FunctionTool(spec, function))

    def names(self) -> frozenset[str]:
        """Names of every registered tool."""
        return frozenset(self._tools)

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        """Specs of the named tools, in the order given.

        Raises:
            KeyError: Some names are not registered (all of them are named).
        """
        unknown = [n for n in names if n not in self._tools]
        if unknown:
            raise KeyError(f"unknown tools: {', '.join(unknown)}")
        return [self._tools[n].spec for n in names]

    async def run(self, call: ToolCall, *, timeout_ms: float, call_id: str = "") -> ToolResult:
        """Run ``call``; failures and the timeout become error results, never exceptions."""
        self.calls.append(call)
        tool = self._tools.get(call.name)
        if tool is None:
            return ToolResult(call.id, f"unknown tool {call.name!r}", is_error=True)
        try:
            value = await self._within(timeout_ms, self._invoke(tool, call, call_id))
        except TimeoutError:
            message = f"tool {call.name!r} timed out after {timeout_ms:g} ms"
            return ToolResult(call.id, message, is_error=True)
        except Exception as exc:  # a tool's failure is a result, never a crash (port promise)
            logger.info("tool %s failed: %s", call.name, type(exc).__name__)
            return ToolResult(call.id, f"{type(exc).__name__}: {exc}", is_error=True)
        return _to_result(call.id, value)

    async def _invoke(self, tool: FunctionTool, call: ToolCall, call_id: str) -> Any:
        kwargs = dict(call.arguments)
        if "call_id" in inspect.signature(tool.function).parameters:
            kwargs["call_id"] = call_id
        value = tool.function(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def _within(self, timeout_ms: float, work: Awaitable[Any]) -> Any:
        if self._clock is None:
            async with asyncio.timeout(max(timeout_ms, 0.0) / 1000.0):
                return await work
        task = asyncio.ensure_future(work)
        timer = asyncio.ensure_future(self._clock.sleep(timeout_ms))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, timer):
                pending.cancel()
            await asyncio.gather(task, timer, return_exceptions=True)
        if task.cancelled():
            raise TimeoutError
        return task.result()


def _to_result(call_id: str, value: Any) -> ToolResult:
    if isinstance(value, ToolResult):
        if value.call_id == call_id:
            return value
        return ToolResult(call_id, value.content, value.is_error, value.action)
    action = None
    if isinstance(value, HandOff | TransferCall | HangUp):
        value, action = "", value
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], HandOff | TransferCall | HangUp)
    ):
        value, action = value
    if isinstance(value, str):
        return ToolResult(call_id, value, action=action)
    try:
        return ToolResult(call_id, json.dumps(value), action=action)
    except (TypeError, ValueError) as exc:
        return ToolResult(call_id, f"result is not JSON: {exc}", is_error=True)
