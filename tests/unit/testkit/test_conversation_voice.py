"""Voice-mode test conversations: barge-in, no-input and DTMF scripted on the manual clock."""

from __future__ import annotations

import asyncio

import pytest

from domain.runtime import RuntimeConfig
from parley.testing import (
    AgentSaid,
    Interrupted,
    ModeError,
    ScriptedLanguageModel,
    conversation,
)
from tests.unit.testkit.conftest import BANK


async def test_the_caller_talks_over_the_greeting() -> None:
    async with conversation(BANK, model="offline", mode="voice") as convo:
        greeting = await convo.start(until="agent_speaks")
        # The greeting starts as the call is answered, at virtual time 0.
        assert [e.at_ms for e in greeting.events] == [0.0]
        turn = await convo.caller_interrupts(after_ms=800, saying="what is my balance")
        turn.expect.next_event().is_interruption()
        turn.expect.next_event(kind="tool_call").is_tool_call("check_balance")
        turn.expect.says(contains="2,450.75").interrupted(heard_contains="Thank you")
        assert turn.latency_ms is not None and turn.latency_ms > 0
    cut = next(e for e in turn.events if isinstance(e, Interrupted))
    # 800 ms of the greeting were heard: a few words, not the whole greeting.
    assert cut.heard is not None and 0 < len(cut.heard.split()) < 8


async def test_the_caller_cuts_a_long_answer_and_is_answered() -> None:
    async with conversation(BANK, model="offline", mode="voice") as convo:
        answer = await convo.user_says("what are my recent transactions", until="agent_speaks")
        answer.expect.tool_call("recent_transactions")
        turn = await convo.caller_interrupts(after_ms=1500, saying="lock my card ending in 4242")
        turn.expect.interrupted().tool_call("lock_card", args={"last_four": "4242"})
        turn.expect.says(contains="locked")


async def test_a_wordless_sound_is_a_false_interruption_and_the_agent_resumes() -> None:
    async with conversation(BANK, model="offline", mode="voice") as convo:
        await convo.user_says("what are my recent transactions", until="agent_speaks")
        turn = await convo.caller_interrupts(after_ms=1000)
        turn.expect.next_event(kind="interrupted").is_interruption()
        # The rest of the answer is spoken after the interruption.
        after = turn.events[turn.expect.contains_event("interrupted").index + 1 :]
        assert any(isinstance(e, AgentSaid) and "Skyline" in e.text for e in after)
        turn.expect.no_tool_calls()


async def test_a_silent_caller_is_reprompted_twice_then_the_agent_hangs_up() -> None:
    async with conversation(BANK, model="offline", mode="voice") as convo:
        first = await convo.silence(9000)
        first.expect.says(
            equals="Are you still there? You can ask for your balance or recent transactions."
        )
        (await convo.silence(9000)).expect.says(contains="still there")
        last = await convo.silence(9000)
        last.expect.says(contains="Goodbye").ends_call()
        assert convo.ended
    # Each reprompt came 8 s (the policy's no_input_timeout_ms) after the agent went quiet.
    assert first.events[0].at_ms == pytest.approx(first.started_ms + 8000, abs=100)


async def test_keys_reach_the_model_as_the_callers_turn() -> None:
    model = ScriptedLanguageModel(["Got it."])
    async with conversation(BANK, model=model, mode="voice") as convo:
        turn = await convo.dtmf("4242#")
        turn.expect.says(equals="Got it.")
    assert model.requests[0].messages[-1].text == "4242"


async def test_voice_runs_are_deterministic() -> None:
    async def run() -> list[str]:
        async with conversation(BANK, model="offline", mode="voice") as convo:
            await convo.user_says("I think someone stole my card")
            await convo.user_says("yes lock my card ending in 4242", until="agent_speaks")
            await convo.caller_interrupts(after_ms=300, saying="thank you goodbye")
        return [f"{e.at_ms:.1f} {e!r}" for e in convo.events]

    assert await run() == await run()


async def test_an_interruption_needs_voice_mode_and_a_speaking_agent() -> None:
    async with conversation(BANK, model="offline") as convo:
        with pytest.raises(ModeError, match="needs voice mode"):
            await convo.caller_interrupts(after_ms=500, saying="hello")
    async with conversation(BANK, model="offline", mode="voice") as convo:
        await convo.user_says("what is my balance", until="agent_speaks")
        with pytest.raises(ModeError, match="it had finished speaking"):
            await convo.caller_interrupts(after_ms=60_000, saying="hello")


class StalledModel:
    """A language model that accepts the request and never answers."""

    def stream(self, messages, tools, options):  # type: ignore[no-untyped-def]
        async def events():  # type: ignore[no-untyped-def]
            await asyncio.sleep(3600)
            yield  # pragma: no cover

        return events()


async def test_a_stalled_model_meets_the_runtimes_first_token_deadline() -> None:
    config = RuntimeConfig(first_token_timeout_ms=200.0, watchdog_tick_ms=50.0)
    async with conversation(BANK, model=StalledModel(), mode="voice", config=config) as convo:  # type: ignore[arg-type]
        async with asyncio.timeout(10):
            turn = await convo.user_says("what is my balance")
        turn.expect.says(contains="Sorry, I had trouble with that")
