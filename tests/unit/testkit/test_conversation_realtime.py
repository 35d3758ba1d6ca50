"""Realtime-mode test conversations: the realtime runtime over a scripted realtime service.

The service hears the caller's words as given and answers with the conversation's own
language model, so the expectations written for text and voice mode hold here too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.memory.realtime import FakeRealtimeSession
from bootstrap.testkit.realtime_mode import RealtimeDriver
from domain.runtime import RuntimeConfig
from parley.testing import (
    AgentSaid,
    Interrupted,
    ScriptedLanguageModel,
    ScriptedTurn,
    TestConversation,
    conversation,
)
from ports import Role, ToolCall
from tests.unit.testkit.conftest import BANK
from tests.unit.testkit.test_conversation_voice import StalledModel


def session_of(convo: TestConversation) -> FakeRealtimeSession:
    driver = convo._driver  # noqa: SLF001 (the test looks at the service side)
    assert isinstance(driver, RealtimeDriver)
    assert driver.session is not None
    return driver.session


def requests(session: FakeRealtimeSession, kind: str) -> list[object]:
    return [payload for name, payload in session.requests if name == kind]


async def test_the_caller_talks_over_the_greeting_and_the_service_keeps_the_words_heard() -> None:
    async with conversation(BANK, model="offline", mode="realtime") as convo:
        await convo.start(until="agent_speaks")
        turn = await convo.caller_interrupts(after_ms=800, saying="what is my balance")
        turn.expect.next_event().is_interruption()
        turn.expect.next_event(kind="tool_call").is_tool_call("check_balance")
        turn.expect.says(contains="2,450.75").interrupted(heard_contains="Thank you")
        assert turn.latency_ms is not None and turn.latency_ms > 0
        session = session_of(convo)
        [(item_id, audio_end_ms)] = requests(session, "truncate")  # type: ignore[misc]
        # Truncated past the 800 ms the caller waited, short of the whole greeting (8 s).
        assert 800 <= audio_end_ms < 3000
        cut = next(e for e in turn.events if isinstance(e, Interrupted))
        greeting = session.history[0]
        assert greeting.interrupted and greeting.text == cut.heard
        assert cut.heard is not None and 0 < len(cut.heard.split()) < 8


async def test_answers_come_from_the_conversations_model_with_the_agents_request() -> None:
    model = ScriptedLanguageModel(
        [ScriptedTurn(tool_calls=(ToolCall("c1", "check_balance", {}),)), "You have 2,450.75."]
    )
    async with conversation(BANK, model=model, mode="realtime") as convo:
        turn = await convo.user_says("how much money do I have")
        turn.expect.tool_call("check_balance", result="2,450.75").says(equals="You have 2,450.75.")
    first, second = model.requests
    assert first.messages[0].role is Role.SYSTEM
    assert first.messages[0].text.startswith("You are the phone concierge")
    assert first.messages[-1].text == "how much money do I have"
    assert first.options.agent == "concierge"
    assert "check_balance" in {tool.name for tool in first.tools}
    # The tool result went to the service as function call output, then the model answered.
    assert second.messages[-1].role is Role.TOOL and "2,450.75" in second.messages[-1].text


async def test_a_handoff_reconfigures_the_service_for_the_new_agent() -> None:
    async with conversation(BANK, model="offline", mode="realtime") as convo:
        turn = await convo.user_says("I think someone stole my card")
        turn.expect.handoff_to("fraud").tool_call("report_fraud")
        turn.expect.says(contains="fraud case FR-2001")
        assert convo.agent == "fraud"
        updates = requests(session_of(convo), "update")
        assert updates[-1].instructions.startswith("You are the fraud specialist")  # type: ignore[attr-defined]


async def test_a_wordless_sound_is_a_false_interruption_and_the_agent_resumes() -> None:
    async with conversation(BANK, model="offline", mode="realtime") as convo:
        await convo.user_says("what are my recent transactions", until="agent_speaks")
        turn = await convo.caller_interrupts(after_ms=1000)
        turn.expect.next_event(kind="interrupted").is_interruption()
        after = turn.events[turn.expect.contains_event("interrupted").index + 1 :]
        assert any(isinstance(e, AgentSaid) and "Skyline" in e.text for e in after)
        turn.expect.no_tool_calls()


async def test_keys_reach_the_model_as_the_callers_turn() -> None:
    model = ScriptedLanguageModel(["Got it."])
    async with conversation(BANK, model=model, mode="realtime") as convo:
        turn = await convo.dtmf("4242#")
        turn.expect.says(equals="Got it.")
        [added] = requests(session_of(convo), "add_messages")
    assert [m.text for m in added] == ["4242"]  # type: ignore[attr-defined]
    assert model.requests[0].messages[-1].text == "4242"


async def test_a_failing_model_is_a_failed_response_and_the_agent_apologises() -> None:
    model = ScriptedLanguageModel([])  # exhausted: every request fails as unavailable
    async with conversation(BANK, model=model, mode="realtime") as convo:
        turn = await convo.user_says("what is my balance")
        turn.expect.says(contains="Sorry, I had trouble with that")


async def test_a_stalled_model_meets_the_runtimes_first_response_deadline() -> None:
    config = RuntimeConfig(first_token_timeout_ms=200.0, watchdog_tick_ms=50.0)
    async with conversation(BANK, model=StalledModel(), mode="realtime", config=config) as convo:  # type: ignore[arg-type]
        async with asyncio.timeout(10):
            turn = await convo.user_says("what is my balance")
        turn.expect.says(contains="Sorry, I had trouble with that")


async def test_realtime_runs_are_deterministic() -> None:
    async def run() -> list[str]:
        async with conversation(BANK, model="offline", mode="realtime") as convo:
            await convo.user_says("I think someone stole my card")
            await convo.user_says("yes lock my card ending in 4242", until="agent_speaks")
            await convo.caller_interrupts(after_ms=300, saying="thank you goodbye")
        return [f"{e.at_ms:.1f} {e!r}" for e in convo.events]

    assert await run() == await run()


async def test_an_agent_files_realtime_section_applies(bank_copy: Path) -> None:
    concierge = bank_copy / "concierge.yaml"
    concierge.write_text(
        concierge.read_text() + "realtime:\n  voice: alloy\n  turn_detection: parley\n"
    )
    async with conversation(bank_copy, model="offline", mode="realtime") as convo:
        turn = await convo.user_says("what is my balance")
        turn.expect.tool_call("check_balance").says(contains="2,450.75")
        session = session_of(convo)
        # Parley's VAD found the end of speech and committed the caller's audio itself.
        assert requests(session, "commit_input")
        assert session.config.voice == "alloy"
