"""The tools every tool executor under contract registers (ports.ToolExecutor suite)."""

from __future__ import annotations

import asyncio

from adapters.memory import FunctionTool
from bootstrap.contract.cases import ToolProbe
from ports import ToolSpec


def contract_tools(probe: ToolProbe) -> list[FunctionTool]:
    """The tools every executor under contract registers (by any mechanism it has).

    ``echo(text)`` returns ``{"echo": text}``; ``boom()`` raises ``RuntimeError("kaboom")``;
    ``slow()`` sleeps for a minute (recording its cancellation in ``probe``); ``whoami()``
    returns the conversation's call id (it declares ``call_id``).
    """

    def echo(text: str) -> dict[str, str]:
        return {"echo": text}

    def boom() -> str:
        raise RuntimeError("kaboom")

    async def slow() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            probe.slow_cancelled = True
            raise
        return "done"

    def whoami(call_id: str) -> str:
        probe.calls_with_context.append(call_id)
        return call_id

    def spec(name: str, properties: dict[str, object] | None = None) -> ToolSpec:
        return ToolSpec(
            name,
            f"contract tool {name}",
            {"type": "object", "properties": properties or {}},  # type: ignore[dict-item]
        )

    return [
        FunctionTool(spec("echo", {"text": {"type": "string"}}), echo),
        FunctionTool(spec("boom"), boom),
        FunctionTool(spec("slow"), slow),
        FunctionTool(spec("whoami"), whoami),
    ]
