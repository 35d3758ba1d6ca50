"""Mapping between Parley's chat values and the chat-completions wire shapes.

Wire shapes: OpenAI API reference "Chat completions - Create" (``messages``, ``tools``,
``tool_calls``, ``tool_call_id``, the optional ``name`` on a message) and the streaming
"chat completion chunk" object (``choices[].delta.tool_calls[]`` fragments keyed by ``index``).

Decisions (also in the adapter's docstring):

* **Agent names / handoff context.** Each assistant message carries the agent that spoke.
  ``agent_names="name"`` (default) sends it in the message's ``name`` field (sanitised to
  ``^[a-zA-Z0-9_-]{1,64}$``), which the model sees without learning to write a prefix itself.
  ``"prefix"`` writes ``[agent] `` before the text of messages from *other* agents than the
  active one, for OpenAI-compatible servers that drop ``name`` (llama.cpp, some vLLM
  templates). ``"none"`` sends neither. The handoff itself travels as the handoff tool call and
  its tool result, which the domain keeps in the history.
* **Interrupted assistant messages** arrive already truncated to the words the caller heard;
  ``interrupted_marker`` (default ``" —"``) is appended so the model knows it was cut off
  and does not assume the caller heard the rest. A marker made of punctuation is not read
  back as words if the model imitates it. An interrupted message with no heard words and no
  tool calls is left out: the caller heard nothing of it.
* **Malformed tool-call arguments** (not JSON, or JSON that is not an object) become
  ``{"_raw": "<text as received>"}``: the tool executor then fails that one call with a clear
  error that goes back to the model as a tool result, and the model can correct itself; the
  turn is not lost. Empty arguments mean ``{}``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ports.chat import ChatMessage, JsonValue, Role, ToolCall, ToolSpec

logger = logging.getLogger(__name__)

AgentNames = Literal["name", "prefix", "none"]

RAW_ARGUMENTS_KEY = "_raw"
"""Key holding undecodable tool-call arguments as received."""

_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]")


def wire_name(agent: str) -> str:
    """An agent name as a valid message ``name`` (``^[a-zA-Z0-9_-]{1,64}$``)."""
    return _NAME_BAD.sub("_", agent)[:64] or "agent"


def tool_to_wire(tool: ToolSpec) -> dict[str, Any]:
    """A :class:`~ports.chat.ToolSpec` as a chat-completions ``function`` tool."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": dict(tool.parameters),
        },
    }


def _call_to_wire(call: ToolCall) -> dict[str, Any]:
    arguments = dict(call.arguments)
    raw = arguments.get(RAW_ARGUMENTS_KEY)
    if len(arguments) == 1 and isinstance(raw, str):
        text = raw  # send back exactly what the model wrote
    else:
        text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": text}}


def messages_to_wire(
    messages: Iterable[ChatMessage],
    *,
    active_agent: str | None,
    agent_names: AgentNames = "name",
    interrupted_marker: str = " —",
) -> list[dict[str, Any]]:
    """Map the domain history to chat-completions ``messages``.

    Args:
        messages: History, starting with the active agent's system message.
        active_agent: The agent answering now (``ModelOptions.agent``); with
            ``agent_names="prefix"`` only other agents' messages are prefixed.
        agent_names: How assistant messages carry their agent (see module docstring).
        interrupted_marker: Appended to interrupted assistant text.

    Returns:
        JSON-ready message dicts, in order.
    """
    wire: list[dict[str, Any]] = []
    for message in messages:
        role = message.role
        if role is Role.TOOL:
            wire.append(
                {
                    "role": "tool",
                    "tool_call_id": message.tool_call_id or "",
                    "content": message.text,
                }
            )
            continue
        if role is not Role.ASSISTANT:
            wire.append({"role": role.value, "content": message.text})
            continue
        text = message.text
        if message.interrupted:
            if not text.strip() and not message.tool_calls:
                continue
            if text.strip():
                text = text.rstrip() + interrupted_marker
        entry: dict[str, Any] = {"role": "assistant"}
        if message.agent and agent_names == "name":
            entry["name"] = wire_name(message.agent)
        elif message.agent and agent_names == "prefix" and message.agent != active_agent and text:
            text = f"[{message.agent}] {text}"
        entry["content"] = text if text or not message.tool_calls else None
        if message.tool_calls:
            entry["tool_calls"] = [_call_to_wire(call) for call in message.tool_calls]
        wire.append(entry)
    return wire


def decode_arguments(raw: str) -> dict[str, JsonValue]:
    """Decode assembled tool-call arguments; malformed text becomes ``{"_raw": raw}``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        logger.warning("model sent tool-call arguments that are not JSON (%d chars)", len(raw))
        return {RAW_ARGUMENTS_KEY: raw}
    if not isinstance(value, dict):
        logger.warning("model sent tool-call arguments that are not a JSON object")
        return {RAW_ARGUMENTS_KEY: raw}
    return value


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Assembles streamed ``tool_calls`` fragments, keyed by ``index``, into complete calls.

    The first fragment of a call carries ``id``, ``type`` and ``function.name``; later ones
    carry only ``index`` and an ``arguments`` piece. Calls may interleave (parallel tool
    calls), so everything is keyed by index, never by arrival order.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, index: int, call_id: str | None, name: str | None, arguments: str | None) -> None:
        """Add one fragment."""
        partial = self._calls.get(index)
        if partial is None:
            partial = self._calls[index] = _PartialCall()
        if call_id:
            partial.id = call_id
        if name:
            # Some OpenAI-compatible servers stream the name in pieces too.
            partial.name = name if not partial.name or partial.name == name else partial.name + name
        if arguments:
            partial.arguments.append(arguments)

    def complete(self) -> tuple[ToolCall, ...]:
        """The calls in index order, arguments decoded (see :func:`decode_arguments`)."""
        calls = []
        for index in sorted(self._calls):
            partial = self._calls[index]
            calls.append(
                ToolCall(
                    id=partial.id or f"call_{index}",
                    name=partial.name,
                    arguments=decode_arguments("".join(partial.arguments)),
                )
            )
        return tuple(calls)


def tools_to_wire(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Every tool as a wire ``function`` tool, in order."""
    return [tool_to_wire(tool) for tool in tools]
