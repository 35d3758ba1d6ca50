"""Whole calls through the call runtime and the real conversation, on fakes and a manual clock."""

from __future__ import annotations

import re

import pytest

from adapters.memory import FunctionToolExecutor, ScriptedTurn
from domain.agents import AgentSpec, HandoffTarget
from domain.policies import BargeInPolicy, ConversationPolicy, NoInputPolicy
from domain.runtime import RuntimeConfig
from ports import LatencyStage, Role, ToolCall, UpdateKind

from .harness import Rig, call_tasks, make_rig

GREETING = "Hello, how can I help?"
LONG_REPLY = (
    "Your balance is one thousand two hundred dollars and fifty cents. "
    "Your last payment arrived on Monday morning from your salary account. "
    "Is there anything else I can do for you today?"
)


def sent_per_speech(rig: Rig) -> list[float]:
    """Ms of audio sent per speech, in play order (a speech's frames restart at timestamp 0)."""
    totals: list[float] = []
    for frame in rig.media.sent_frames:
        if frame.timestamp_ms == 0.0:
            totals.append(0.0)
        totals[-1] += frame.duration_ms
    return totals


def words_started_within(text: str, sent_ms: float, ms_per_char: float = 60.0) -> list[str]:
    """Words of ``text`` whose audio start lies inside the first ``sent_ms`` (the fake TTS)."""
    matches = list(re.finditer(r"\S+", text))
    first = matches[0].start()
    return [m.group() for m in matches if (m.start() - first) * ms_per_char < sent_ms]


async def test_the_greeting_is_heard():
    rig = make_rig()
    await rig.start()
    await rig.silence(2000)
    assert rig.spoken() == [GREETING]
    assert rig.sent_ms() == pytest.approx(rig.tts.duration_ms(GREETING), abs=20)
    messages = await rig.messages()
    assert [(m.kind, m.text) for m in messages] == [("assistant", GREETING)]
    summary = await rig.hang_up_remote()
    assert summary.agent_turns == 1 and summary.end_reason == "remote_closed"


async def test_a_turn_is_answered():
    rig = make_rig(heard=["what is my balance"], turns=["You have forty two dollars."])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    [_, request] = [None, *rig.llm.requests]
    assert request.messages[-1].role is Role.USER
    assert request.messages[-1].text == "what is my balance"
    assert rig.spoken() == [GREETING, "You have forty two dollars."]
    expected = rig.tts.duration_ms(GREETING) + rig.tts.duration_ms("You have forty two dollars.")
    assert rig.sent_ms() == pytest.approx(expected, abs=40)
    messages = await rig.messages()
    assert [(m.kind, m.text) for m in messages] == [
        ("assistant", GREETING),
        ("user", "what is my balance"),
        ("assistant", "You have forty two dollars."),
    ]
    [latency] = [e for e in await rig.transcript() if e.kind == "turn_latency"]
    assert set(latency.data) - {"marks"} == {stage.value for stage in LatencyStage} - {
        LatencyStage.BARGE_IN_REACTION.value
    }
    summary = await rig.hang_up_remote()
    assert (summary.user_turns, summary.agent_turns) == (1, 2)


async def test_barge_in_stops_outbound_audio_within_one_frame_and_keeps_only_the_words_sent():
    policy = ConversationPolicy(barge_in=BargeInPolicy(min_speech_ms=300))
    rig = make_rig(
        policy=policy, heard=["what is my balance", "wait stop"], turns=[LONG_REPLY, "Okay."]
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)  # the reply is well under way (its first sentence is 3.9 s long)
    assert rig.media.stop_audio_count == 0
    onset = rig.clock.now_ms()
    await rig.say(600)
    stop = next(o for o in rig.media.outbound if o.kind == "stop_audio")
    assert 0 <= stop.at_ms - (onset + 300) <= 20
    # Nothing of the interrupted speech leaves after stop-audio: the next frame starts anew.
    after = [o for o in rig.media.outbound[rig.media.outbound.index(stop) + 1 :] if o.frame]
    assert after == [] or after[0].frame.timestamp_ms == 0.0
    # Only the words whose audio was sent are kept, marked interrupted.
    reply_clauses = [t for t in rig.spoken()[1:] if t != "Okay."]
    sent = sent_per_speech(rig)[1 : 1 + len(reply_clauses)]
    heard_words: list[str] = []
    for clause, ms in zip(reply_clauses, sent, strict=False):
        heard_words += words_started_within(clause, ms)
    await rig.silence(2000)
    interrupted = [m for m in await rig.messages() if m.kind == "assistant" and m.interrupted]
    assert [m.text.split() for m in interrupted] == [heard_words]
    assert 0 < len(heard_words) < len(LONG_REPLY.split())
    history = rig.llm.requests[-1].messages
    assert any(m.role is Role.ASSISTANT and m.interrupted for m in history)
    assert rig.metrics.counts["barge_in"] == 1
    [reaction] = rig.metrics.latencies[LatencyStage.BARGE_IN_REACTION]
    assert 300 <= reaction <= 320
    summary = await rig.hang_up_remote()
    assert summary.barge_ins == 1
    kinds = rig.observer.kinds()
    for kind in ("transcript_partial", "transcript_final", "agent_text", "stop_audio"):
        assert kind in kinds
    assert kinds[-1] == "call_ended"


async def test_a_false_interruption_resumes_the_reply():
    policy = ConversationPolicy(
        barge_in=BargeInPolicy(min_speech_ms=300, false_interruption_timeout_ms=1500)
    )
    rig = make_rig(policy=policy, heard=["what is my balance"], turns=[LONG_REPLY])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(2000)
    await rig.say(400)  # a cough: loud, but no words follow
    assert rig.media.stop_audio_count == 1
    spoken_before = len(rig.spoken())
    await rig.silence(2500)
    resumed = rig.spoken()[spoken_before:]
    assert resumed, "the unplayed rest is spoken again"
    assert LONG_REPLY.endswith(resumed[-1]) or resumed[-1] in LONG_REPLY
    assert rig.metrics.counts["false_interruption"] == 1
    await rig.silence(12_000)
    assistant = [m for m in await rig.messages() if m.kind == "assistant"][-1]
    assert not assistant.interrupted
    assert assistant.text.split() == LONG_REPLY.split()
    await rig.hang_up_remote()


async def test_a_tool_round_runs():
    tools = FunctionToolExecutor()
    tools.add_function(lambda account="main": {"balance": 42}, name="check_balance")
    agent = AgentSpec(name="concierge", greeting=GREETING, tools=("check_balance",))
    turns = [
        ScriptedTurn(tool_calls=(ToolCall("call_1", "check_balance", {"account": "main"}),)),
        "Your balance is forty two dollars.",
    ]
    rig = make_rig(agents=[agent], tools=tools, heard=["my balance please"], turns=turns)
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    assert [c.name for c in tools.calls] == ["check_balance"]
    first, second = rig.llm.requests
    assert [t.name for t in first.tools] == ["check_balance"]
    tool_message = second.messages[-1]
    assert tool_message.role is Role.TOOL and tool_message.tool_call_id == "call_1"
    assert tool_message.text == '{"balance": 42}'
    assert rig.spoken()[-1] == "Your balance is forty two dollars."
    assert UpdateKind.TOOL_CALL in [u.kind for u in rig.observer.updates]
    await rig.hang_up_remote()


async def test_a_handoff_happens():
    concierge = AgentSpec(
        name="concierge",
        greeting=GREETING,
        handoffs=(HandoffTarget("fraud", "Card fraud and lost cards"),),
    )
    fraud = AgentSpec(name="fraud", handoff_greeting="Fraud team here. Which card is it?")
    turns = [ScriptedTurn(tool_calls=(ToolCall("call_1", "handoff_to_fraud", {}),))]
    rig = make_rig(agents=[concierge, fraud], heard=["my card was stolen"], turns=turns)
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    assert [t.name for t in rig.llm.requests[0].tools] == ["handoff_to_fraud"]
    handoffs = [u for u in rig.observer.updates if u.kind is UpdateKind.HANDOFF]
    assert [(u.data["from"], u.data["to"]) for u in handoffs] == [("concierge", "fraud")]
    assert rig.spoken()[-1] == "Fraud team here. Which card is it?"
    assert rig.tools.calls == []  # handoff tools never reach the executor
    await rig.hang_up_remote()


async def test_no_input_leads_to_a_reprompt_and_then_a_hang_up():
    agent = AgentSpec(
        name="concierge",
        greeting=GREETING,
        reprompt="Are you still there?",
        goodbye="Goodbye.",
    )
    policy = ConversationPolicy(no_input=NoInputPolicy(no_input_timeout_ms=3000, max_reprompts=1))
    rig = make_rig(agents=[agent], policy=policy)
    await rig.start()
    await rig.silence(5000)
    assert rig.spoken() == [GREETING, "Are you still there?"]
    summary = await rig.result()
    assert rig.spoken() == [GREETING, "Are you still there?", "Goodbye."]
    assert summary.end_reason == "hang_up"
    assert rig.media.closed
    # The goodbye was played in full before the hang-up.
    assert sent_per_speech(rig)[-1] == pytest.approx(rig.tts.duration_ms("Goodbye."), abs=20)


async def test_a_language_model_timeout_leads_to_the_fallback_line():
    agent = AgentSpec(name="concierge", greeting=GREETING, fallback="Sorry, say that again?")
    rig = make_rig(
        agents=[agent],
        heard=["what is my balance"],
        turns=["never in time"],
        llm_ttft_ms=60_000,
        config=RuntimeConfig(first_token_timeout_ms=3000),
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(2000)
    assert rig.spoken() == [GREETING]
    await rig.silence(2000)
    assert rig.spoken() == [GREETING, "Sorry, say that again?"]
    assert rig.metrics.provider_errors[("language_model", "timeout")] == 1
    assert rig.llm.cancelled == 1
    await rig.hang_up_remote()


async def test_the_stream_closing_mid_response_ends_everything_cleanly():
    before = call_tasks()
    rig = make_rig(heard=["tell me everything"], turns=[LONG_REPLY], llm_tokens_per_second=6)
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    assert rig.llm.completed == 0 and rig.tts.requests[-1].text != GREETING
    rig.media.remote_close()
    summary = await rig.result()
    assert summary.end_reason == "remote_closed"
    assert call_tasks() - before == set()
    assert rig.llm.cancelled == 1
    assert rig.tts.active == 0
    assert all(s.closed for s in rig.stt.sessions)
    last = (await rig.messages())[-1]
    assert last.kind == "assistant" and last.interrupted
    assert LONG_REPLY.startswith(last.text)
    assert rig.metrics.active_calls == 0
    assert (await rig.sessions.get("call-1")) is not None


async def test_dtmf_digits_become_a_user_turn():
    rig = make_rig(turns=["Account one two three found."])
    await rig.start()
    await rig.silence(1500)
    rig.media.feed_dtmf("123#")
    await rig.silence(2000)
    assert rig.llm.requests[0].messages[-1].text == "123"
    await rig.hang_up_remote()


async def test_no_task_outlives_a_whole_conversation():
    before = call_tasks()
    rig = make_rig(heard=["hello", "and more"], turns=[LONG_REPLY, "Sure."])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    await rig.say(600)
    await rig.silence(500)
    summary = await rig.hang_up_remote()
    assert summary.barge_ins == 1
    assert call_tasks() - before == set()


async def test_a_dtmf_barge_in_counts_in_the_summary_and_the_metrics():
    rig = make_rig(heard=["what is my balance"], turns=[LONG_REPLY, "Account found."])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(2000)  # the long reply is playing
    assert rig.media.stop_audio_count == 0
    rig.media.feed_dtmf("1")
    await rig.silence(100)
    assert rig.media.stop_audio_count == 1
    assert rig.metrics.counts["barge_in"] == 1
    # No speech onset: a key press has no barge-in reaction time.
    assert rig.metrics.latencies[LatencyStage.BARGE_IN_REACTION] == []
    summary = await rig.hang_up_remote()
    assert summary.barge_ins == 1
    assert summary.user_turns == 1
