"""Tool rounds and handoffs: the model's tool calls, their results, and agent switches.

Handoff tools (``handoff_to_<agent>``) are handled here and never sent to ``RunTool``.
"""

from __future__ import annotations

from dataclasses import replace

from domain.agents import HANDOFF_TOOL_PREFIX
from domain.commands import CancelResponse, HandOffTo, RunTool
from domain.conversation import speech
from domain.conversation.parts import Then
from domain.conversation.responses import continue_turn, current
from domain.conversation.transaction import Tx
from domain.events import ToolCallsRequested, ToolCompleted
from ports import HandOff, JsonObject, ToolCall, TranscriptEntry
from ports import HangUp as HangUpAction
from ports import TransferCall as TransferAction


def on_tool_calls(tx: Tx, ev: ToolCallsRequested) -> str | None:
    """The model asks for tools: run them (handoffs at once), within the round limit."""
    resp = current(tx, ev.response_id)
    if resp is None:
        return "unknown or cancelled response"
    if not resp.streaming:
        return "response already completed"
    if not ev.calls:
        return "no tool calls"
    at = ev.at_ms
    pol = tx.cfg.policy
    tx.seal()
    speech.flush(tx, resp.response_id)
    s = tx.state
    latest = s.response or resp
    if not latest.tool_round and not pol.tools.allows_round(s.turn.tool_rounds):
        tx.commit_reply(at)
        tx.issue(CancelResponse(resp.response_id))
        tx.record_error("too many tool rounds in one turn", at)
        tx.state = replace(tx.state, response=None)
        speech.say(tx, tx.cfg.agents[tx.state.agent].apology)
        tx.settle()
        return None
    # A second batch of calls in the same response belongs to the same round.
    rounds = s.turn.tool_rounds + (0 if latest.tool_round else 1)
    tx.state = replace(
        s,
        turn=replace(s.turn, tool_rounds=rounds),
        response=replace(latest, tool_round=True),
    )
    tx.commit_reply(at, ev.calls)
    pending: list[ToolCall] = []
    timeout = pol.tools.tool_timeout_ms
    for call in ev.calls:
        if call.name.startswith(HANDOFF_TOOL_PREFIX):
            reason = call.arguments.get("reason", "")
            ok, content = handoff(tx, call.name[len(HANDOFF_TOOL_PREFIX) :], str(reason or ""), at)
            tx.add_tool_message(call, content, not ok, at)
        else:
            pending.append(call)
            tx.issue(RunTool(resp.response_id, call, timeout))
    after = tx.state.response
    if after is not None and pending:
        tx.state = replace(
            tx.state, response=replace(after, pending_calls=(*after.pending_calls, *pending))
        )
    return None


def on_tool_completed(tx: Tx, ev: ToolCompleted) -> str | None:
    """A tool result: store it, apply its action, and go on once every call is answered."""
    resp = current(tx, ev.response_id)
    if resp is None:
        return "unknown or cancelled response"
    result = ev.result
    call = next((c for c in resp.pending_calls if c.id == result.call_id), None)
    if call is None:
        return "unknown tool call id"
    at = ev.at_ms
    pending = tuple(c for c in resp.pending_calls if c is not call)
    tx.state = replace(tx.state, response=replace(resp, pending_calls=pending))
    tx.add_tool_message(call, result.content, result.is_error, at)
    action = result.action
    if isinstance(action, HandOff):
        handoff(tx, action.agent, action.reason, at)
    elif isinstance(action, TransferAction | HangUpAction):
        latest = tx.state.response
        if latest is not None:
            if isinstance(action, TransferAction):
                then, target = Then.TRANSFER, action.target
            else:
                then, target = Then.HANG_UP, "tool"
            tx.state = replace(tx.state, response=replace(latest, then=then, target=target))
    continue_turn(tx)
    return None


def handoff(tx: Tx, target: str, reason: str, at: float) -> tuple[bool, str]:
    """Switch the active agent to ``target``; returns (ok, the tool result's content)."""
    cfg = tx.cfg
    s = tx.state
    source = s.agent
    if target not in cfg.agents:
        tx.record_error(f"unknown handoff target {target!r}", at)
        return False, f"Handoff failed: there is no agent named {target!r}."
    if target == source:
        return True, f"The {target} agent is already active."
    if not cfg.policy.handoffs.allows_handoff(s.turn.handoffs):
        tx.record_error(f"handoff to {target!r} refused: too many this turn", at)
        return False, "Handoff refused: too many handoffs in this turn."
    if s.reply is not None:
        tx.commit_reply(at)
        reply = tx.state.reply
        if reply is not None:
            tx.state = replace(tx.state, reply=replace(reply, agent=target))
    s = tx.state
    resp = s.response
    if resp is not None and cfg.agents[target].handoff_greeting:
        resp = replace(resp, handoff_greeting=True)
    tx.state = replace(
        s, agent=target, response=resp, turn=replace(s.turn, handoffs=s.turn.handoffs + 1)
    )
    tx.issue(HandOffTo(source, target, reason))
    data: JsonObject = {"event": "handoff", "from": source, "to": target, "reason": reason}
    tx.emit(TranscriptEntry("event", f"handoff to {target}", at, target, data=data))
    return True, f"Handed off to the {target} agent."
