"""A JSON codec for frozen dataclasses, shared by the session state's ``to_dict``/``from_dict``.

Generic on purpose: it knows dataclasses, enums, tuples and mappings, never a particular
state class, so :mod:`domain.conversation.state` can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from ports import ChatMessage, JsonValue, Role, ToolCall

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


def encode(value: Any) -> JsonValue:
    """Turn ``value`` into JSON-compatible data: tuples become lists, enums their values.

    Raises:
        TypeError: A value of a type the codec does not know.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def build(cls: type[D], data: Mapping[str, Any], **convert: Callable[[Any], Any]) -> D:
    """Build ``cls`` from ``data``; ``convert[name]`` turns a present, non-None field back.

    Fields missing from ``data`` keep their defaults (older states load into newer classes).

    Raises:
        TypeError: A required field is missing or a value does not fit.
    """
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if not f.init or f.name not in data:
            continue
        value = data[f.name]
        conv = convert.get(f.name)
        kwargs[f.name] = conv(value) if conv is not None and value is not None else value
    return cls(**kwargs)


def decode_call(data: Mapping[str, Any]) -> ToolCall:
    """A :class:`~ports.ToolCall` from its encoded form."""
    return ToolCall(str(data["id"]), str(data["name"]), dict(data.get("arguments") or {}))


def decode_message(data: Mapping[str, Any]) -> ChatMessage:
    """A :class:`~ports.ChatMessage` from its encoded form."""
    return build(
        ChatMessage,
        data,
        role=Role,
        tool_calls=lambda v: tuple(decode_call(c) for c in v),
    )
