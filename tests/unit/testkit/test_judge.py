"""The model judge: a language model decides whether the agent's words fulfil an intent."""

from __future__ import annotations

import pytest

from parley.testing import (
    AgentSaid,
    ExpectationError,
    JudgeError,
    ScriptedLanguageModel,
    ScriptedTurn,
    ToolCall,
    Turn,
    judge,
    scripted_judge,
)

LOCKED = Turn(1, "x", [AgentSaid("Done. The card ending in 4242 is now locked.")])


def mentions_locked(intent: str, said: str) -> tuple[bool, str]:
    return "locked" in said, "it says locked" if "locked" in said else "no word of locking"


async def test_a_judged_intent_passes_when_the_judge_agrees() -> None:
    model = scripted_judge(mentions_locked)
    await LOCKED.expect.says(judged_by=model, intent="confirms the card is locked")


async def test_a_judged_intent_fails_with_the_judges_reason() -> None:
    turn = Turn(1, "x", [AgentSaid("Your balance is 12 dollars.")])
    with pytest.raises(ExpectationError) as caught:
        await turn.expect.says(judged_by=scripted_judge(mentions_locked), intent="confirms lock")
    assert "the judge says no: no word of locking" in str(caught.value)
    with pytest.raises(ExpectationError, match="the agent said nothing"):
        await Turn(2, "x", []).expect.says(judged_by=scripted_judge(mentions_locked), intent="x")


async def test_the_judge_is_asked_with_the_intent_and_the_words_and_a_verdict_tool() -> None:
    model = ScriptedLanguageModel(
        [ScriptedTurn(tool_calls=(ToolCall("j", "verdict", {"success": True, "reason": "ok"}),))]
    )
    verdict = await judge(model, intent="confirms the lock", said="It is locked.")
    assert (verdict.success, verdict.reason) == (True, "ok")
    request = model.requests[0]
    assert [t.name for t in request.tools] == ["verdict"]
    assert request.options.temperature == 0.0
    assert (
        request.messages[-1].text == "Intent:\nconfirms the lock\n\nThe agent said:\nIt is locked."
    )


async def test_a_judge_answering_in_text_is_read_for_its_json_verdict() -> None:
    model = ScriptedLanguageModel(['Verdict: {"success": false, "reason": "vague"}', "I think so."])
    verdict = await judge(model, intent="x", said="y")
    assert (verdict.success, verdict.reason) == (False, "vague")
    with pytest.raises(JudgeError, match="gave no verdict"):
        await judge(model, intent="x", said="y")
