"""Realtime mode: the realtime speech-to-speech runtime over a scripted realtime service.

The call runs in :class:`~domain.runtime.realtime.call.RealtimeCallRun` (the runtime of
``PARLEY_PIPELINE=realtime``: session link, paced playout of response audio, truncation on
barge-in, history sync, tool outputs, session updates on handoff) at 24 kHz, the format ACS is
answered in. The service is :class:`~adapters.memory.realtime.FakeRealtimeModel`:

* it *hears* the caller as voice mode's recogniser does: the caller's loud 20 ms frames are
  speech to its server turn detection (speech stops after 200 ms of quiet), and each speech
  item is transcribed as exactly the words given (a wordless sound as nothing);
* it *answers* with the conversation's own language model (the offline dialog model, a
  scripted fake or a real endpoint, as in the other modes): :class:`ModelResponder` asks that
  model with the agent instructions, tools and history the session holds, as the service's
  model would; the reply is spoken as audio at :data:`AGENT_MS_PER_CHAR` (voice mode's rate),
  and its tool calls come back as function calls;
* on barge-in the runtime truncates the playing item at the audio played, and the service
  keeps only the words heard (the fake cuts the item's text at that point).

Everything else (virtual clock, actions, events, latency as the first audio frame after the
caller's input) is voice mode's. Virtual time follows real time while the model thinks (a
real model's latency shows, the runtime's first-response deadline holds); the service's
streaming of a finished answer takes no virtual time, as a service sends audio faster than
it plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

from adapters.memory.realtime import FakeRealtimeModel, FakeRealtimeSession, FakeReply
from bootstrap.testkit.modes import Wiring
from bootstrap.testkit.voice_mode import AGENT_MS_PER_CHAR, VoiceDriver
from domain.agents import AgentGraph
from domain.runtime import RuntimeDeps
from domain.runtime.call import CallRun
from domain.runtime.realtime import RealtimeDeps
from domain.runtime.realtime.call import RealtimeCallRun
from domain.session import Conversation
from ports import (
    PCM16_24K,
    ChatMessage,
    InboundCall,
    LanguageModel,
    ModelOptions,
    Role,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
)
from ports.realtime import RealtimeConfig

__all__ = ["ModelResponder", "RealtimeDriver"]

STREAM_WAIT_S = 5.0
"""Longest real wait for the fake service to stream a finished answer (it never sleeps)."""
THINK_SETTLES = 10
"""Loop settles (20 rounds each) a model may take before virtual time follows real time."""


class ModelResponder:
    """The scripted service's model: answers a session's history with a language model.

    The request is what the service's model sees: the session's instructions (the active
    agent's) as the system message, its conversation items (the caller's transcribed words,
    the agent's replies and lines as heard, keys typed, tool results) and its tools. The agent
    is the one whose instructions the session carries (``active`` when several agents share
    them); its model options are the agent file's, as in the cascade.

    Args:
        llm: The conversation's language model.
        graph: The agent graph (instructions and model options per agent).
        active: Returns the conversation's active agent.

    Attributes:
        thinking: Model requests in flight (tasks), for the driver of the clock.
    """

    def __init__(self, llm: LanguageModel, graph: AgentGraph, active: Callable[[], str]) -> None:
        self._llm = llm
        self._active = active
        self._by_instructions: dict[str, list[str]] = {}
        for agent in graph.agents:
            self._by_instructions.setdefault(agent.instructions, []).append(agent.name)
        self._options = {
            a.name: a.model if a.model.agent else replace(a.model, agent=a.name)
            for a in graph.agents
        }
        self.thinking: set[asyncio.Task[FakeReply]] = set()

    def __call__(
        self, history: Sequence[ChatMessage], config: RealtimeConfig
    ) -> asyncio.Task[FakeReply]:
        """Start answering (a task, awaited by the fake session; cancelled with its response)."""
        task = asyncio.get_running_loop().create_task(
            self._answer(list(history), config), name="realtime-test:model"
        )
        self.thinking.add(task)
        task.add_done_callback(self.thinking.discard)
        return task

    def agent_for(self, instructions: str) -> str:
        """The agent whose instructions these are."""
        names = self._by_instructions.get(instructions, [])
        active = self._active()
        return names[0] if len(names) == 1 or (names and active not in names) else active

    async def _answer(self, history: list[ChatMessage], config: RealtimeConfig) -> FakeReply:
        agent = self.agent_for(config.instructions)
        messages = [
            ChatMessage(Role.SYSTEM, config.instructions, agent=agent),
            # A sound with no words leaves an empty item: nothing for the model to read.
            *(m for m in history if m.text or m.tool_calls or m.role is Role.TOOL),
        ]
        options = self._options.get(agent) or ModelOptions(agent=agent)
        text: list[str] = []
        calls: list[ToolCall] = []
        async for event in self._llm.stream(messages, config.tools, options):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallsRequested):
                calls.extend(event.calls)
        return FakeReply("".join(text).strip(), tuple(calls))


class RealtimeDriver(VoiceDriver):
    """One realtime conversation (see the module docstring).

    Args:
        wiring: Conversation, model, tools, runtime config and call id.
        agent_ms_per_char: Audio per character of the service's answers, ms.
    """

    mode = "realtime"
    channel = "realtime-test"
    audio_format = PCM16_24K

    def __init__(self, wiring: Wiring, *, agent_ms_per_char: float = AGENT_MS_PER_CHAR) -> None:
        self._agent_options = wiring.realtime
        self.responder = ModelResponder(
            wiring.llm, wiring.conversation.graph, lambda: self._run.state.agent
        )
        self.service = FakeRealtimeModel(
            responder=self.responder, ms_per_char=agent_ms_per_char, chunk_delay_s=0.0
        )
        super().__init__(wiring, agent_ms_per_char=agent_ms_per_char)

    @property
    def session(self) -> FakeRealtimeSession | None:
        """The call's service session (its requests: truncations, tool outputs...), once open."""
        return self.service.sessions[-1] if self.service.sessions else None

    def _call_run(
        self, conversation: Conversation, deps: RuntimeDeps, call: InboundCall
    ) -> CallRun:
        realtime = RealtimeDeps(self.service, agents=self._agent_options)
        return RealtimeCallRun(conversation, deps, self._config, call, realtime)

    def _hear(self, words: str | None) -> None:
        # Every speech item is transcribed: a wordless sound as nothing.
        self.service.add_transcript(words or "")

    def _real_work(self) -> list[asyncio.Task[object]]:
        """Tools and the model thinking (responses run at the service, not in call tasks)."""
        return [*super()._real_work(), *self.responder.thinking]

    async def _tick(self, limit_ms: float) -> None:
        """Voice mode's step, after the service has streamed the answers it has ready."""
        # A model that answers without waiting (the offline one yields once per word) is done
        # within a few loop rounds: no real time to follow, so runs stay deterministic.
        for _ in range(THINK_SETTLES):
            if not self.responder.thinking:
                break
            await self.clock.settle()
        session = self.session
        streaming = session.responding if session is not None else None
        if streaming is not None and not self.responder.thinking:
            await asyncio.wait([streaming], timeout=STREAM_WAIT_S)
        await super()._tick(limit_ms)
