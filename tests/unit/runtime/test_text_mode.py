"""Text mode: the call runtime with a text media side (``domain.runtime.text.TextCall``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    FunctionTool,
    FunctionToolExecutor,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
    ScriptedLanguageModel,
    ScriptedTurn,
)
from domain.agents import AgentGraph, AgentSpec
from domain.policies import ConversationPolicy, ToolPolicy
from domain.runtime import RuntimeConfig, RuntimeDeps
from domain.runtime.text import TextCall
from domain.session import Conversation
from ports import HangUp, LanguageModel, ToolCall, ToolExecutor, ToolResult, ToolSpec, UpdateKind
from tests.unit.runtime.harness import RecordingObserver

AGENT = AgentSpec(name="concierge", greeting="Hello, how can I help?", tools=("slow", "bye"))


def bank_tools() -> FunctionToolExecutor:
    return FunctionToolExecutor(
        [
            FunctionTool(ToolSpec("slow", "answers at once here"), lambda: "ok"),
            FunctionTool(ToolSpec("bye", "ends the call"), lambda: ("bye", HangUp("done"))),
        ]
    )


class StuckTools:
    """A tool executor that ignores its own timeout (a bug the runtime's margin catches)."""

    def specs(self, names: Sequence[str]) -> list[ToolSpec]:
        return [ToolSpec(name, "never returns") for name in names]

    async def run(self, call: ToolCall, *, timeout_ms: float, call_id: str) -> ToolResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


def text_call(
    turns: Sequence[ScriptedTurn | str],
    tools: ToolExecutor | None = None,
    *,
    policy: ConversationPolicy | None = None,
    config: RuntimeConfig | None = None,
    model: LanguageModel | None = None,
) -> tuple[TextCall, RecordingObserver, MemoryTranscriptLog, ScriptedLanguageModel]:
    clock = ManualClock()
    transcripts = MemoryTranscriptLog(clock)
    llm = ScriptedLanguageModel(turns)
    deps = RuntimeDeps(
        stt=FakeSpeechToText(),
        tts=FakeTextToSpeech(),
        vad_factory=FakeVadFactory(),
        llm=model if model is not None else llm,
        tools=tools if tools is not None else bank_tools(),
        sessions=MemorySessionStore(clock),
        transcripts=transcripts,
        clock=clock,
        metrics=RecordingMetrics(),
    )
    observer = RecordingObserver()
    conversation = Conversation(AgentGraph(start="concierge", agents=(AGENT,)), policy)
    call = TextCall(conversation, deps, clock, config=config, observer=observer)
    return call, observer, transcripts, llm


def spoken(observer: RecordingObserver) -> list[str]:
    return [u.text for u in observer.updates if u.kind is UpdateKind.AGENT_TEXT]


async def test_a_typed_turn_is_answered_and_its_turn_closed_before_say_returns() -> None:
    call, observer, transcripts, _ = text_call(["Your balance is 12 dollars."])
    await call.start()
    assert spoken(observer) == ["Hello, how can I help?"]
    await call.say("  what is my balance ")
    assert spoken(observer)[1:] == ["Your balance is 12 dollars."]
    summary = await call.close()
    kinds = [(e.kind, e.text) for e in await transcripts.read("chat") if e.kind != "turn_latency"]
    # The end-of-turn timer fired (the user line is sealed) before the answer was committed.
    assert ("user", "what is my balance") in kinds
    assert kinds.index(("user", "what is my balance")) < kinds.index(
        ("assistant", "Your balance is 12 dollars.")
    )
    assert (summary.end_reason, summary.user_turns, summary.agent_turns) == ("remote_closed", 1, 2)


async def test_the_no_input_timer_never_fires_while_the_caller_types() -> None:
    call, observer, _, _ = text_call(["Sure."])
    await call.start()
    await asyncio.sleep(0.05)  # the caller takes their time
    await call.say("hello")
    await asyncio.sleep(0.05)
    assert AGENT.reprompt not in spoken(observer)
    assert not call.ended
    await call.close()


async def test_a_tool_that_overruns_is_cut_by_the_runtime_margin() -> None:
    turns = [ScriptedTurn(tool_calls=(ToolCall("c1", "slow", {}),)), "It did not answer."]
    call, observer, _, llm = text_call(
        turns,
        StuckTools(),
        policy=ConversationPolicy(tools=ToolPolicy(tool_timeout_ms=10.0)),
        config=RuntimeConfig(tool_timeout_margin_ms=10.0),
    )
    await call.start()
    await call.say("do the slow thing")
    results = [u for u in observer.updates if u.kind is UpdateKind.TOOL_RESULT]
    assert [(u.text, u.data["is_error"]) for u in results] == [("tool slow timed out", True)]
    assert spoken(observer)[-1] == "It did not answer."
    assert llm.requests[-1].messages[-1].text == "tool slow timed out"
    await call.close()


async def test_a_tool_that_hangs_up_ends_the_call() -> None:
    call, observer, _, _ = text_call(
        [ScriptedTurn(tool_calls=(ToolCall("c1", "bye", {}),)), "Goodbye."]
    )
    await call.start()
    await call.say("that is all")
    assert call.ended and call.end_reason == "hang_up"
    assert UpdateKind.CALL_ENDED in [u.kind for u in observer.updates]
    await call.say("hello?")  # ignored once ended
    assert (await call.close()).end_reason == "hang_up"


class SilentModel:
    """A language model that never answers."""

    def stream(self, messages, tools, options):  # type: ignore[no-untyped-def]
        async def events():  # type: ignore[no-untyped-def]
            await asyncio.sleep(3600)
            yield  # pragma: no cover

        return events()


async def test_the_runtime_first_token_deadline_holds_in_text_mode() -> None:
    call, observer, _, _ = text_call(
        [],
        config=RuntimeConfig(first_token_timeout_ms=30.0, watchdog_tick_ms=10.0),
        model=SilentModel(),  # type: ignore[arg-type]
    )
    await call.start()
    async with asyncio.timeout(5):
        await call.say("hello?")
    assert spoken(observer)[-1] == AGENT.fallback
    await call.close()
