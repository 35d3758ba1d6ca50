"""Text conversations through the call runtime: ``parley chat`` and the text-mode ``parley demo``.

:class:`TextConversation` wires a :class:`domain.runtime.text.TextCall` (the call runtime with
a text media side: typed turns are final transcripts, a ``Speak`` completes at once) over the
configured language model and tool executor, with in-memory stores, a virtual clock and fakes
for the audio ports a text call never uses. Every command is executed by the runtime, as in a
voice call; this module only turns the call's updates into :class:`ChatLine` values for a
``show`` callback, so the CLI renders them with rich and tests collect them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
)
from domain.runtime import RuntimeConfig, RuntimeDeps
from domain.runtime.text import TextCall
from domain.session import Conversation
from ports import (
    CallInfo,
    ConversationUpdate,
    JsonObject,
    LanguageModel,
    ToolExecutor,
    TranscriptEntry,
    UpdateKind,
)

_SESSION_TTL_MS = 3_600_000.0
"""Lifetime of the chat's in-memory session and transcript (virtual ms; one chat is shorter)."""


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One thing to show.

    Attributes:
        kind: ``agent`` (a spoken line), ``user``, ``tool_call``, ``tool_result``, ``handoff``,
            ``transfer``, ``hang_up``.
        text: The words or a summary.
        agent: Active agent, when known.
        data: Extra fields (tool name and arguments, handoff source and target).
    """

    kind: str
    text: str = ""
    agent: str | None = None
    data: JsonObject = field(default_factory=dict)


def chat_line(update: ConversationUpdate) -> ChatLine | None:
    """The line to show for a call update, or ``None`` for updates a chat does not show."""
    data, agent = update.data, update.agent
    match update.kind:
        case UpdateKind.AGENT_TEXT:
            return ChatLine("agent", update.text, agent)
        case UpdateKind.TOOL_CALL:
            args = data.get("arguments", {})
            return ChatLine(
                "tool_call", update.text, agent, {"name": update.text, "arguments": args}
            )
        case UpdateKind.TOOL_RESULT:
            shown: JsonObject = {"name": data.get("name"), "is_error": data.get("is_error")}
            if "action" in data:
                shown["action"] = data["action"]
            return ChatLine("tool_result", update.text, agent, shown)
        case UpdateKind.HANDOFF:
            to = str(data.get("to", ""))
            return ChatLine(
                "handoff", str(data.get("reason", "")), to, {"from": data.get("from"), "to": to}
            )
        case UpdateKind.TRANSFER:
            return ChatLine(
                "transfer", str(data.get("target", "")), agent, {"reason": data.get("reason")}
            )
        case UpdateKind.CALL_ENDED if data.get("reason") == "hang_up":
            return ChatLine("hang_up", "hang_up", agent)
    return None


class _Show:
    """The call observer: every update a chat shows goes to ``show``."""

    def __init__(self, show: Callable[[ChatLine], None]) -> None:
        self._show = show

    def on_update(self, update: ConversationUpdate) -> None:
        line = chat_line(update)
        if line is not None:
            self._show(line)


class TextConversation:
    """One text conversation through the call runtime.

    Args:
        conversation: The domain conversation (agent graph and policies).
        llm: The language model.
        tools: The tool executor.
        show: Receives every line to show.
        call_id: Id of this conversation (tools see it).
        config: Runtime tuning (model and tool deadlines); the defaults when omitted.
    """

    def __init__(
        self,
        conversation: Conversation,
        llm: LanguageModel,
        tools: ToolExecutor,
        show: Callable[[ChatLine], None],
        *,
        call_id: str = "chat",
        config: RuntimeConfig | None = None,
    ) -> None:
        clock = ManualClock()
        self._call_id = call_id
        self._show = show
        self._transcripts = MemoryTranscriptLog(clock, _SESSION_TTL_MS)
        deps = RuntimeDeps(
            # A text call never listens or speaks: these audio ports stay unused.
            stt=FakeSpeechToText(),
            tts=FakeTextToSpeech(),
            vad_factory=FakeVadFactory(),
            llm=llm,
            tools=tools,
            sessions=MemorySessionStore(clock, _SESSION_TTL_MS),
            transcripts=self._transcripts,
            clock=clock,
            metrics=RecordingMetrics(),
        )
        self._call = TextCall(
            conversation,
            deps,
            clock,
            config=config,
            info=CallInfo(call_id=call_id, channel="text"),
            observer=_Show(show),
        )

    @property
    def ended(self) -> bool:
        """True once the conversation hung up, transferred or was closed."""
        return self._call.ended

    @property
    def agent(self) -> str:
        """The active agent's name."""
        return self._call.agent

    @property
    def end_reason(self) -> str | None:
        """How the conversation ended, once it has."""
        return self._call.end_reason

    async def start(self) -> None:
        """Start the call: the start agent's greeting is shown."""
        await self._call.start()

    async def say(self, text: str) -> None:
        """One caller turn; returns when the agent has answered (and tools have run)."""
        if self.ended or not text.strip():
            return
        self._show(ChatLine("user", text.strip(), self.agent))
        await self._call.say(text)

    async def close(self, reason: str = "remote_closed") -> None:
        """End the conversation from the caller's side (no-op once it has ended)."""
        await self._call.close(reason)

    async def transcript(self) -> list[TranscriptEntry]:
        """The conversation's transcript so far (messages, events, per-turn records)."""
        return await self._transcripts.read(self._call_id)
