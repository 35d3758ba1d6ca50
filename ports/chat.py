"""Conversation boundary values: chat messages, tool specs, tool calls and tool results.

These are what the domain hands a language model and what the model hands back. They are
provider-neutral: the OpenAI adapter maps them to the chat-completions wire shape, the offline
dialog model reads them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

JsonValue: TypeAlias = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
"""Any value that survives ``json.dumps`` / ``json.loads`` unchanged."""

JsonObject: TypeAlias = dict[str, JsonValue]
"""A JSON object."""

HANDOFF_TOOL_PREFIX = "handoff_to_"
"""Prefix of the tools the domain offers for handoffs: ``handoff_to_<agent>``.

The domain defines one such tool per handoff target, the tool registry refuses user tools with
this prefix, and the offline dialog model requests them for ``handoff`` intents.
"""


class Role(StrEnum):
    """Who said a message, with the chat-completions role names."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call.

    Attributes:
        name: Function name, ``^[a-zA-Z0-9_-]{1,64}$`` (the OpenAI function-name rule).
        description: What the tool does, for the model.
        parameters: JSON Schema of the arguments object.
    """

    name: str
    description: str
    parameters: Mapping[str, JsonValue] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call requested by the model.

    Attributes:
        id: Provider call id (e.g. ``call_1``); a tool result answers it by this id.
        name: Tool name.
        arguments: Decoded JSON arguments object.
    """

    id: str
    name: str
    arguments: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HandOff:
    """Tool action: make another agent the active one.

    Attributes:
        agent: Name of the target agent in the agent graph.
        reason: Why, carried into the history for the next agent.
    """

    agent: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Tool action: transfer the caller to a participant (phone number or ACS user raw id).

    Attributes:
        target: Raw id or E.164 phone number of the transfer target.
        reason: Why, for the transcript.
    """

    target: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HangUp:
    """Tool action: end the call after the current speech.

    Attributes:
        reason: Why, for the transcript.
    """

    reason: str = ""


ToolAction: TypeAlias = HandOff | TransferCall | HangUp
"""What a tool result may ask the conversation to do besides adding its content."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call.

    Attributes:
        call_id: The :attr:`ToolCall.id` this answers.
        content: Text (often JSON) for the model.
        is_error: True when the tool failed or timed out; ``content`` then says why.
        action: Optional action for the conversation to honour.
    """

    call_id: str
    content: str
    is_error: bool = False
    action: ToolAction | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the conversation history.

    Attributes:
        role: Who said it.
        text: The text; for an interrupted assistant message, only the words the caller heard.
        tool_calls: Tool calls an assistant message requested, in order.
        tool_call_id: For a ``tool`` message, the call it answers.
        agent: Name of the agent that spoke (assistant) or was active (user, tool).
        interrupted: True when the caller barged in and ``text`` is truncated.
    """

    role: Role
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    agent: str | None = None
    interrupted: bool = False
