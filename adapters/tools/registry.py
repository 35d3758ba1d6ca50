"""Tool definitions: a registry object and the ``@registry.tool`` decorator.

The decorator derives each tool's JSON schema from its typed signature with pydantic
(``create_model`` over the parameters), so the schema the model sees and the validation the
executor applies come from one source. Descriptions come from the docstring: its first
paragraph describes the tool, its Google-style ``Args:`` section each argument (an
``Annotated[..., Field(description=...)]`` wins over the docstring).

There is no module-level registry: create a :class:`ToolRegistry` and register into it::

    def register_tools(registry: ToolRegistry) -> None:
        @registry.tool(timeout_ms=2000)
        async def check_balance(
            account: Annotated[Literal["checking", "savings"], Field(description="Which")],
        ) -> dict[str, float]:
            '''Current balance of one of the caller's accounts.'''
            ...

A parameter annotated :class:`ToolContext` is filled by the executor (call id) and left out of
the schema. Tools may be ``async def`` (preferred) or plain functions (run in a worker thread).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from ports import HANDOFF_TOOL_PREFIX, JsonValue, ToolSpec

__all__ = ["RegisteredTool", "ToolContext", "ToolDefinitionError", "ToolRegistry"]

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""The OpenAI function-name rule (chat completions ``tools[].function.name``)."""
RESERVED_PREFIX = HANDOFF_TOOL_PREFIX
"""The domain names its handoff tools ``handoff_to_<agent>``; user tools may not."""


class ToolDefinitionError(ValueError):
    """A function cannot be a tool (bad name, untyped parameter, duplicate, *args)."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What the executor passes to a tool that asks for it.

    Attributes:
        call_id: The conversation's call id.
        tool_call_id: The model's id for this tool call.
    """

    call_id: str
    tool_call_id: str


@dataclass(frozen=True, slots=True)
class RegisteredTool:
    """One tool: its function, spec, argument model and timeout.

    Attributes:
        name: Tool name.
        description: For the model.
        function: The Python function.
        arguments: pydantic model validating the arguments object (extra keys forbidden).
        spec: The :class:`ports.ToolSpec` handed to models.
        timeout_ms: The tool's own deadline in ms, or ``None`` for the caller's.
        context_parameter: Name of the :class:`ToolContext` parameter, if any.
    """

    name: str
    description: str
    function: Callable[..., Any]
    arguments: type[BaseModel]
    spec: ToolSpec
    timeout_ms: float | None = None
    context_parameter: str | None = None
    is_async: bool = False


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """Summary paragraph and ``Args:`` descriptions of a Google-style docstring."""
    text = inspect.cleandoc(doc or "")
    summary = text.split("\n\n", 1)[0].replace("\n", " ").strip()
    args: dict[str, str] = {}
    match = re.search(r"^Args:\s*\n((?:[ \t]+.*\n?|\s*\n)+)", text, flags=re.MULTILINE)
    if match:
        current: str | None = None
        for line in match.group(1).splitlines():
            entry = re.match(r"^\s{2,8}(\*{0,2}\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if entry and not line.startswith(" " * 9):
                current = entry.group(1).lstrip("*")
                args[current] = entry.group(2).strip()
            elif current and line.strip():
                args[current] = f"{args[current]} {line.strip()}"
    return summary, args


def _annotated_description(annotation: Any) -> str | None:
    """The description an ``Annotated[..., Field(description=...)]`` carries, if any."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, FieldInfo) and meta.description:
                return meta.description
    return None


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated ``title`` keys: noise in a prompt."""
    if isinstance(schema, dict):
        return {
            k: _strip_titles(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def build_tool(
    function: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_ms: float | None = None,
) -> RegisteredTool:
    """Describe ``function`` as a tool.

    Args:
        function: A function whose parameters are all annotated (except a
            :class:`ToolContext` one, which must be annotated as such).
        name: Tool name; default the function's name.
        description: Default the docstring's first paragraph.
        timeout_ms: The tool's own deadline in ms.

    Returns:
        The registered-tool value (not yet in any registry).

    Raises:
        ToolDefinitionError: The name breaks the rule, a parameter is untyped or variadic.
    """
    tool_name = name or function.__name__
    if not _NAME.match(tool_name):
        raise ToolDefinitionError(f"tool name {tool_name!r} must match {_NAME.pattern}")
    if tool_name.startswith(RESERVED_PREFIX):
        raise ToolDefinitionError(
            f"tool name {tool_name!r}: the prefix {RESERVED_PREFIX!r} is reserved for handoffs"
        )
    summary, arg_docs = _docstring_parts(function.__doc__)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot resolve a type hint: {exc}") from exc
    fields: dict[str, Any] = {}
    context_parameter: str | None = None
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(f"tool {tool_name!r}: *{param.name} is not allowed")
        if param.name not in hints:
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {param.name!r} needs a type annotation"
            )
        annotation = hints[param.name]
        if annotation is ToolContext:
            context_parameter = param.name
            continue
        default = ... if param.default is param.empty else param.default
        if isinstance(default, FieldInfo):
            info = default
        elif _annotated_description(annotation) is None and param.name in arg_docs:
            info = Field(default=default, description=arg_docs[param.name])
        else:
            info = Field(default=default)
        fields[param.name] = (annotation, info)
    model = create_model(
        f"{tool_name}_arguments",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False),
        **fields,
    )
    schema = _strip_titles(model.model_json_schema())
    schema.setdefault("properties", {})
    schema["type"] = "object"
    parameters: dict[str, JsonValue] = schema
    spec = ToolSpec(
        name=tool_name,
        description=(description or summary or tool_name).strip(),
        parameters=parameters,
    )
    return RegisteredTool(
        name=tool_name,
        description=spec.description,
        function=function,
        arguments=model,
        spec=spec,
        timeout_ms=timeout_ms,
        context_parameter=context_parameter,
        is_async=inspect.iscoroutinefunction(function),
    )


class ToolRegistry:
    """The tools of one application; register with :meth:`tool`.

    One registry per app (or per test); bootstrap builds it from the tools module.
    """

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    @overload
    def tool(self, function: F) -> F: ...

    @overload
    def tool(
        self,
        function: None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_ms: float | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        function: F | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_ms: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register a function as a tool; use as ``@registry.tool`` or ``@registry.tool(...)``.

        Args:
            function: The function (when used without arguments).
            name: Tool name; default the function's name.
            description: Default the docstring's first paragraph.
            timeout_ms: The tool's own deadline in ms (the executor uses the smaller of this
                and the caller's).

        Returns:
            The function itself, unchanged (it stays callable in tests).

        Raises:
            ToolDefinitionError: See :func:`build_tool`; or the name is taken.
        """

        def register(fn: F) -> F:
            self.add(build_tool(fn, name=name, description=description, timeout_ms=timeout_ms))
            return fn

        return register(function) if function is not None else register

    def add(self, tool: RegisteredTool) -> None:
        """Add a built tool.

        Raises:
            ToolDefinitionError: A tool with that name exists.
        """
        if tool.name in self._tools:
            raise ToolDefinitionError(f"tool {tool.name!r} is registered twice")
        self._tools[tool.name] = tool

    def get(self, name: str) -> RegisteredTool:
        """The named tool.

        Raises:
            KeyError: Unknown name.
        """
        return self._tools[name]

    def names(self) -> frozenset[str]:
        """Names of every registered tool."""
        return frozenset(self._tools)

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        """Specs of the named tools, in order.

        Raises:
            KeyError: Names that are not registered (all of them, in the message).
        """
        missing = [n for n in names if n not in self._tools]
        if missing:
            raise KeyError(f"unknown tools: {', '.join(missing)}")
        return [self._tools[n].spec for n in names]

    def __iter__(self) -> Iterator[RegisteredTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools
