"""ScriptedLanguageModel: a :class:`ports.LanguageModel` that replays canned turns."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from adapters.memory.history import DEFAULT_HISTORY, check_history, remember
from ports import (
    ChatMessage,
    Clock,
    ModelOptions,
    ParleyError,
    ProviderUnavailableError,
    ResponseDone,
    ResponseEvent,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
    ToolSpec,
    Usage,
)

_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class ScriptedTurn:
    """One canned response.

    Attributes:
        text: Assistant text, streamed as one :class:`~ports.TextDelta` per word (each delta
            carries the word's leading whitespace, so joining the deltas gives ``text``).
        tool_calls: Complete tool calls, yielded as one ``ToolCallsRequested`` after the text.
        error: A port error to raise instead of finishing (e.g. ``RateLimitedError()``).
        fail_after_tokens: How many text deltas are yielded before ``error`` is raised.
        time_to_first_token_ms: Overrides the model's time to first token for this turn.
        finish_reason: Overrides ``"tool_calls"`` / ``"stop"``.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    error: ParleyError | None = None
    fail_after_tokens: int = 0
    time_to_first_token_ms: float | None = None
    finish_reason: str | None = None

    @classmethod
    def failing(cls, error: ParleyError, *, after_tokens: int = 0, text: str = "") -> ScriptedTurn:
        """A turn that yields ``after_tokens`` words of ``text`` and then raises ``error``."""
        return cls(text=text, error=error, fail_after_tokens=after_tokens)


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What the model was asked (recorded for assertions).

    Attributes:
        messages: The conversation sent.
        tools: The tools offered.
        options: The request options.
    """

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...]
    options: ModelOptions


Responder = Callable[[Sequence[ChatMessage], Sequence[ToolSpec], ModelOptions], ScriptedTurn]
"""Computes a turn from the request; used when the script is empty."""


@dataclass(slots=True)
class _Counters:
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    requests: list[ModelRequest] = field(default_factory=list)


class ScriptedLanguageModel:
    """Replays scripted turns, one per ``stream`` call, with realistic streaming timing.

    Each call to :meth:`stream` takes the next turn of the script (a ``str`` is a text-only
    turn). When the script is empty, ``responder`` (if given) computes the turn from the
    request; otherwise the stream raises :class:`~ports.ProviderUnavailableError` ("script
    exhausted"), which tests see as a model failure.

    Timing (only when ``clock`` is given): the first event comes ``time_to_first_token_ms``
    after the call, then one word every ``1000 / tokens_per_second`` ms, on an absolute
    schedule. Without a clock every event is immediate (delays must then be 0).

    Args:
        turns: The script, consumed in order by every ``stream`` call on this instance.
        clock: Time source for the delays.
        time_to_first_token_ms: Delay before the first event, ms.
        tokens_per_second: Word rate after the first; ``None`` or 0 for no delay.
        responder: Fallback for an exhausted script (e.g. an echo bot for local runs).
        history: Most recent requests kept in ``requests``.

    Raises:
        ValueError: A delay is configured without a clock, or ``history`` is below 1.

    Attributes:
        requests: The last ``history`` requests received, in order.
        started / completed / cancelled / failed: Stream counts; ``cancelled`` counts streams
            closed before ``ResponseDone``.
    """

    def __init__(
        self,
        turns: Iterable[ScriptedTurn | str] = (),
        *,
        clock: Clock | None = None,
        time_to_first_token_ms: float = 0.0,
        tokens_per_second: float | None = None,
        responder: Responder | None = None,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        self._history = check_history(history)
        if clock is None and (time_to_first_token_ms > 0 or tokens_per_second):
            raise ValueError("ScriptedLanguageModel needs a clock to apply delays")
        self._turns: deque[ScriptedTurn] = deque(
            ScriptedTurn(text=t) if isinstance(t, str) else t for t in turns
        )
        self._clock = clock
        self._ttft_ms = time_to_first_token_ms
        self._token_ms = 1000.0 / tokens_per_second if tokens_per_second else 0.0
        self._responder = responder
        self._counters = _Counters()

    def add_turn(self, turn: ScriptedTurn | str) -> None:
        """Append a turn to the script."""
        self._turns.append(ScriptedTurn(text=turn) if isinstance(turn, str) else turn)

    @property
    def remaining(self) -> int:
        """Turns left in the script."""
        return len(self._turns)

    @property
    def requests(self) -> list[ModelRequest]:
        """The last ``history`` requests received, in order."""
        return self._counters.requests

    @property
    def started(self) -> int:
        """Streams started."""
        return self._counters.started

    @property
    def completed(self) -> int:
        """Streams that yielded ``ResponseDone``."""
        return self._counters.completed

    @property
    def cancelled(self) -> int:
        """Streams closed by the consumer before ``ResponseDone``."""
        return self._counters.cancelled

    @property
    def failed(self) -> int:
        """Streams that raised a port error."""
        return self._counters.failed

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        options: ModelOptions,
    ) -> AsyncGenerator[ResponseEvent, None]:
        """Stream the next scripted turn.

        Yields:
            ``TextDelta`` per word, then at most one ``ToolCallsRequested``, one ``Usage``
            and one ``ResponseDone``.

        Raises:
            ParleyError: The turn's scripted error, or ``ProviderUnavailableError`` when the
                script is exhausted and there is no responder.
        """
        counters = self._counters
        remember(
            counters.requests, ModelRequest(tuple(messages), tuple(tools), options), self._history
        )
        counters.started += 1
        outcome = "cancelled"
        try:
            turn = self._next_turn(messages, tools, options)
            tokens = _TOKEN.findall(turn.text)
            ttft = (
                self._ttft_ms
                if turn.time_to_first_token_ms is None
                else (turn.time_to_first_token_ms)
            )
            clock = self._clock
            start = clock.now_ms() if clock is not None else 0.0
            if clock is not None and ttft > 0:
                await clock.sleep_until(start + ttft)
            for index, token in enumerate(tokens):
                if turn.error is not None and index >= turn.fail_after_tokens:
                    break
                if clock is not None and index and self._token_ms:
                    await clock.sleep_until(start + ttft + index * self._token_ms)
                yield TextDelta(token)
            if turn.error is not None:
                raise turn.error
            if turn.tool_calls:
                yield ToolCallsRequested(tuple(turn.tool_calls))
            prompt_tokens = sum(len(m.text.split()) for m in messages)
            yield Usage(prompt_tokens=prompt_tokens, completion_tokens=len(tokens))
            outcome = "completed"
            reason = turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")
            yield ResponseDone(finish_reason=reason)
        except ParleyError:
            outcome = "failed"
            raise
        finally:
            if outcome == "completed":
                counters.completed += 1
            elif outcome == "failed":
                counters.failed += 1
            else:
                counters.cancelled += 1

    def _next_turn(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
    ) -> ScriptedTurn:
        if self._turns:
            return self._turns.popleft()
        if self._responder is not None:
            return self._responder(messages, tools, options)
        raise ProviderUnavailableError("script exhausted", port="language_model")
