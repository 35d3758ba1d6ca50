"""Tool doubles: replace a tool's implementation for one conversation, keeping its schema.

:class:`ToolDoubles` is the conversation's :class:`~ports.ToolExecutor`. Unmocked tools run
as registered; a mocked tool keeps its registered :class:`~adapters.tools.RegisteredTool`
(name, description, JSON schema, argument validation, deadline) with only the function
swapped, and runs through the same :class:`~adapters.tools.RegistryToolExecutor`, so a double
sees validated arguments, and what it returns (a dict, a string, a ``TransferCall``...) or
raises becomes a result exactly as the real tool's would.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.tools import RegistryToolExecutor, ToolRegistry
from ports import ToolCall, ToolResult, ToolSpec

__all__ = ["UNSET", "ToolDouble", "ToolDoubles"]

UNSET: Any = object()
"""The ``returns`` default: no return value given (``None`` is a value a double may return)."""


@dataclass
class ToolDouble:
    """One mocked tool and what it was called with.

    Attributes:
        name: The tool.
        calls: The validated arguments of every call, in order.
    """

    name: str
    returns: Any = None
    raises: BaseException | None = None
    side_effect: Callable[..., Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, **arguments: Any) -> Any:
        """Run the double: record the call, then raise, compute or return as configured."""
        self.calls.append(dict(arguments))
        if self.raises is not None:
            raise self.raises
        if self.side_effect is not None:
            accepted = inspect.signature(self.side_effect).parameters
            takes_all = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
            kwargs = (
                arguments if takes_all else {k: v for k, v in arguments.items() if k in accepted}
            )
            value = self.side_effect(**kwargs)
            return await value if inspect.isawaitable(value) else value
        return self.returns


class ToolDoubles:
    """A tool executor whose tools can be mocked one by one (see the module docstring).

    Args:
        registry: The conversation's tools (a fresh registry per conversation).
        default_timeout_ms: Deadline when neither the runtime nor the tool sets one.
    """

    def __init__(self, registry: ToolRegistry, *, default_timeout_ms: float = 5000.0) -> None:
        self._registry = registry
        self._real = RegistryToolExecutor(registry, default_timeout_ms=default_timeout_ms)
        self._doubles: dict[str, tuple[ToolDouble, RegistryToolExecutor]] = {}
        self._default_timeout_ms = default_timeout_ms

    def mock(
        self,
        name: str,
        *,
        returns: Any = UNSET,
        raises: BaseException | str | None = None,
        side_effect: Callable[..., Any] | None = None,
    ) -> ToolDouble:
        """Replace tool ``name``'s implementation until :meth:`unmock`.

        Args:
            name: A registered tool.
            returns: What the double returns (any value the real tool could return).
            raises: An exception to raise (a string becomes ``RuntimeError(string)``); the
                model then sees the executor's error result, as for a real failure.
            side_effect: A function (or coroutine function) computing the return value from
                the call's arguments; it may declare only the arguments it needs.

        Returns:
            The double, whose ``calls`` list records each call's arguments.

        Raises:
            KeyError: No tool of that name is registered (the message lists the tools).
            ValueError: Both ``returns`` and ``side_effect``, or none of the three, given.
        """
        if name not in self._registry:
            known = ", ".join(sorted(self._registry.names())) or "none registered"
            raise KeyError(f"cannot mock {name!r}: no such tool (tools: {known})")
        given = sum(x is not None for x in (raises, side_effect)) + (returns is not UNSET)
        if given != 1:
            raise ValueError(f"mock {name!r} with exactly one of returns=, raises=, side_effect=")
        error = RuntimeError(raises) if isinstance(raises, str) else raises
        double = ToolDouble(
            name,
            returns=None if returns is UNSET else returns,
            raises=error,
            side_effect=side_effect,
        )
        real = self._registry.get(name)
        only = ToolRegistry()
        # Same schema, validation and deadline; the double takes every argument by keyword.
        only.add(replace(real, function=double, is_async=True, context_parameter=None))
        self._doubles[name] = (
            double,
            RegistryToolExecutor(only, default_timeout_ms=self._default_timeout_ms),
        )
        return double

    def unmock(self, name: str) -> None:
        """Restore tool ``name``'s real implementation (no-op when it is not mocked)."""
        self._doubles.pop(name, None)

    @property
    def doubles(self) -> Mapping[str, ToolDouble]:
        """The doubles in place, by tool name."""
        return {name: double for name, (double, _) in self._doubles.items()}

    def names(self) -> frozenset[str]:
        """Names of every registered tool."""
        return self._registry.names()

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        """The real tools' specs (a double keeps its tool's schema).

        Raises:
            KeyError: A name is not registered.
        """
        return self._real.specs(names)

    async def run(self, call: ToolCall, *, timeout_ms: float, call_id: str = "") -> ToolResult:
        """Run ``call`` on its double when mocked, on the real tool otherwise."""
        entry = self._doubles.get(call.name)
        executor = entry[1] if entry is not None else self._real
        return await executor.run(call, timeout_ms=timeout_ms, call_id=call_id)
