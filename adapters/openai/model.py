"""``OpenAILanguageModel``: the ``LanguageModel`` port over streaming chat completions.

One request per turn: ``chat.completions.create(stream=True, tools=...,
stream_options={"include_usage": True})`` (OpenAI API reference "Chat completions - Create";
Azure OpenAI REST reference "Chat completions"). Chunk facts (docs/wire-protocols.md,
"Azure OpenAI chat completions (SSE)"): Azure may first send ``choices: []`` with
``prompt_filter_results``; then a role delta, content deltas (Azure adds
``content_filter_results``), ``tool_calls`` fragments keyed by ``index``, a ``finish_reason``,
with ``include_usage`` a last ``choices: []`` chunk carrying ``usage``, then ``data: [DONE]``.

Behaviour:

* **Text** deltas are yielded the moment their chunk is parsed.
* **Tool calls** are assembled by index (:class:`~adapters.openai.mapping.ToolCallAssembler`)
  and yielded once, complete, when ``finish_reason`` arrives (not after the usage chunk), so
  tools can start at once. Malformed arguments become ``{"_raw": text}`` (see
  :mod:`adapters.openai.mapping`).
* **Usage** is yielded after the tool calls, then :class:`~ports.language_model.ResponseDone`.
* **Content filter**: ``finish_reason == "content_filter"``, a ``400`` whose code is
  ``content_filter``, or an in-stream error with that code raise
  :class:`~ports.errors.ContentFilteredError` (text already yielded stays yielded; the domain
  speaks its safe line).
* **Timeouts** (all seconds, :class:`ModelTimeouts`): connect (the client's ``httpx2`` timeout),
  time to first token (request sent -> first content or tool-call delta, retries included) and
  total (request sent -> end of stream). Each await is bounded by ``asyncio.timeout_at`` on its
  own, never across a ``yield``: a deadline scope spanning a yield would cancel whichever code
  the consumer runs at that moment.
* **Retries** (tenacity): 429 (honouring ``retry-after-ms`` / ``retry-after``, capped), 5xx and
  connection failures, only while no token has arrived ("token": a content or tool-call
  delta, or a finish reason). A wait that would end past the first-token deadline is not
  taken: the failure is raised at once (a 429 stays ``RateLimitedError`` with the service's
  ``retry_after_s``). A failure once tokens have flowed ends the response: the port error is
  raised from the generator. The SDK's own retries are off (``max_retries=0``).
* **Cancellation**: ``aclose()`` on the generator, or cancelling the task iterating it, closes
  the HTTP response at once (the connection is dropped, the server sees the disconnect); no
  further chunk is read.
* **Malformed chunks**: a ``data:`` line that is not JSON ends the SDK's stream; the adapter
  raises :class:`~ports.errors.ProviderUnavailableError` (retried if no token had arrived). A
  JSON chunk of an unexpected shape is dropped and counted (``malformed_chunks``); the
  response goes on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from adapters.openai.errors import PORT, is_retryable, map_openai_error, retry_after_s
from adapters.openai.mapping import AgentNames, ToolCallAssembler, messages_to_wire, tools_to_wire
from adapters.resilience.retry import run_retrying
from ports.chat import ChatMessage, ToolSpec
from ports.errors import (
    ContentFilteredError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from ports.language_model import (
    ModelOptions,
    ResponseDone,
    ResponseEvent,
    TextDelta,
    ToolCallsRequested,
    Usage,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelTimeouts:
    """Deadlines of one response, seconds (connect is the client's, see ``client.py``).

    Attributes:
        first_token_s: Request sent -> first content or tool-call delta, retries included.
        total_s: Request sent -> end of the stream.
    """

    first_token_s: float = 10.0
    total_s: float = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries before the first token.

    Attributes:
        max_attempts: Attempts in all (1 = no retry).
        initial_backoff_s: First backoff when the service gave no ``retry-after``.
        max_backoff_s: Cap of the exponential backoff.
        max_retry_after_s: Longest ``retry-after`` honoured; a longer one is not waited
            for: the :class:`~ports.errors.RateLimitedError` is raised instead.
    """

    max_attempts: int = 3
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0
    max_retry_after_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ModelDefaults:
    """Request options used when :class:`~ports.language_model.ModelOptions` leaves them None.

    Attributes:
        model: Model name, or the Azure deployment name.
        temperature: Sampling temperature (``None``: the service's default).
        max_tokens: Completion token cap (``None``: no cap sent).
        max_tokens_param: ``max_tokens`` (vLLM, Ollama, older Azure models) or
            ``max_completion_tokens`` (newer OpenAI/Azure models, which refuse the former).
        parallel_tool_calls: Default for parallel tool calls (``None``: not sent).
        seed: Sampling seed (``None``: not sent).
    """

    model: str = "gpt-4o-mini"
    temperature: float | None = None
    max_tokens: int | None = None
    max_tokens_param: str = "max_tokens"
    parallel_tool_calls: bool | None = None
    seed: int | None = None


@dataclass(slots=True)
class _ResponseState:
    calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    finish_reason: str | None = None
    usage: Usage | None = None


class _NoFirstToken(Exception):  # noqa: N818 - internal signal
    """The stream ended before any token (and before a finish reason)."""


class OpenAILanguageModel:
    """The :class:`~ports.language_model.LanguageModel` port over the ``openai`` SDK.

    One instance serves every call of a process over one shared client (connection pool).
    See the module docstring for streaming, retry, timeout, cancellation and error rules.

    Args:
        client: ``AsyncOpenAI`` or ``AsyncAzureOpenAI`` built by
            :func:`~adapters.openai.client.create_client` (SDK retries off).
        defaults: Request options for fields ``ModelOptions`` leaves ``None``.
        timeouts: First-token and total deadlines.
        retry: Retry policy before the first token.
        agent_names: How assistant messages carry their agent (``name`` field, ``prefix``,
            ``none``); see :mod:`adapters.openai.mapping`.
        interrupted_marker: Appended to interrupted (truncated) assistant text.
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        defaults: ModelDefaults | None = None,
        timeouts: ModelTimeouts | None = None,
        retry: RetryPolicy | None = None,
        agent_names: AgentNames = "name",
        interrupted_marker: str = " —",
    ) -> None:
        self._client = client
        self._defaults = defaults or ModelDefaults()
        self._timeouts = timeouts or ModelTimeouts()
        self._retry = retry or RetryPolicy()
        # Built once, copied per request with the request's wait (adapters/resilience/retry.py).
        self._retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self._retry.max_attempts)),
            retry=retry_if_exception(_retryable_before_first_token),
            before_sleep=_log_retry,
            reraise=True,
        )
        self._agent_names: AgentNames = agent_names
        self._marker = interrupted_marker
        self.malformed_chunks = 0
        """Chunks dropped for an unexpected shape, since start (for metrics)."""

    def request_params(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        options: ModelOptions,
    ) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one response.

        Args:
            messages: History, starting with the active agent's system message.
            tools: Tools the model may call (handoff tools included).
            options: Per-agent options; ``None`` fields take :class:`ModelDefaults`.

        Returns:
            JSON-ready keyword arguments (``stream=True``, usage included).
        """
        d = self._defaults
        params: dict[str, Any] = {
            "model": options.model or d.model,
            "messages": messages_to_wire(
                messages,
                active_agent=options.agent,
                agent_names=self._agent_names,
                interrupted_marker=self._marker,
            ),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        temperature = options.temperature if options.temperature is not None else d.temperature
        if temperature is not None:
            params["temperature"] = temperature
        max_tokens = options.max_tokens if options.max_tokens is not None else d.max_tokens
        if max_tokens is not None:
            params[d.max_tokens_param] = max_tokens
        seed = options.seed if options.seed is not None else d.seed
        if seed is not None:
            params["seed"] = seed
        if tools:
            params["tools"] = tools_to_wire(tools)
            parallel = (
                options.parallel_tool_calls
                if options.parallel_tool_calls is not None
                else d.parallel_tool_calls
            )
            # The API refuses parallel_tool_calls without tools, hence only here.
            if parallel is not None:
                params["parallel_tool_calls"] = parallel
        return params

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        options: ModelOptions,
    ) -> AsyncGenerator[ResponseEvent, None]:
        """Stream a response (see the module docstring for the rules).

        Yields:
            ``TextDelta`` per content delta, at most one ``ToolCallsRequested``, at most one
            ``Usage``, then ``ResponseDone``.

        Raises:
            ProviderTimeoutError: First-token or total deadline passed, or connect timed out.
            RateLimitedError: 429 after the retries (``retry_after_s`` set when the service
                said).
            ContentFilteredError: The prompt or the completion was filtered.
            AuthenticationError: The key or token was refused.
            ProviderUnavailableError: Connection failed, 5xx after retries, the stream broke
                or a chunk was not JSON.
            ProviderError: Any other refusal (bad request).
        """
        return self._stream(self.request_params(messages, tools, options))

    async def _stream(self, params: dict[str, Any]) -> AsyncGenerator[ResponseEvent, None]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        total_deadline = start + self._timeouts.total_s
        first_deadline = min(start + self._timeouts.first_token_s, total_deadline)
        stream, pending = await self._open(params, first_deadline, total_deadline)
        state = _ResponseState()
        try:
            while True:
                if pending:
                    chunk = pending.pop(0)
                else:
                    chunk = await self._next_chunk(stream, total_deadline)
                    if chunk is None:
                        break
                for event in self._events(chunk, state):
                    yield event
            if state.finish_reason is None:
                raise ProviderUnavailableError("the stream ended before a finish_reason", port=PORT)
            if state.usage is not None:
                yield state.usage
            yield ResponseDone(
                "tool_calls" if state.finish_reason == "function_call" else state.finish_reason
            )
        finally:
            # Runs on aclose(), on cancellation and on error: drop the connection now.
            await stream.close()

    def _events(self, chunk: Any, state: _ResponseState) -> list[ResponseEvent]:
        """The port events one chunk gives (Azure's ``choices: []`` chunks give none)."""
        events: list[ResponseEvent] = []
        try:
            usage = chunk.usage
            if usage is not None:
                state.usage = Usage(
                    prompt_tokens=int(usage.prompt_tokens or 0),
                    completion_tokens=int(usage.completion_tokens or 0),
                )
            choices = chunk.choices or ()
            if not isinstance(choices, list | tuple):
                raise TypeError("choices is not a list")
            for choice in choices:
                index = choice.index
                if not isinstance(index, int):
                    raise TypeError("choice without an integer index")
                if index:  # n > 1 is never requested; ignore strays
                    continue
                delta = choice.delta
                if delta is not None:
                    content = delta.content
                    if content:
                        if not isinstance(content, str):
                            raise TypeError("delta content is not text")
                        events.append(TextDelta(content))
                    for part in delta.tool_calls or ():
                        function = part.function
                        state.calls.add(
                            part.index,
                            part.id,
                            function.name if function is not None else None,
                            function.arguments if function is not None else None,
                        )
                if choice.finish_reason and state.finish_reason is None:
                    state.finish_reason = str(choice.finish_reason)
                    if state.finish_reason == "content_filter":
                        raise ContentFilteredError(
                            "the completion was filtered (finish_reason content_filter)",
                            port=PORT,
                        )
                    if state.calls:
                        events.append(ToolCallsRequested(state.calls.complete()))
        except (AttributeError, TypeError, ValueError):
            self.malformed_chunks += 1
            logger.warning("dropped a chat-completions chunk of unexpected shape")
        return events

    async def _next_chunk(self, chunks: AsyncIterator[Any], deadline: float) -> Any | None:
        try:
            async with asyncio.timeout_at(deadline):
                return await anext(chunks)
        except StopAsyncIteration:
            return None
        except TimeoutError as exc:
            raise ProviderTimeoutError(
                f"the response took longer than {self._timeouts.total_s:g} s", port=PORT
            ) from exc
        except openai.OpenAIError as exc:
            raise map_openai_error(exc) from exc
        except ValueError as exc:  # json.JSONDecodeError from the SDK's SSE decoder
            raise ProviderUnavailableError(
                f"the service sent a chunk that is not JSON: {exc}", port=PORT
            ) from exc

    async def _open(
        self, params: dict[str, Any], first_deadline: float, total_deadline: float
    ) -> tuple[openai.AsyncStream[Any], list[Any]]:
        """Send the request and read up to the first token, retrying before it.

        Returns:
            The open stream and the chunks read so far (the last one holds the first token,
            a finish reason, or the stream ended).
        """
        try:
            async with asyncio.timeout_at(first_deadline):
                return await run_retrying(
                    self._retrying,
                    functools.partial(self._attempt, params),
                    wait=functools.partial(self._wait, first_deadline=first_deadline),
                )
        except TimeoutError as exc:
            reason = (
                "total"
                if first_deadline >= total_deadline
                else f"first-token ({self._timeouts.first_token_s:g} s)"
            )
            raise ProviderTimeoutError(f"no token before the {reason} deadline", port=PORT) from exc
        except ProviderError:
            raise
        except _NoFirstToken as exc:
            raise ProviderUnavailableError("the stream ended before any token", port=PORT) from exc
        except openai.OpenAIError as exc:
            raise map_openai_error(exc) from exc
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"the service sent a chunk that is not JSON: {exc}", port=PORT
            ) from exc

    async def _attempt(self, params: dict[str, Any]) -> tuple[openai.AsyncStream[Any], list[Any]]:
        stream: openai.AsyncStream[Any] = await self._client.chat.completions.create(**params)
        pending: list[Any] = []
        try:
            while True:
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    raise _NoFirstToken from None
                pending.append(chunk)
                if _has_token(chunk):
                    return stream, pending
        except BaseException:
            await stream.close()
            raise

    def _wait(self, state: RetryCallState, *, first_deadline: float) -> float:
        """Seconds before the next attempt: the service's ``retry-after``, else backoff.

        Raises:
            ProviderError: The wait would end past the first-token deadline or exceed
                ``max_retry_after_s``: the last failure, mapped, is raised now rather than a
                timeout later (a 429 stays a ``RateLimitedError`` with the service's figure).
        """
        policy = self._retry
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = None
        if isinstance(exc, openai.APIStatusError):
            asked = retry_after_s(exc.response.headers)
        if asked is not None:
            wait = asked
        else:
            backoff = policy.initial_backoff_s * (2 ** max(0, state.attempt_number - 1))
            wait = min(policy.max_backoff_s, backoff) * random.uniform(0.5, 1.0)  # noqa: S311
        remaining = first_deadline - asyncio.get_running_loop().time()
        too_long = (asked is not None and asked > policy.max_retry_after_s) or wait >= remaining
        if too_long and exc is not None:
            if isinstance(exc, openai.OpenAIError):
                raise map_openai_error(exc) from exc
            reason = (
                "the stream ended before any token"
                if isinstance(exc, _NoFirstToken)
                else f"{type(exc).__name__}: {exc}"
            )
            raise ProviderUnavailableError(reason, port=PORT) from exc
        return float(wait)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    logger.warning(
        "language model attempt %d failed before the first token (%s); retrying in %.2f s",
        state.attempt_number,
        type(exc).__name__,
        wait,
    )


def _retryable_before_first_token(exc: BaseException) -> bool:
    if isinstance(exc, _NoFirstToken):
        return True
    if isinstance(exc, ValueError) and not isinstance(exc, openai.OpenAIError):
        return True  # a non-JSON chunk before any token: the next attempt may be clean
    return is_retryable(exc)


def _has_token(chunk: Any) -> bool:
    for choice in getattr(chunk, "choices", None) or ():
        delta = getattr(choice, "delta", None)
        if delta is not None and (delta.content or delta.tool_calls):
            return True
        if getattr(choice, "finish_reason", None):
            return True
    return False
