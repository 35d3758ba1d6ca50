"""Tools and handoffs (issue 2 behaviours 7 and 8)."""

from __future__ import annotations

from domain.agents import AgentGraph, AgentSpec, HandoffTarget
from domain.commands import (
    CancelResponse,
    HandOffTo,
    HangUp,
    RunTool,
    Speak,
    StartResponse,
    TransferCall,
)
from domain.conversation import Phase
from domain.events import (
    ResponseCompleted,
    ResponseTextDelta,
    ToolCallsRequested,
    ToolCompleted,
    TransferResult,
)
from domain.policies import ConversationPolicy, HandoffPolicy, ToolPolicy
from ports import HandOff, Role, ToolCall, ToolResult
from ports import HangUp as HangUpAction
from ports import TransferCall as TransferAction

from .harness import Call


def in_turn(policy: ConversationPolicy | None = None) -> Call:
    call = Call(policy=policy)
    call.greet()
    call.user_says("what is my balance")
    return call


def request(call: Call, *calls: ToolCall, complete: bool = True) -> str:
    rid = call.response_id()
    call.send(ToolCallsRequested(call.tick(), rid, calls))
    if complete:
        call.send(ResponseCompleted(call.tick(), rid))
    return rid


# -- 7. tools ----------------------------------------------------------------------------


def test_requested_tools_run_and_their_results_restart_the_response() -> None:
    call = in_turn()
    balance = ToolCall("call_1", "check_balance", {"account": "main"})
    rid = request(call, balance)
    assert RunTool(rid, balance, 5000.0) in call.commands
    assert call.state.phase is Phase.THINKING
    step = call.send(ToolCompleted(call.tick(), rid, ToolResult("call_1", '{"balance": 10}')))
    start = next(c for c in step.commands if isinstance(c, StartResponse))
    assert start.response_id != rid
    assistant, tool = start.messages[-2:]
    assert assistant.role is Role.ASSISTANT and assistant.tool_calls == (balance,)
    assert tool.role is Role.TOOL and tool.tool_call_id == "call_1"
    assert tool.text == '{"balance": 10}'


def test_text_before_a_tool_call_is_spoken_and_stored_with_the_call() -> None:
    call = in_turn()
    step = call.send(ResponseTextDelta(call.tick(), call.response_id(), "Let me check that."))
    assert not any(isinstance(c, Speak) for c in step.commands)
    request(call, ToolCall("call_1", "check_balance"))
    assert [c.text for c in call.of(Speak)][-1] == "Let me check that."  # type: ignore[attr-defined]
    message = next(m for m in call.state.history if m.tool_calls)
    assert message.text == "Let me check that."


def test_tool_results_may_arrive_before_the_response_completes() -> None:
    call = in_turn()
    rid = request(call, ToolCall("call_1", "check_balance"), complete=False)
    step = call.send(ToolCompleted(call.tick(), rid, ToolResult("call_1", "10")))
    assert not any(isinstance(c, StartResponse) for c in step.commands)
    step = call.send(ResponseCompleted(call.tick(), rid))
    assert any(isinstance(c, StartResponse) for c in step.commands)


def test_every_tool_of_a_round_must_finish_before_the_response_restarts() -> None:
    call = in_turn()
    rid = request(call, ToolCall("a", "check_balance"), ToolCall("b", "lock_card"))
    step = call.send(ToolCompleted(call.tick(), rid, ToolResult("b", "locked")))
    assert not any(isinstance(c, StartResponse) for c in step.commands)
    step = call.send(ToolCompleted(call.tick(), rid, ToolResult("a", "10")))
    assert any(isinstance(c, StartResponse) for c in step.commands)


def test_more_tool_rounds_than_allowed_end_in_an_apology() -> None:
    call = in_turn(ConversationPolicy(tools=ToolPolicy(max_tool_rounds=2)))
    for n in range(2):
        rid = request(call, ToolCall(f"c{n}", "check_balance"))
        call.send(ToolCompleted(call.tick(), rid, ToolResult(f"c{n}", "10")))
    rid = call.response_id()
    step = call.send(ToolCallsRequested(call.tick(), rid, (ToolCall("c9", "check_balance"),)))
    assert CancelResponse(rid) in step.commands
    assert not any(isinstance(c, RunTool) for c in step.commands)
    speaks = [c.text for c in step.commands if isinstance(c, Speak)]
    assert speaks == ["Sorry, I could not finish that. Could we try another way?"]
    assert call.state.response is None


def test_a_transfer_action_transfers_the_call_after_the_transfer_line() -> None:
    call = in_turn()
    rid = request(call, ToolCall("c1", "check_balance"))
    result = ToolResult("c1", "transferring", action=TransferAction("+15550100"))
    step = call.send(ToolCompleted(call.tick(), rid, result))
    assert [c.text for c in step.commands if isinstance(c, Speak)] == [
        "Please hold while I transfer your call."
    ]
    assert not any(isinstance(c, StartResponse) for c in step.commands)
    step = call.play()
    assert step is not None
    assert TransferCall("+15550100", "tool") in step.commands
    call.send(TransferResult(call.tick(), accepted=True))
    assert call.state.phase is Phase.ENDED


def test_a_failed_transfer_returns_to_the_conversation() -> None:
    call = in_turn()
    rid = request(call, ToolCall("c1", "check_balance"))
    call.send(ToolCompleted(call.tick(), rid, ToolResult("c1", "", action=TransferAction("+1"))))
    call.play()
    step = call.send(TransferResult(call.tick(), accepted=False))
    assert any(isinstance(c, Speak) for c in step.commands)
    assert call.state.status.transferring is False
    assert call.state.phase is Phase.SPEAKING


def test_a_hang_up_action_says_goodbye_then_hangs_up() -> None:
    call = in_turn()
    rid = request(call, ToolCall("c1", "check_balance"))
    call.send(ToolCompleted(call.tick(), rid, ToolResult("c1", "bye", action=HangUpAction())))
    assert [c.text for c in call.of(Speak)][-1] == "Goodbye."  # type: ignore[attr-defined]
    step = call.play()
    assert step is not None
    assert HangUp("tool") in step.commands
    assert call.state.phase is Phase.ENDED


# -- 8. handoffs -------------------------------------------------------------------------


def test_the_model_sees_one_handoff_tool_per_target() -> None:
    call = in_turn()
    tools = call.last_start().extra_tools
    assert [t.name for t in tools] == ["handoff_to_fraud"]
    assert tools[0].description == "Card fraud and lost cards"


def test_a_handoff_tool_switches_agent_inside_the_domain_and_keeps_history() -> None:
    call = in_turn()
    history_before = call.state.history
    rid = request(call, ToolCall("h1", "handoff_to_fraud", {"reason": "lost card"}))
    assert not any(isinstance(c, RunTool) for c in call.commands)
    assert HandOffTo("concierge", "fraud", "lost card") in call.commands
    assert call.state.agent == "fraud"
    assert call.state.history[: len(history_before)] == history_before
    tool_message = call.state.history[-1]
    assert tool_message.role is Role.TOOL and tool_message.tool_call_id == "h1"
    # the fraud agent has a handoff greeting: it is spoken instead of another model round
    speaks = [c for c in call.commands if isinstance(c, Speak)]
    assert speaks[-1].text == "Fraud team here, I can help."
    assert call.last_start().response_id == rid  # no further model round
    call.play()
    assert call.state.phase is Phase.LISTENING
    call.user_says("my card is gone")
    start = call.last_start()
    assert start.agent == "fraud"
    assert start.messages[0].text == "You handle card fraud."


def test_a_handoff_without_greeting_lets_the_new_agent_answer_at_once() -> None:
    call = in_turn()
    rid = request(call, ToolCall("h1", "handoff_to_fraud"))
    assert call.state.agent == "fraud"
    call.play()
    call.user_says("back to the concierge please")
    rid = request(call, ToolCall("h2", "handoff_to_concierge"))
    assert call.state.agent == "concierge"
    start = call.last_start()
    assert start.agent == "concierge"
    assert start.response_id != rid


def test_a_tool_result_can_hand_off() -> None:
    call = in_turn()
    rid = request(call, ToolCall("c1", "lock_card"))
    call.send(ToolCompleted(call.tick(), rid, ToolResult("c1", "ok", action=HandOff("fraud"))))
    assert call.state.agent == "fraud"
    assert HandOffTo("concierge", "fraud", "") in call.commands


def test_max_handoffs_per_turn_stops_a_to_b_to_a_loops() -> None:
    graph = AgentGraph(
        "a",
        (
            AgentSpec("a", greeting="Hi.", handoffs=(HandoffTarget("b"),)),
            AgentSpec("b", handoffs=(HandoffTarget("a"),)),
        ),
    )
    call = Call(graph, ConversationPolicy(handoffs=HandoffPolicy(max_handoffs_per_turn=2)))
    call.greet()
    call.user_says("ping pong")
    for n, target in enumerate(["b", "a", "b"]):
        request(call, ToolCall(f"h{n}", f"handoff_to_{target}"))
    handoffs = [(c.from_agent, c.to_agent) for c in call.commands if isinstance(c, HandOffTo)]
    assert handoffs == [("a", "b"), ("b", "a")]
    assert call.state.agent == "a"
    assert call.state.status.errors == ("handoff to 'b' refused: too many this turn",)
    assert call.state.response is not None  # the model answers as agent "a"
    call.user_says("and now b please")
    request(call, ToolCall("h9", "handoff_to_b"))
    assert call.state.agent == "b"  # the limit is per turn


def test_an_unknown_target_keeps_the_current_agent_and_records_the_error() -> None:
    call = in_turn()
    rid = request(call, ToolCall("h1", "handoff_to_nobody"))
    assert call.state.agent == "concierge"
    assert call.state.status.errors == ("unknown handoff target 'nobody'",)
    tool = next(m for m in call.state.history if m.role is Role.TOOL)
    assert "no agent named 'nobody'" in tool.text
    assert any(isinstance(c, StartResponse) and c.response_id != rid for c in call.commands)
