"""Text-mode test conversations on the bank agents: turns, tool doubles, models, DTMF, silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.testing import (
    ConversationEnded,
    ScriptedLanguageModel,
    ScriptedTurn,
    ToolCall,
    conversation,
)
from tests.unit.testkit.conftest import BANK


async def test_a_stolen_card_is_handed_to_the_fraud_desk_which_opens_a_case() -> None:
    async with conversation(BANK, model="offline") as convo:
        greeting = await convo.start()
        greeting.expect.says(contains="Parley Bank").no_tool_calls()
        assert convo.greeting is greeting
        turn = await convo.user_says("I think someone stole my card")
        turn.expect.handoff_to("fraud").tool_call("report_fraud", result="FR-2001")
        turn.expect.says(contains="fraud case FR-2001")
        assert convo.agent == "fraud" and turn.agent == "fraud"
        turn = await convo.user_says("yes lock my card ending in 4242")
        turn.expect.next_event().is_tool_call("lock_card", args={"last_four": "4242"})
    assert [t.index for t in convo.turns] == [0, 1, 2]
    assert 'turn 2 (text) · caller: "yes lock my card ending in 4242"' in convo.transcript()


async def test_each_conversation_gets_fresh_tools() -> None:
    for _ in range(2):
        async with conversation(BANK, model="offline") as convo:
            turn = await convo.user_says("I want to report fraud")
            turn.expect.tool_call("report_fraud", result="FR-2001")  # not FR-2002


async def test_a_mocked_tool_answers_instead_and_records_its_calls() -> None:
    async with conversation(BANK, model="offline") as convo:
        double = convo.mock_tool(
            "check_balance", returns={"account": "checking", "balance": "0.00"}
        )
        turn = await convo.user_says("what is my balance")
        turn.expect.tool_call("check_balance", result="0.00").says(contains="0.00 dollars")
        assert double.calls == [{"account": "checking"}]
        convo.unmock_tool("check_balance")
        turn = await convo.user_says("what is my balance")
        turn.expect.says(contains="2,450.75")


async def test_a_mocked_tool_keeps_the_real_schema_and_its_validation() -> None:
    model = ScriptedLanguageModel(
        [ScriptedTurn(tool_calls=(ToolCall("c1", "lock_card", {"last_four": "12"}),)), "Hm."]
    )
    async with conversation(BANK, model=model) as convo:
        double = convo.mock_tool("lock_card", returns={"status": "locked"})
        turn = await convo.user_says("lock it")
        turn.expect.tool_call("lock_card", is_error=True, result="invalid arguments")
        assert double.calls == []
    offered = {spec.name: spec for spec in model.requests[0].tools}
    assert offered["lock_card"].parameters["properties"]["last_four"]["pattern"] == r"^\d{4}$"


async def test_a_failing_tool_double_gives_the_model_an_error_result() -> None:
    async with conversation(BANK, model="offline") as convo:
        convo.mock_tool("lock_card", raises="card service down")
        turn = await convo.user_says("lock my card ending in 4242")
        turn.expect.tool_call("lock_card", is_error=True, result="lock_card failed")
        with pytest.raises(KeyError, match="no such tool"):
            convo.mock_tool("unlock_card", returns={})
        with pytest.raises(ValueError, match="exactly one"):
            convo.mock_tool("lock_card")


async def test_a_side_effect_double_computes_from_the_arguments_it_declares() -> None:
    async with conversation(BANK, model="offline") as convo:
        convo.mock_tool("lock_card", side_effect=lambda last_four: {"status": f"held {last_four}"})
        turn = await convo.user_says("lock my card ending in 4242")
        turn.expect.tool_call("lock_card", result="held 4242")


async def test_a_transfer_ends_the_call_and_later_actions_say_so() -> None:
    async with conversation(BANK, model="offline") as convo:
        turn = await convo.user_says("I want to talk to a person")
        turn.expect.transfer("+14255550100").next_event().is_speech(contains="colleague")
        assert convo.ended and turn.end_reason == "transfer"
        with pytest.raises(ConversationEnded, match="call ended: transfer"):
            await convo.user_says("hello?")


async def test_a_scripted_model_sees_the_model_options_and_dtmf_digits() -> None:
    model = ScriptedLanguageModel(
        [
            ScriptedTurn(tool_calls=(ToolCall("c1", "lock_card", {"last_four": "4242"}),)),
            "Locked.",
        ]
    )
    async with conversation(
        BANK, model=model, model_options={"temperature": 0.0, "seed": 7}
    ) as convo:
        turn = await convo.dtmf("4242#")
        turn.expect.tool_call("lock_card", args={"last_four": "4242"}).says(equals="Locked.")
    first = model.requests[0]
    assert first.messages[-1].text == "4242"
    assert (first.options.temperature, first.options.seed, first.options.agent) == (
        0.0,
        7,
        "concierge",
    )


async def test_digits_without_the_submit_key_go_after_the_inter_digit_timeout() -> None:
    model = ScriptedLanguageModel(["Thanks."])
    async with conversation(BANK, model=model) as convo:
        turn = await convo.dtmf("42")
        turn.expect.says(contains="Thanks")
    assert model.requests[0].messages[-1].text == "42"


async def test_silence_in_text_mode_runs_the_no_input_timers() -> None:
    async with conversation(BANK, model="offline") as convo:
        (await convo.silence(7000)).expect.no_more_events()
        (await convo.silence(2000)).expect.says(contains="Are you still there")


async def test_the_configured_model_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARLEY_LLM", "fake")  # the echo model of the selection table
    async with conversation(BANK, model="configured", env_file=tmp_path / "none.env") as convo:
        turn = await convo.user_says("hello there")
        turn.expect.says(equals="You said: hello there.")


async def test_an_unknown_model_option_or_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model option"):
        conversation(BANK, model="offline", model_options={"temprature": 0})
    with pytest.raises(ValueError, match="unknown model 'gpt'"):
        async with conversation(BANK, model="gpt") as convo:  # type: ignore[arg-type]
            await convo.start()
