"""The realtime end-to-end scenario's one tool (deterministic)."""

from __future__ import annotations

from adapters.tools import ToolRegistry


def register_tools(registry: ToolRegistry) -> None:
    """Register ``get_weather``."""

    @registry.tool(timeout_ms=2000)
    async def get_weather() -> dict[str, str]:
        """Today's weather where the caller is."""
        return {"summary": "sunny and mild"}
