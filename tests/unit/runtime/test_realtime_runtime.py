"""Whole calls in realtime mode: the same conversation over a fake realtime session."""

from __future__ import annotations

import pytest

from adapters.memory import FunctionTool, FunctionToolExecutor
from adapters.memory.realtime import FakeRealtimeModel, FakeReply
from domain.agents import AgentSpec, HandoffTarget
from domain.policies import ConversationPolicy, FailurePolicy
from domain.runtime.realtime import RealtimeAgentOptions
from ports import ProviderUnavailableError, RateLimitedError, Role, ToolCall, ToolSpec
from ports.realtime import RealtimeConfig, TurnDetection, TurnDetectionOptions

from .harness import call_tasks
from .realtime_harness import make_realtime_rig, requests, session_of

GREETING = "Hello, how can I help?"
LONG = (
    "Your balance is one thousand two hundred dollars and fifty cents. "
    "Your last payment arrived on Monday morning from your salary account."
)


async def test_the_greeting_is_spoken_by_the_service_and_played():
    model = FakeRealtimeModel()
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    session = session_of(model)
    [line] = requests(session, "create_response")
    assert line.line == GREETING
    assert rig.sent_ms() == pytest.approx(len(GREETING) * model.ms_per_char, abs=40)
    messages = await rig.messages()
    assert [(m.kind, m.text) for m in messages] == [("assistant", GREETING)]
    summary = await rig.hang_up_remote()
    assert summary.agent_turns == 1
    assert call_tasks() == set()


async def test_a_caller_turn_is_transcribed_by_the_service_and_answered():
    model = FakeRealtimeModel(["what is my balance"], [FakeReply("You have forty two dollars.")])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(3000)
    messages = await rig.messages()
    assert [(m.kind, m.text) for m in messages] == [
        ("assistant", GREETING),
        ("user", "what is my balance"),
        ("assistant", "You have forty two dollars."),
    ]
    session = session_of(model)
    # The service heard the caller's audio itself: no user text was added.
    assert requests(session, "add_messages") == []
    latency = [e for e in await rig.transcript() if e.kind == "turn_latency"]
    assert latency and "voice_to_voice" in latency[0].data
    await rig.hang_up_remote()


async def test_a_tool_result_reaches_the_service_before_the_next_response():
    tools = FunctionToolExecutor(
        [FunctionTool(ToolSpec("check_balance", "Balance."), lambda: '{"balance": 42}')]
    )
    model = FakeRealtimeModel(
        ["balance please"],
        [
            FakeReply(tool_calls=(ToolCall("call_1", "check_balance", {}),)),
            FakeReply("You have forty two dollars."),
        ],
    )
    agents = (AgentSpec("concierge", greeting=GREETING, tools=("check_balance",)),)
    rig = make_realtime_rig(model, agents=agents, tools=tools)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(3000)
    session = session_of(model)
    names = [name for name, _ in session.requests]
    output = names.index("tool_output")
    assert names[output + 1] == "create_response"
    assert requests(session, "tool_output") == [("call_1", '{"balance": 42}')]
    texts = [m.text for m in await rig.messages() if m.kind == "assistant"]
    assert texts[-1] == "You have forty two dollars."
    await rig.hang_up_remote()


async def test_a_handoff_updates_the_session_with_the_new_agent():
    agents = (
        AgentSpec(
            "concierge",
            instructions="You are the concierge.",
            greeting=GREETING,
            handoffs=(HandoffTarget("fraud"),),
        ),
        AgentSpec(
            "fraud", instructions="You are the fraud specialist.", handoff_greeting="Fraud here."
        ),
    )
    model = FakeRealtimeModel(
        ["someone stole my card"],
        [FakeReply(tool_calls=(ToolCall("call_9", "handoff_to_fraud", {"reason": "stolen"}),))],
    )
    agent_options = {"fraud": RealtimeAgentOptions(voice="echo")}
    rig = make_realtime_rig(model, agents=agents, agent_options=agent_options)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(3000)
    session = session_of(model)
    updates = requests(session, "update")
    assert updates[0].instructions == "You are the concierge."
    assert any(t.name == "handoff_to_fraud" for t in updates[0].tools)
    lines = [r.line for r in requests(session, "create_response")]
    assert lines[-1] == "Fraud here."
    # The domain answered the handoff call itself; the service gets that answer.
    [(call_id, output)] = requests(session, "tool_output") or [("call_9", "")]
    assert call_id == "call_9"
    messages = await rig.messages()
    assert any(m.kind == "event" and m.text == "handoff to fraud" for m in messages)
    await rig.say(600)
    await rig.silence(3000)
    updates = requests(session, "update")
    assert updates[-1].instructions == "You are the fraud specialist."
    assert updates[-1].voice == "echo"
    assert requests(session, "tool_output")[0][0] == "call_9"
    await rig.hang_up_remote()


async def test_a_barge_in_stops_audio_cancels_and_truncates_at_the_audio_played():
    model = FakeRealtimeModel(["tell me everything", "stop"], [FakeReply(LONG)])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(1800)  # the long reply plays for a while
    before = rig.sent_ms()
    await rig.say(600)
    await rig.silence(2000)
    assert rig.media.stop_audio_count >= 1
    session = session_of(model)
    [(item_id, audio_end_ms)] = requests(session, "truncate")
    assert item_id.startswith("item_")
    greeting_frames = int(len(GREETING) * model.ms_per_char // 20)
    audio = [o for o in rig.media.outbound if o.kind == "audio"]
    stop_at = next(o.at_ms for o in rig.media.outbound if o.kind == "stop_audio")
    reply_start = audio[greeting_frames].at_ms
    sent = sum(20 for o in audio[greeting_frames:] if o.at_ms <= stop_at)
    # Truncated at what the far end had played (it plays in real time from the first frame),
    # not at what was sent (the pacing lead ahead of it), to within one frame.
    played = stop_at - reply_start
    assert abs(audio_end_ms - played) <= 20
    assert sent - audio_end_ms >= 80
    assert rig.sent_ms() > before
    cut = [m for m in await rig.messages() if m.kind == "assistant" and m.interrupted]
    assert cut and len(cut[0].text) < len(LONG)
    summary = await rig.hang_up_remote()
    assert summary.barge_ins == 1


async def test_dtmf_input_is_added_to_the_service_conversation_as_text():
    model = FakeRealtimeModel([], [FakeReply("Thanks.")])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    rig.media.feed_dtmf("42#")
    await rig.silence(2000)
    session = session_of(model)
    [added] = requests(session, "add_messages")
    assert [(m.role, m.text) for m in added] == [(Role.USER, "42")]
    await rig.hang_up_remote()


async def test_a_session_expiry_replays_the_history_and_the_call_goes_on():
    model = FakeRealtimeModel(["first question", "second question"])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(2500)
    session = session_of(model)
    session.drop("session_expired")
    await rig.silence(200)
    [replayed] = requests(session, "add_messages")
    assert [m.text for m in replayed] == [GREETING, "first question", "You said: first question."]
    await rig.say(600)
    await rig.silence(2500)
    texts = [m.text for m in await rig.messages() if m.kind == "assistant"]
    assert texts[-1] == "You said: second question."
    await rig.hang_up_remote()


async def test_parley_vad_commits_the_input_buffer_at_the_end_of_speech():
    model = FakeRealtimeModel(["hello there"])
    base = RealtimeConfig(turn_detection=TurnDetectionOptions(TurnDetection.PARLEY))
    rig = make_realtime_rig(model, base=base)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(2500)
    session = session_of(model)
    assert requests(session, "commit_input") == [None]
    texts = [m.text for m in await rig.messages() if m.kind == "user"]
    assert texts == ["hello there"]
    await rig.hang_up_remote()


async def test_a_rate_limit_error_fails_the_response_and_the_fallback_is_spoken():
    model = FakeRealtimeModel(["hello"])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    session = session_of(model)
    session.error(RateLimitedError("slow down", port="realtime"))
    await rig.silence(100)
    assert rig.metrics.provider_errors[("realtime", "rate_limited")] == 1
    await rig.say(600)
    await rig.silence(2500)
    texts = [m.text for m in await rig.messages() if m.kind == "assistant"]
    assert texts[-1] == "You said: hello."
    await rig.hang_up_remote()


async def test_a_session_that_cannot_open_ends_the_call_by_escalation():
    model = FakeRealtimeModel()
    model.open_error = ProviderUnavailableError("down", port="realtime")
    policy = ConversationPolicy(failures=FailurePolicy(max_consecutive_failures=2))
    rig = make_realtime_rig(model, policy=policy)
    await rig.start()
    summary = await rig.result()
    assert summary.end_reason == "hang_up"
    errors = [e.text for e in await rig.messages() if e.kind == "event"]
    assert any(e.startswith("realtime:") for e in errors)
    assert call_tasks() == set()


async def test_a_false_interruption_resumes_the_rest_as_a_spoken_line():
    # The caller's noise over the reply is transcribed as nothing: after the window the
    # unplayed rest is spoken again (a line the service speaks), then stored whole.
    model = FakeRealtimeModel(["tell me everything", ""], [FakeReply(LONG)])
    rig = make_realtime_rig(model)
    await rig.start()
    await rig.silence(2000)
    await rig.say(600)
    await rig.silence(1500)
    await rig.say(400)
    await rig.silence(4000)
    session = session_of(model)
    lines = [r.line for r in requests(session, "create_response") if r.line]
    assert lines[0] == GREETING
    rest = " ".join(lines[1:])  # the unplayed rest, one line per clause
    assert rest and LONG.endswith(rest) and len(rest) < len(LONG)
    await rig.silence(6000)
    texts = [m.text for m in await rig.messages() if m.kind == "assistant"]
    assert texts[-1] == LONG
    assert rig.metrics.counts["false_interruption"] == 1
    await rig.hang_up_remote()


async def test_silence_after_a_reply_gets_the_reprompt_line():
    model = FakeRealtimeModel()
    agents = (AgentSpec("concierge", greeting=GREETING, reprompt="Still there?"),)
    rig = make_realtime_rig(model, agents=agents)
    await rig.start()
    await rig.silence(2000 + 8000 + 200)
    lines = [r.line for r in requests(session_of(model), "create_response")]
    assert lines == [GREETING, "Still there?"]
    await rig.hang_up_remote()
