"""One call's model responses and tool calls (``StartResponse``, ``CancelResponse``, ``RunTool``).

A response streams from the language model in an owned task, its first event within
``first_token_timeout_ms`` and each later one within ``token_timeout_ms`` (watchdog guards on
the call's clock); its events go to the conversation as they arrive. A tool runs in an owned
task within its own timeout plus ``tool_timeout_margin_ms``; cancelling a response cancels the
tools it started. Voice and text calls share this code (``domain.runtime.call``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig
from domain.runtime.errors import error_code
from domain.runtime.latency import LatencyTracker
from domain.runtime.tasks import TaskOwner, Watchdog
from ports import (
    CallMetrics,
    Clock,
    JsonObject,
    LanguageModel,
    ProviderError,
    ResponseDone,
    ResponseEvent,
    TextDelta,
    ToolCallsRequested,
    ToolExecutor,
    ToolResult,
    UpdateKind,
    Usage,
)
from ports.tracing import NO_CALL_TRACE, CallTrace

logger = logging.getLogger(__name__)


class ModelListener(Protocol):
    """What model work reports to its call (synchronously, on the loop)."""

    def feed(self, event: ev.Event) -> None:
        """Give an event to the conversation."""
        ...

    def notify(self, kind: UpdateKind, text: str = "", *, data: JsonObject | None = None) -> None:
        """Show an update to the call's observer."""
        ...


class _Response:
    """A model stream in flight."""

    __slots__ = ("closed", "response_id", "task")

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.task: asyncio.Task[None] | None = None
        self.closed = False


class ModelWork:
    """The responses and tools in flight for one call.

    Args:
        llm: The language model.
        tools: Tool specs and runner.
        config: Runtime tuning (model and tool deadlines, port timeout).
        clock: The call's clock.
        metrics: Gets ``provider_error("language_model", code)`` per failed response.
        tasks: The call's task owner.
        watchdog: Enforces the per-event model deadlines.
        latency: Marks time to first token.
        listener: The call.
        call_id: The call (tools see it).
    """

    def __init__(
        self,
        *,
        llm: LanguageModel,
        tools: ToolExecutor,
        config: RuntimeConfig,
        clock: Clock,
        metrics: CallMetrics,
        tasks: TaskOwner,
        watchdog: Watchdog,
        latency: LatencyTracker,
        listener: ModelListener,
        call_id: str,
    ) -> None:
        self._llm = llm
        self._tools = tools
        self._config = config
        self._clock = clock
        self._metrics = metrics
        self._tasks = tasks
        self._watchdog = watchdog
        self._latency = latency
        self._listener = listener
        self._call_id = call_id
        self._responses: dict[str, _Response] = {}
        self._tool_tasks: dict[str, set[asyncio.Task[None]]] = {}
        self.trace: CallTrace = NO_CALL_TRACE
        """The call's trace (set when the call starts)."""

    def in_flight(self) -> list[asyncio.Task[None]]:
        """Response and tool tasks not finished yet."""
        work = [r.task for r in self._responses.values() if r.task is not None]
        for tasks in self._tool_tasks.values():
            work.extend(tasks)
        return [task for task in work if not task.done()]

    def start_response(self, command: cmds.StartResponse) -> None:
        """Stream ``command``'s response in a new task (replacing one with the same id)."""
        previous = self._responses.get(command.response_id)
        if previous is not None:
            self.cancel_response(command.response_id)
        response = _Response(command.response_id)
        self._responses[command.response_id] = response
        response.task = self._tasks.spawn(self._respond(response, command), "response")

    def cancel_response(self, response_id: str) -> None:
        """Stop the response ``response_id`` and every tool it started, synchronously."""
        response = self._responses.pop(response_id, None)
        if response is not None and not response.closed:
            response.closed = True
            if response.task is not None and response.task is not asyncio.current_task():
                response.task.cancel()
        current = asyncio.current_task()
        for task in self._tool_tasks.pop(response_id, ()):
            if task is not current:
                task.cancel()

    async def _respond(self, response: _Response, command: cmds.StartResponse) -> None:
        clock = self._clock
        rid = command.response_id
        limit_ms = self._config.first_token_timeout_ms
        guard = self._watchdog.guard()
        first = True
        stream: AsyncGenerator[ResponseEvent, None] | None = None
        failure: str | None = None
        completed = False
        trace = self.trace
        trace.model_request_started(
            rid, clock.now_ms(), agent=command.agent, model=command.options.model
        )
        try:
            tools = [*self._tools.specs(command.tool_names), *command.extra_tools]
            stream = self._llm.stream(command.messages, tools, command.options)
            while True:
                guard.arm(limit_ms)
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    break
                finally:
                    guard.armed = False
                now = clock.now_ms()
                if first and type(item) is not ResponseDone:
                    first = False
                    limit_ms = self._config.token_timeout_ms
                    self._latency.first_token(now)
                    trace.model_first_token(rid, now)
                if type(item) is TextDelta:
                    self._listener.feed(ev.ResponseTextDelta(now, rid, item.text))
                elif type(item) is ToolCallsRequested:
                    self._listener.feed(ev.ToolCallsRequested(now, rid, item.calls))
                elif type(item) is ResponseDone:
                    break
                elif type(item) is Usage:
                    trace.model_usage(rid, item.prompt_tokens, item.completion_tokens)
                if response.closed:
                    return
            completed = True
        except asyncio.CancelledError:
            if response.closed or not guard.expired():
                raise
            failure = "timeout"
        except KeyError as exc:
            logger.error("response %s names an unregistered tool: %s", rid, exc)
            failure = "unknown_tool"
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            if not isinstance(exc, ProviderError):
                logger.exception("language model raised a non-port error")
            failure = error_code(exc)
        finally:
            outcome = failure or ("ok" if completed and not response.closed else "cancelled")
            trace.model_request_ended(rid, clock.now_ms(), outcome=outcome)
            if stream is not None:
                try:
                    async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                        await stream.aclose()
                except Exception:  # noqa: BLE001 (closing must not fail the call)
                    logger.debug("closing a model stream failed", exc_info=True)
        if response.closed:
            return
        response.closed = True
        if self._responses.get(rid) is response:
            del self._responses[rid]
        now = clock.now_ms()
        if failure is None:
            self._listener.feed(ev.ResponseCompleted(now, rid))
        else:
            logger.warning("response %s failed: %s", rid, failure)
            self._metrics.provider_error("language_model", failure)
            self._listener.feed(ev.ResponseFailed(now, rid, failure))

    async def _tool(self, command: cmds.RunTool) -> None:
        call = command.call
        limit_s = (command.timeout_ms + self._config.tool_timeout_margin_ms) / 1000.0
        try:
            async with asyncio.timeout(limit_s):
                result = await self._tools.run(
                    call, timeout_ms=command.timeout_ms, call_id=self._call_id
                )
        except TimeoutError:
            result = ToolResult(call.id, f"tool {call.name} timed out", is_error=True)
        except Exception:
            logger.exception("tool executor raised for %s", call.name)
            result = ToolResult(call.id, f"tool {call.name} failed", is_error=True)
        self.trace.tool_ended(
            call.id, self._clock.now_ms(), outcome="error" if result.is_error else "ok"
        )
        data: JsonObject = {"id": call.id, "name": call.name, "is_error": result.is_error}
        if result.action is not None:
            data["action"] = type(result.action).__name__
        self._listener.notify(UpdateKind.TOOL_RESULT, result.content, data=data)
        self._listener.feed(ev.ToolCompleted(self._clock.now_ms(), command.response_id, result))

    def run_tool(self, command: cmds.RunTool) -> None:
        """Run ``command``'s tool in a new task; its result is fed as ``ToolCompleted``."""
        call = command.call
        self.trace.tool_started(call.id, call.name, self._clock.now_ms(), call.arguments)
        self._listener.notify(
            UpdateKind.TOOL_CALL,
            command.call.name,
            data={"id": command.call.id, "arguments": dict(command.call.arguments)},
        )
        task = self._tasks.spawn(self._tool(command), "tool")
        bucket = self._tool_tasks.setdefault(command.response_id, set())
        bucket.add(task)

        def forget(done: asyncio.Task[None], rid: str = command.response_id) -> None:
            tasks = self._tool_tasks.get(rid)
            if tasks is not None:
                tasks.discard(done)
                if not tasks:
                    del self._tool_tasks[rid]

        task.add_done_callback(forget)
