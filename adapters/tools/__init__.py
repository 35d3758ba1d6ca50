"""Function tools: the ``@registry.tool`` decorator and the executor of the ToolExecutor port.

Imports ``ports`` and pydantic only. See :mod:`adapters.tools.registry` for how schemas are
derived and :mod:`adapters.tools.executor` for what tools may return.
"""

from adapters.tools.executor import RegistryToolExecutor
from adapters.tools.registry import (
    RegisteredTool,
    ToolContext,
    ToolDefinitionError,
    ToolRegistry,
    build_tool,
)

__all__ = [
    "RegisteredTool",
    "RegistryToolExecutor",
    "ToolContext",
    "ToolDefinitionError",
    "ToolRegistry",
    "build_tool",
]
