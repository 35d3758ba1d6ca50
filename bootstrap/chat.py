"""Text conversations through the domain: ``parley chat`` and the text-mode ``parley demo``.

:class:`TextConversation` drives the domain :class:`~domain.session.Conversation` with typed
turns instead of audio: a line of text becomes a final transcript, ``Speak`` commands are
shown instead of synthesised (and reported as played at once), model responses stream from the
configured :class:`ports.LanguageModel`, and tools run through the configured
:class:`ports.ToolExecutor`. Time is virtual: each event advances a counter, timers that keep
a text turn going (end of turn) fire before the next line is read, and the no-input timer
never fires (a typist is not a silent caller).

Everything shown goes to a ``show`` callback as :class:`ChatLine` values, so the CLI renders
them with rich and tests collect them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.commands import (
    CancelResponse,
    CancelTimer,
    Command,
    EmitTranscript,
    HandOffTo,
    HangUp,
    RunTool,
    Speak,
    StartResponse,
    StartTimer,
    TransferCall,
)
from domain.events import (
    CallEnded,
    CallStarted,
    Event,
    FinalTranscript,
    PlaybackCompleted,
    ResponseCompleted,
    ResponseFailed,
    ResponseTextDelta,
    TimerFired,
    ToolCompleted,
)
from domain.events import ToolCallsRequested as ToolCallsEvent
from domain.session import Conversation, Phase, SessionState
from ports import (
    JsonObject,
    LanguageModel,
    ParleyError,
    ProviderTimeoutError,
    ResponseDone,
    TextDelta,
    ToolCallsRequested,
    ToolExecutor,
    TranscriptEntry,
)

_MS_PER_CHAR = 65.0
"""Virtual playback time per character (about 15 characters per second of speech)."""
_NO_INPUT = "no_input"


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One thing to show.

    Attributes:
        kind: ``agent`` (a spoken line), ``user``, ``tool_call``, ``tool_result``, ``handoff``,
            ``transfer``, ``hang_up``, ``error``.
        text: The words or a summary.
        agent: Active agent, when known.
        data: Extra fields (tool name and arguments, handoff source and target).
    """

    kind: str
    text: str = ""
    agent: str | None = None
    data: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Respond:
    command: StartResponse


@dataclass(frozen=True, slots=True)
class _Tool:
    command: RunTool


class TextConversation:
    """One text conversation through the domain.

    Args:
        conversation: The domain conversation (agent graph and policies).
        llm: The language model.
        tools: The tool executor.
        show: Receives every line to show.
        call_id: Id of this conversation (tools may see it).
        response_timeout_s: Deadline of one model response.
    """

    def __init__(
        self,
        conversation: Conversation,
        llm: LanguageModel,
        tools: ToolExecutor,
        show: Callable[[ChatLine], None],
        *,
        call_id: str = "chat",
        response_timeout_s: float = 60.0,
    ) -> None:
        self._conversation = conversation
        self._llm = llm
        self._tools = tools
        self._show = show
        self._call_id = call_id
        self._timeout_s = response_timeout_s
        self._state: SessionState = conversation.initial_state(call_id)
        self._now = 0.0
        self._timers: dict[str, tuple[float, int]] = {}
        self._cancelled: set[str] = set()
        self.transcript: list[TranscriptEntry] = []
        self.end_reason: str | None = None

    @property
    def ended(self) -> bool:
        """True once the conversation hung up, transferred or was closed."""
        return self.end_reason is not None or self._state.phase is Phase.ENDED

    @property
    def agent(self) -> str:
        """The active agent's name."""
        return str(getattr(self._state, "agent", ""))

    async def start(self) -> None:
        """Start the call: the start agent's greeting is shown."""
        await self._run([CallStarted(at_ms=self._tick(), call_id=self._call_id)])

    async def say(self, text: str) -> None:
        """One caller turn; returns when the agent has answered (and tools have run)."""
        if self.ended or not text.strip():
            return
        self._show(ChatLine("user", text.strip(), self.agent))
        await self._run([FinalTranscript(at_ms=self._tick(), text=text.strip())])

    async def close(self, reason: str = "remote_closed") -> None:
        """End the conversation from the caller's side."""
        if self._state.phase is not Phase.ENDED:
            await self._run([CallEnded(at_ms=self._tick(), reason=reason)])
        self.end_reason = self.end_reason or reason

    def _tick(self, ms: float = 10.0) -> float:
        self._now += ms
        return self._now

    async def _run(self, first: list[Event]) -> None:
        queue: deque[Event | _Respond | _Tool] = deque(first)
        while True:
            while queue:
                item = queue.popleft()
                if isinstance(item, _Respond):
                    queue.extend(await self._respond(item.command))
                elif isinstance(item, _Tool):
                    queue.append(await self._run_tool(item.command))
                else:
                    step = self._conversation.step(self._state, item)
                    self._state = step.state
                    for command in step.commands:
                        queue.extend(self._execute(command))
            due = self._next_timer()
            if due is None:
                return
            queue.append(due)

    def _next_timer(self) -> TimerFired | None:
        pending = [
            (at, name, token) for name, (at, token) in self._timers.items() if name != _NO_INPUT
        ]
        if not pending or self.ended:
            return None
        at, name, token = min(pending)
        del self._timers[name]
        self._now = max(self._now, at)
        return TimerFired(at_ms=self._now, name=name, token=token)

    def _execute(self, command: Command) -> list[Event | _Respond | _Tool]:
        if isinstance(command, Speak):
            self._show(ChatLine("agent", command.text, self.agent))
            duration = len(command.text) * _MS_PER_CHAR
            return [
                PlaybackCompleted(
                    at_ms=self._tick(duration), speech_id=command.speech_id, duration_ms=duration
                )
            ]
        if isinstance(command, StartResponse):
            return [_Respond(command)]
        if isinstance(command, CancelResponse):
            self._cancelled.add(command.response_id)
            return []
        if isinstance(command, RunTool):
            args: JsonObject = dict(command.call.arguments)
            self._show(
                ChatLine(
                    "tool_call",
                    command.call.name,
                    self.agent,
                    {"name": command.call.name, "arguments": args},
                )
            )
            return [_Tool(command)]
        if isinstance(command, HandOffTo):
            self._show(
                ChatLine(
                    "handoff",
                    command.reason,
                    command.to_agent,
                    {"from": command.from_agent, "to": command.to_agent},
                )
            )
            return []
        if isinstance(command, TransferCall):
            self._show(ChatLine("transfer", command.target, self.agent, {"reason": command.reason}))
            self.end_reason = "transfer"
            return [CallEnded(at_ms=self._tick(), reason="transfer")]
        if isinstance(command, HangUp):
            self._show(ChatLine("hang_up", command.reason, self.agent))
            self.end_reason = "hang_up"
            return [CallEnded(at_ms=self._tick(), reason="hang_up")]
        if isinstance(command, StartTimer):
            self._timers[command.name] = (self._now + command.delay_ms, command.token)
            return []
        if isinstance(command, CancelTimer):
            self._timers.pop(command.name, None)
            return []
        if isinstance(command, EmitTranscript):
            self.transcript.append(command.entry)
        return []  # StopPlayback, SaveSession: nothing to do in text

    async def _respond(self, command: StartResponse) -> list[Event | _Respond | _Tool]:
        rid = command.response_id
        try:
            specs = [*self._tools.specs(command.tool_names), *command.extra_tools]
        except KeyError as exc:
            self._show(ChatLine("error", f"unknown tool: {exc}", self.agent))
            return [ResponseFailed(at_ms=self._tick(), response_id=rid, error_code="unknown_tool")]
        events: list[Event | _Respond | _Tool] = []
        stream = self._llm.stream(command.messages, specs, command.options)
        try:
            async with asyncio.timeout(self._timeout_s):
                async for item in stream:
                    if rid in self._cancelled:
                        break
                    if isinstance(item, TextDelta):
                        events.append(ResponseTextDelta(self._tick(1), rid, item.text))
                    elif isinstance(item, ToolCallsRequested):
                        events.append(ToolCallsEvent(self._tick(1), rid, item.calls))
                    elif isinstance(item, ResponseDone):
                        events.append(ResponseCompleted(self._tick(1), rid))
        except TimeoutError:
            error: ParleyError = ProviderTimeoutError("response timed out", port="language_model")
            self._show(ChatLine("error", f"language model: {error.code}", self.agent))
            events.append(ResponseFailed(self._tick(), rid, error.code))
        except ParleyError as exc:
            self._show(ChatLine("error", f"language model: {exc.code}: {exc}", self.agent))
            events.append(ResponseFailed(self._tick(), rid, exc.code))
        finally:
            await stream.aclose()
        return events

    async def _run_tool(self, command: RunTool) -> Event:
        result = await self._tools.run(
            command.call, timeout_ms=command.timeout_ms, call_id=self._call_id
        )
        data: dict[str, Any] = {"name": command.call.name, "is_error": result.is_error}
        if result.action is not None:
            data["action"] = type(result.action).__name__
        self._show(ChatLine("tool_result", result.content, self.agent, data))
        return ToolCompleted(at_ms=self._tick(), response_id=command.response_id, result=result)
