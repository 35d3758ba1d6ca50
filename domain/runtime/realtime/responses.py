"""The realtime call's responses: ``StartResponse``, fixed lines, ``CancelResponse``, tools.

The service runs one response at a time, so requests wait in a queue and the next is sent
when the previous one has finished. Before a model response is requested, the service's
conversation is brought up to date with the domain's history (caller input it did not hear,
such as DTMF, and every tool result, the handoff answers the domain writes included) and, when
the active agent changed (a handoff), the session is updated with the new agent's
instructions, tools and voice. A reconnected session gets the whole history replayed.

Service events of a response become the conversation's events: transcript deltas
``ResponseTextDelta``, function calls ``ToolCallsRequested``, the end ``ResponseCompleted`` or
``ResponseFailed``; its audio goes to the output's track. Tools run as in the cascade
(:class:`~domain.runtime.model.ModelWork`), and their results reach the service as
``function_call_output`` items before the next response.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from domain import commands as cmds
from domain import events as ev
from domain.agents import AgentGraph
from domain.conversation.config import handoff_spec
from domain.conversation.failures import TEXT_TO_SPEECH
from domain.runtime.model import ModelWork
from domain.runtime.realtime.config import RealtimeDeps
from domain.runtime.realtime.link import PORT, SessionLink
from domain.runtime.realtime.output import RealtimeOutput
from ports import ChatMessage, Role, ToolSpec
from ports.realtime import (
    FunctionCall,
    RealtimeConfig,
    RealtimeSession,
    ResponseAudio,
    ResponseFinished,
    ResponseRequest,
    ResponseStarted,
    ResponseTranscript,
    TurnDetection,
)

logger = logging.getLogger(__name__)


def _words(text: str) -> str:
    return " ".join(text.lower().split())


class _Request:
    """One response asked of the service (a model response or a fixed line)."""

    __slots__ = ("cancelled", "command", "first", "key", "line", "service_id")

    def __init__(self, key: str, command: cmds.StartResponse | None, line: str | None) -> None:
        self.key = key
        self.command = command
        self.line = line
        self.service_id: str | None = None
        self.cancelled = False
        self.first = True


class RealtimeResponses(ModelWork):
    """Responses, lines and tools of one realtime call.

    Takes :class:`~domain.runtime.model.ModelWork`'s arguments, plus (set by the call before
    it starts) ``link``, ``output``, ``realtime`` and ``graph``.
    """

    link: SessionLink
    output: RealtimeOutput
    realtime: RealtimeDeps
    graph: AgentGraph
    history: Callable[[], tuple[list[ChatMessage], int]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending: deque[_Request] = deque()
        self._active: _Request | None = None
        self._by_service: dict[str, _Request] = {}
        self._agent = ""
        self.parley_vad = False
        """Turn detection is ``parley`` for the agent the session is configured for."""
        self._synced = 0
        self._finals: deque[str] = deque()
        self._outputs_sent: set[str] = set()
        self._ignored: set[str] = set()

    def bind(
        self,
        *,
        link: SessionLink,
        output: RealtimeOutput,
        realtime: RealtimeDeps,
        graph: AgentGraph,
        history: Callable[[], tuple[list[ChatMessage], int]],
    ) -> None:
        """Attach the call's session, output and configuration (once, before the start)."""
        self.link = link
        self.output = output
        self.realtime = realtime
        self.graph = graph
        self.history = history

    # configuration -----------------------------------------------------------------

    def config_for(self, agent: str) -> RealtimeConfig:
        """The session configuration while ``agent`` is active."""
        spec = self.graph.get(agent) or self.graph.get(self.graph.start)
        assert spec is not None  # noqa: S101 (the graph is validated)
        tools: tuple[ToolSpec, ...] = (
            *self._tools.specs(spec.tools),
            *(handoff_spec(target) for target in spec.handoffs),
        )
        return self.realtime.config_for(spec, tools)

    def configured(self, agent: str) -> RealtimeConfig:
        """Remember that the session is configured for ``agent``; its configuration."""
        self._agent = agent
        config = self.config_for(agent)
        self.parley_vad = config.turn_detection.mode is TurnDetection.PARLEY
        return config

    @property
    def agent(self) -> str:
        """The agent the session is configured for."""
        return self._agent

    def heard_final(self, text: str) -> None:
        """The service transcribed a caller item as ``text`` (it has that input already)."""
        self._finals.append(_words(text))

    # commands ----------------------------------------------------------------------

    def in_flight(self) -> list[asyncio.Task[None]]:
        """Tool tasks not finished yet (responses run at the service, not in tasks)."""
        return super().in_flight()

    def start_response(self, command: cmds.StartResponse) -> None:
        """Queue a model response for ``command`` (its track opens now, in command order)."""
        rid = command.response_id
        self.output.open_track(rid)
        self.trace.model_request_started(
            rid, self._clock.now_ms(), agent=command.agent, model=command.options.model
        )
        self._pending.append(_Request(rid, command, None))
        self._pump()

    def request_line(self, speech_id: str, text: str) -> None:
        """Queue a response that speaks ``text`` as clause ``speech_id`` (output's callback)."""
        self._pending.append(_Request(speech_id, None, text))
        self._pump()

    def cancel_response(self, response_id: str) -> None:
        """Cancel ``response_id`` at the service (or before it was sent) and its tools."""
        super().cancel_response(response_id)
        self._cancel(response_id)
        self.output.discard(response_id)

    def dropped(self, keys: list[str]) -> None:
        """Playback of these tracks was stopped: their responses are not wanted any more."""
        for key in keys:
            self._cancel(key)

    def _cancel(self, key: str) -> None:
        for req in self._pending:
            if req.key == key:
                self._pending.remove(req)
                self._end_trace(req, "cancelled")
                return
        active = self._active
        if active is not None and active.key == key and not active.cancelled:
            active.cancelled = True
            self._end_trace(active, "cancelled")
            self.link.request(lambda session: session.cancel_response())

    # the queue -----------------------------------------------------------------------

    def _pump(self) -> None:
        if self._active is not None or not self._pending:
            return
        if self.link.lost is not None:
            while self._pending:
                self._fail(self._pending.popleft(), self.link.lost)
            return
        req = self._pending.popleft()
        self._active = req
        self.link.request(lambda session: self._send(session, req), lambda c: self._failed(req, c))
        self._tasks.spawn(self._deadline(req), "realtime-deadline")

    async def _send(self, session: RealtimeSession, req: _Request) -> None:
        if req.cancelled:
            self._finished(req)
            return
        command = req.command
        if command is None:
            await session.create_response(ResponseRequest(line=req.line))
            return
        await self._sync(session, command.messages[1:])
        if command.agent != self._agent:
            await session.update(self.configured(command.agent))
        await session.create_response(ResponseRequest())

    async def _sync(self, session: RealtimeSession, history: Sequence[ChatMessage]) -> None:
        """Send the history the service has not seen.

        That is caller text it did not hear and tool results; its own speech and the caller
        audio it transcribed are there already.
        """
        new = history[self._synced :]
        self._synced = len(history)
        for message in new:
            if message.role is Role.USER:
                if not self._consume_finals(_words(message.text)):
                    await session.add_messages([message])
            elif (
                message.role is Role.TOOL
                and message.tool_call_id
                and message.tool_call_id not in self._outputs_sent
            ):
                self._outputs_sent.add(message.tool_call_id)
                await session.send_tool_output(message.tool_call_id, message.text)

    def _consume_finals(self, text: str) -> bool:
        finals = self._finals
        for index, final in enumerate(finals):
            if final and text.startswith(final):
                for _ in range(index + 1):
                    finals.popleft()
                rest = text[len(final) :].strip()
                while finals and rest and rest.startswith(finals[0]):
                    rest = rest[len(finals.popleft()) :].strip()
                return True
        return False

    async def _deadline(self, req: _Request) -> None:
        await self._clock.sleep(self._config.first_token_timeout_ms)
        if self._active is req and req.first and not req.cancelled:
            logger.warning("call %s: no response from the realtime service", self._call_id)
            self.link.request(lambda session: session.cancel_response())
            self._fail(req, "timeout")

    def _failed(self, req: _Request, code: str) -> None:
        if self._active is req or req in self._pending:
            self._fail(req, code)

    def _fail(self, req: _Request, code: str) -> None:
        """``req`` cannot be answered: the conversation hears it as a failure."""
        if self._active is req:
            self._active = None
        if req.service_id is not None:
            self._by_service.pop(req.service_id, None)
        self.output.finish(req.key)
        if not req.cancelled:
            req.cancelled = True
            self._end_trace(req, code)
            now = self._clock.now_ms()
            self._metrics.provider_error(PORT, code)
            if req.command is not None:
                self._listener.feed(ev.ResponseFailed(now, req.key, code))
            else:
                self._listener.feed(ev.ProviderFailed(now, TEXT_TO_SPEECH, code))
        self._pump()

    def _finished(self, req: _Request) -> None:
        if self._active is req:
            self._active = None
        self.output.finish(req.key)
        self._pump()

    def _end_trace(self, req: _Request, outcome: str) -> None:
        if req.command is not None:
            self.trace.model_request_ended(req.key, self._clock.now_ms(), outcome=outcome)

    # service events ------------------------------------------------------------------

    def started(self, event: ResponseStarted) -> None:
        """The service started a response: ours (the active request), or one to cancel."""
        active = self._active
        if active is not None and active.service_id is None:
            active.service_id = event.response_id
            self._by_service[event.response_id] = active
            return
        self._ignored.add(event.response_id)
        self.link.request(lambda session: session.cancel_response())

    def _request_of(self, service_id: str) -> _Request | None:
        req = self._by_service.get(service_id)
        if req is None or req.cancelled:
            return None
        if req.first:
            req.first = False
            if req.command is not None:
                now = self._clock.now_ms()
                self._latency.first_token(now)
                self.trace.model_first_token(req.key, now)
        return req

    def audio(self, event: ResponseAudio) -> None:
        """A chunk of a response's audio: to its track."""
        req = self._request_of(event.response_id)
        if req is not None:
            self.output.audio(req.key, event.item_id, event.frame)

    def transcript(self, event: ResponseTranscript) -> None:
        """The response's words, for the conversation (a line's text is known already)."""
        req = self._request_of(event.response_id)
        if req is not None and req.command is not None and event.text:
            self._listener.feed(ev.ResponseTextDelta(self._clock.now_ms(), req.key, event.text))

    def function_call(self, event: FunctionCall) -> None:
        """A complete function call of a model response."""
        req = self._request_of(event.response_id)
        if req is not None and req.command is not None:
            self._outputs_sent.discard(event.call.id)
            now = self._clock.now_ms()
            self._listener.feed(ev.ToolCallsRequested(now, req.key, (event.call,)))

    def finished(self, event: ResponseFinished) -> None:
        """A response ended: its track finishes, the conversation hears how it went."""
        self._ignored.discard(event.response_id)
        req = self._by_service.pop(event.response_id, None)
        if req is None:
            return
        if req.cancelled:
            self._finished(req)
            return
        if req.command is not None:
            self.trace.model_usage(req.key, event.input_tokens, event.output_tokens)
        if event.status == "failed" or event.error_code == "content_filtered":
            self._fail(req, event.error_code or "provider_error")
            return
        self._end_trace(req, "ok")
        now = self._clock.now_ms()
        if req.command is not None:
            self._listener.feed(ev.ResponseCompleted(now, req.key))
        self._finished(req)

    def reconnected(self) -> None:
        """The service forgot the conversation: replay the history.

        The response in flight is lost (the conversation hears a failure).
        """
        history, committed = self.history()
        # The reply still playing is replayed too, but joins the conversation's history only
        # once played: the sync then skips it as assistant speech the service has.
        self._synced = committed
        self._finals.clear()
        self._outputs_sent = {m.tool_call_id for m in history if m.tool_call_id}
        active = self._active
        agent = self._agent
        self.link.request(lambda session: session.add_messages(history))
        if active is not None:
            self._fail(active, "unavailable")
        logger.info("call %s: realtime session replayed (%s)", self._call_id, agent)

    def rate_limited(self, code: str) -> None:
        """The service refused for load: a request it has not started yet fails."""
        active = self._active
        if active is not None and active.service_id is None:
            self._fail(active, code)

    def lost(self, code: str) -> None:
        """The session is gone for good: every request fails."""
        active = self._active
        if active is not None:
            self._fail(active, code)
        while self._pending:
            self._fail(self._pending.popleft(), code)
