"""The ``LanguageModel`` port: a streamed response for a conversation.

Promise:
    * ``stream(messages, tools, options)`` returns an async generator of
      :data:`ResponseEvent` values: any number of :class:`TextDelta` (yielded as soon as they
      arrive), at most one :class:`ToolCallsRequested` holding complete calls (arguments
      assembled), at most one :class:`Usage`, and finally exactly one :class:`ResponseDone`.
    * ``messages`` starts with the active agent's system message; the model adapter does not
      add instructions of its own.
    * Closing the generator (``aclose()`` or cancelling the iterating task) cancels the request
      at once: no further token is read and the connection is released.
    * Errors, raised while iterating: :class:`~ports.errors.ProviderTimeoutError` (connect,
      first token or total deadline), :class:`~ports.errors.RateLimitedError`,
      :class:`~ports.errors.ContentFilteredError`, :class:`~ports.errors.ProviderUnavailableError`,
      :class:`~ports.errors.AuthenticationError`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from ports.chat import ChatMessage, ToolCall, ToolSpec


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """Per-request options; ``None`` means the adapter's configured default.

    Attributes:
        agent: Name of the active agent (the offline dialog model picks its intents by it).
        model: Model or Azure deployment name.
        temperature: Sampling temperature.
        max_tokens: Completion token cap.
        parallel_tool_calls: Whether the model may request several tools at once.
        seed: Sampling seed, where the provider supports one.
    """

    agent: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A fragment of the assistant's text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallsRequested:
    """Complete tool calls the model asked for, in index order."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of the request.

    Attributes:
        prompt_tokens: Tokens in the prompt.
        completion_tokens: Tokens generated.
    """

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """The response ended normally.

    Attributes:
        finish_reason: Provider finish reason (``stop``, ``tool_calls``, ``length``).
    """

    finish_reason: str = "stop"


ResponseEvent: TypeAlias = TextDelta | ToolCallsRequested | Usage | ResponseDone
"""Everything a response stream yields."""


class LanguageModel(Protocol):
    """A chat model; one instance serves every call of a process."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        options: ModelOptions,
    ) -> AsyncGenerator[ResponseEvent, None]:
        """Stream a response to ``messages`` with ``tools`` available.

        Raises:
            ProviderError: A subclass naming the failure, while iterating.
        """
        ...
