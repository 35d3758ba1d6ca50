"""A call whose media stream reconnects resumes from its saved session (runtime, on fakes).

The second media stream for the same call id continues the conversation: same agent, same
history, no second greeting, and the transcript goes on without repeating a line.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.memory import FakeMediaStream, ScriptedTurn
from domain.agents import AgentSpec, HandoffTarget
from domain.session import SessionState
from ports import ToolCall
from tests.unit.runtime.harness import Rig, make_rig

GREETING = "Hello, how can I help?"
FRAUD_GREETING = "Fraud desk here."


async def _reconnect(rig: Rig) -> None:
    """Drop the media stream (the call stays up) and open a new one for the same call."""
    await rig.hang_up_remote()
    rig.media = FakeMediaStream(rig.fmt, rig.info.call_id, clock=rig.clock)
    rig.task = None
    await rig.start()


async def test_a_reconnected_stream_continues_the_conversation_without_a_second_greeting():
    rig = make_rig(
        heard=["what is my balance", "and my savings"],
        turns=["You have forty two dollars.", "Savings hold ten dollars."],
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    before = await rig.messages()
    await _reconnect(rig)
    await rig.silence(1500)
    assert rig.spoken() == [GREETING, "You have forty two dollars."]
    await rig.say(600)
    await rig.silence(3000)
    await rig.hang_up_remote()
    assert rig.spoken()[-1] == "Savings hold ten dollars."
    # The model saw the whole conversation, the first stream's turns included.
    last_request = rig.llm.requests[-1]
    texts = [m.text for m in last_request.messages]
    assert "what is my balance" in texts and "You have forty two dollars." in texts
    after = await rig.messages()
    lines = [(m.kind, m.text) for m in after]
    assert lines[: len(before)] == [(m.kind, m.text) for m in before]
    assert lines == [
        ("assistant", GREETING),
        ("user", "what is my balance"),
        ("assistant", "You have forty two dollars."),
        ("user", "and my savings"),
        ("assistant", "Savings hold ten dollars."),
    ]


async def test_a_reconnected_stream_keeps_the_agent_it_was_handed_off_to():
    concierge = AgentSpec(
        name="concierge",
        greeting=GREETING,
        handoffs=(HandoffTarget("fraud", "card fraud"),),
    )
    fraud = AgentSpec(name="fraud", greeting="Fraud desk.", handoff_greeting=FRAUD_GREETING)
    rig = make_rig(
        agents=[concierge, fraud],
        heard=["someone stole my card", "thanks"],
        turns=[
            ScriptedTurn(tool_calls=(ToolCall("call_1", "handoff_to_fraud", {}),)),
            "Your card is locked.",
        ],
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    stored = await rig.sessions.get(rig.info.call_id)
    assert stored is not None and SessionState.from_dict(stored.state).agent == "fraud"
    await _reconnect(rig)
    await rig.silence(1000)
    await rig.say(600)
    await rig.silence(3000)
    await rig.hang_up_remote()
    assert rig.spoken().count(GREETING) == 1
    assert "Fraud desk." not in rig.spoken()  # the fraud agent does not greet either
    assert rig.spoken()[-1] == "Your card is locked."
    stored = await rig.sessions.get(rig.info.call_id)
    assert stored is not None and SessionState.from_dict(stored.state).agent == "fraud"


async def test_a_call_the_agent_ended_starts_fresh_on_a_new_stream():
    rig = make_rig()
    await rig.start()
    await rig.silence(1500)
    state = rig.sessions
    stored = await state.get(rig.info.call_id)
    assert stored is not None
    ended = SessionState.from_dict(stored.state)
    done = replace(ended, status=replace(ended.status, end_reason="hang_up"))
    await rig.hang_up_remote()
    current = await state.get(rig.info.call_id)
    assert current is not None
    await state.put(rig.info.call_id, done.to_dict(), expected_version=current.version)
    rig.media = FakeMediaStream(rig.fmt, rig.info.call_id, clock=rig.clock)
    rig.task = None
    await rig.start()
    await rig.silence(1500)
    await rig.hang_up_remote()
    assert rig.spoken() == [GREETING, GREETING]
