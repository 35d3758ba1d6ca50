"""Conversation tests for Parley agents: pin behaviour in pytest or YAML, offline or on a model.

Open a conversation on an agents folder, act as the caller, and check what the agent did::

    from parley.testing import conversation

    async def test_a_stolen_card_goes_to_the_fraud_desk():
        async with conversation("agents", model="offline") as convo:
            turn = await convo.user_says("I think someone stole my card")
            turn.expect.handoff_to("fraud").tool_call("report_fraud")
            turn.expect.says(contains="fraud case")

The conversation runs in Parley's call runtime (the same state machine, model calls, tools,
timers, handoffs and transfers as a phone call) on a virtual clock, in ``text`` mode (typed
turns) or ``voice`` mode (audio through the fake engines: barge-in, no-input and DTMF can be
scripted and take milliseconds)::

    async with conversation("agents", model="offline", mode="voice") as convo:
        await convo.user_says("read my recent transactions", until="agent_speaks")
        turn = await convo.caller_interrupts(after_ms=800, saying="lock my card ending in 4242")
        turn.expect.interrupted().tool_call("lock_card", args={"last_four": "4242"})
        turn = await convo.silence(ms=9000)
        turn.expect.says(contains="still there")

The model is ``"offline"`` (the dialog model over the agent files' intents), ``"configured"``
(``PARLEY_LLM`` from the environment and ``.env``: Azure OpenAI, any OpenAI-compatible
endpoint...) or any language model object, e.g. a :class:`ScriptedLanguageModel`. A real
model can also judge the agent's words::

    async with configured_model() as judge_model:
        await turn.expect.says(judged_by=judge_model, intent="confirms the card is locked")

Tools can be replaced for one conversation, keeping their schema::

    convo.mock_tool("check_balance", returns={"account": "checking", "balance": "0.00"})

Failed expectations raise :class:`ExpectationError` with what was expected, the closest thing
that happened and the whole turn; the pytest plugin (installed with Parley) adds the whole
conversation to the failure report and gives a ``parley`` fixture. Scenarios in YAML
(``scenarios/*.yaml`` beside the agents) run with ``parley test``; see ``docs/testing.md``.
"""

from adapters.memory import ScriptedLanguageModel, ScriptedTurn
from bootstrap.testkit.conversation import ConversationEnded, TestConversation, conversation
from bootstrap.testkit.events import (
    AgentSaid,
    CallEnded,
    CallerPressed,
    CallerSaid,
    Event,
    HandedOff,
    Interrupted,
    ToolCalled,
    Transferred,
)
from bootstrap.testkit.expect import EventExpect, ExpectationError, TurnExpect
from bootstrap.testkit.judge import JudgeError, Verdict, judge, scripted_judge
from bootstrap.testkit.models import ModelChoice, configured_model
from bootstrap.testkit.modes import MODES, ModeError, Until
from bootstrap.testkit.tools import ToolDouble
from bootstrap.testkit.turn import Turn
from ports import ToolCall

__all__ = [
    "MODES",
    "AgentSaid",
    "CallEnded",
    "CallerPressed",
    "CallerSaid",
    "ConversationEnded",
    "Event",
    "EventExpect",
    "ExpectationError",
    "HandedOff",
    "Interrupted",
    "JudgeError",
    "ModeError",
    "ModelChoice",
    "ScriptedLanguageModel",
    "ScriptedTurn",
    "TestConversation",
    "ToolCall",
    "ToolCalled",
    "ToolDouble",
    "Transferred",
    "Turn",
    "TurnExpect",
    "Until",
    "Verdict",
    "configured_model",
    "conversation",
    "judge",
    "scripted_judge",
]
