"""A call on fakes and a manual clock, traced with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.memory import FunctionToolExecutor, ScriptedTurn
from adapters.otel import CALL_ID_ATTRIBUTE, OtelTracing
from adapters.otel.setup import make_provider
from domain.agents import AgentSpec, HandoffTarget
from domain.policies import BargeInPolicy, ConversationPolicy
from ports import ToolCall

from ...runtime.harness import make_rig

GREETING = "Hello, how can I help?"
LONG_REPLY = (
    "Your balance is one thousand two hundred dollars and fifty cents. "
    "Your last payment arrived on Monday morning from your salary account."
)


def traced(**options):
    exporter = InMemorySpanExporter()
    provider = make_provider(exporter, batch=False)
    tracing = OtelTracing(provider, gen_ai_system="openai", default_model="gpt-test")
    return make_rig(tracing=tracing, **options), exporter


def by_name(spans, name):
    return [s for s in spans if s.name == name]


async def test_a_call_is_one_trace_with_turn_model_tool_synthesis_and_handoff_spans():
    tools = FunctionToolExecutor()
    tools.add_function(lambda account="main": {"balance": 42}, name="check_balance")
    concierge = AgentSpec(
        name="concierge",
        greeting=GREETING,
        tools=("check_balance",),
        handoffs=(HandoffTarget("fraud", "Card fraud"),),
    )
    fraud = AgentSpec(name="fraud", handoff_greeting="Fraud team here.")
    turns = [
        ScriptedTurn(tool_calls=(ToolCall("call_1", "check_balance", {"account": "main"}),)),
        "Forty two dollars.",
        ScriptedTurn(tool_calls=(ToolCall("call_2", "handoff_to_fraud", {}),)),
    ]
    rig, exporter = traced(
        agents=[concierge, fraud],
        tools=tools,
        heard=["my balance please", "my card was stolen"],
        turns=turns,
        llm_ttft_ms=120,
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    await rig.say(600)
    await rig.silence(3000)
    await rig.hang_up_remote()

    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1
    assert all(s.attributes[CALL_ID_ATTRIBUTE] == "call-1" for s in spans)
    [root] = by_name(spans, "call")
    assert root.kind is SpanKind.SERVER and root.parent is None
    assert root.attributes["parley.end_reason"] == "remote_closed"
    user_turns = by_name(spans, "user_turn")
    assert len(user_turns) == 2
    assert all(t.parent.span_id == root.context.span_id for t in user_turns)
    turn_ids = {t.context.span_id for t in user_turns}
    recognitions = by_name(spans, "speech_recognition")
    assert len(recognitions) == 2 and {r.parent.span_id for r in recognitions} == turn_ids
    chats = by_name(spans, "chat gpt-test")
    assert len(chats) == 3
    assert all(c.kind is SpanKind.CLIENT for c in chats)
    assert all(c.parent.span_id in turn_ids for c in chats)
    assert chats[0].attributes["gen_ai.system"] == "openai"
    assert chats[0].attributes["gen_ai.request.model"] == "gpt-test"
    assert chats[0].attributes["gen_ai.server.time_to_first_token"] == pytest.approx(0.12)
    answer = chats[1]  # "Forty two dollars." after the tool result
    assert answer.attributes["gen_ai.usage.output_tokens"] > 0
    assert answer.attributes["gen_ai.usage.input_tokens"] > 0
    assert answer.attributes["parley.outcome"] == "ok"
    [tool] = by_name(spans, "execute_tool check_balance")
    assert tool.attributes["gen_ai.tool.name"] == "check_balance"
    assert tool.attributes["parley.outcome"] == "ok"
    assert "gen_ai.tool.call.arguments" not in tool.attributes  # personal data stays out
    [handoff] = by_name(spans, "handoff")
    assert (handoff.attributes["parley.handoff.from"], handoff.attributes["parley.handoff.to"]) == (
        "concierge",
        "fraud",
    )
    syntheses = by_name(spans, "synthesis")
    assert len(syntheses) >= 3  # greeting, the answer, the fraud greeting
    greeting = syntheses[0]
    assert greeting.parent.span_id == root.context.span_id
    assert "parley.tts.time_to_first_byte_ms" in greeting.attributes
    # Children lie within their parents on one time axis.
    for span in spans:
        if span.parent is not None:
            parent = next(p for p in spans if p.context.span_id == span.parent.span_id)
            assert parent.start_time <= span.start_time <= span.end_time <= parent.end_time
    # The first turn's answer played; the second ended in a handoff (its greeting is the
    # new agent's, not an answer) and stays open until the call ends.
    assert [t.attributes["parley.outcome"] for t in user_turns] == ["answered", "call_ended"]
    assert "first_frame" in [e.name for e in user_turns[0].events]


async def test_a_barge_in_is_an_event_and_the_cut_synthesis_ends_interrupted():
    policy = ConversationPolicy(barge_in=BargeInPolicy(min_speech_ms=300))
    rig, exporter = traced(
        policy=policy, heard=["what is my balance", "wait stop"], turns=[LONG_REPLY, "Okay."]
    )
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(3000)
    await rig.say(600)
    await rig.silence(2000)
    await rig.hang_up_remote()
    spans = exporter.get_finished_spans()
    [root] = by_name(spans, "call")
    assert [e.name for e in root.events].count("barge_in") == 1
    outcomes = [s.attributes["parley.outcome"] for s in by_name(spans, "synthesis")]
    assert "interrupted" in outcomes


async def test_a_failing_model_request_has_error_status():
    from ports import RateLimitedError

    rig, exporter = traced(heard=["hello"], turns=[ScriptedTurn.failing(RateLimitedError("x"))])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(2000)
    await rig.hang_up_remote()
    [chat] = by_name(exporter.get_finished_spans(), "chat gpt-test")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes["error.type"] == "rate_limited"


async def test_an_incoming_traceparent_is_continued():
    exporter = InMemorySpanExporter()
    tracing = OtelTracing(make_provider(exporter, batch=False))
    trace = tracing.start_call(
        "c1",
        0.0,
        channel="acs",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    trace.end("hang_up", 1000.0)
    [root] = exporter.get_finished_spans()
    assert format(root.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(root.parent.span_id, "016x") == "b7ad6b7169203331"
    assert (root.end_time - root.start_time) == 1_000_000_000
    assert tracing.span_context("c1") is None  # forgotten at the end


def test_tool_arguments_are_recorded_only_when_configured():
    exporter = InMemorySpanExporter()
    tracing = OtelTracing(make_provider(exporter, batch=False), record_tool_arguments=True)
    trace = tracing.start_call("c1", 0.0, channel="test")
    trace.tool_started("t1", "lock_card", 10.0, {"card": "1234"})
    trace.tool_ended("t1", 20.0, outcome="error")
    trace.end("hang_up", 30.0)
    [tool] = [s for s in exporter.get_finished_spans() if s.name == "execute_tool lock_card"]
    assert tool.attributes["gen_ai.tool.call.arguments"] == '{"card": "1234"}'
    assert tool.status.status_code is StatusCode.ERROR


def test_hooks_after_the_end_or_for_unknown_ids_do_nothing():
    exporter = InMemorySpanExporter()
    tracing = OtelTracing(make_provider(exporter, batch=False))
    trace = tracing.start_call("c1", 0.0, channel="test")
    trace.model_first_token("nope", 1.0)
    trace.synthesis_ended("nope", 1.0, outcome="completed")
    trace.end("hang_up", 2.0)
    trace.end("hang_up", 3.0)
    trace.final_transcript(4.0, words=2)
    assert [s.name for s in exporter.get_finished_spans()] == ["call"]
