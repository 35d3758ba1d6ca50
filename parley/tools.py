"""What a tools file imports: the registry, the per-call context and the call actions.

A tools file (``PARLEY_TOOLS_MODULE``, default ``<PARLEY_AGENTS_DIR>/tools.py``) defines
``register_tools(registry)``; Parley calls it with a fresh :class:`ToolRegistry` at start::

    from parley.tools import HangUp, ToolContext, ToolRegistry, TransferCall

    def register_tools(registry: ToolRegistry) -> None:
        @registry.tool(timeout_ms=2000)
        async def end_call(reason: str = "caller is done") -> HangUp:
            \"\"\"End the call after the goodbye.\"\"\"
            return HangUp(reason)

A tool may take ``ctx: ToolContext`` (the call id and the model's tool call id) and
return plain data, a :class:`TransferCall` or a :class:`HangUp`. ``parley init`` writes a
complete example (the bank scenario's ``tools.py``).
"""

from adapters.tools import ToolContext, ToolDefinitionError, ToolRegistry
from ports import HangUp, TransferCall

__all__ = ["HangUp", "ToolContext", "ToolDefinitionError", "ToolRegistry", "TransferCall"]
