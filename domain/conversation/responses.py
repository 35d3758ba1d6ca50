"""The model side: starting responses, streamed text, completion, failure, the next round."""

from __future__ import annotations

from dataclasses import replace

from domain.commands import StartResponse
from domain.conversation import speech
from domain.conversation.failures import failure
from domain.conversation.parts import Reply, ResponseState, Then
from domain.conversation.transaction import Tx
from domain.events import ResponseCompleted, ResponseFailed, ResponseTextDelta


def start_response(tx: Tx) -> None:
    """Ask the active agent's model for the next response (round = tool rounds + 1)."""
    cfg = tx.cfg
    s = tx.state
    seq = s.seq + 1
    rid = f"r{seq}"
    name = s.agent
    tx.issue(
        StartResponse(
            rid,
            name,
            (cfg.system[name], *s.history),
            cfg.agents[name].tools,
            cfg.handoff_tools[name],
            cfg.options[name],
        )
    )
    tx.state = replace(s, seq=seq, response=ResponseState(rid, s.turn.tool_rounds + 1))


def current(tx: Tx, response_id: str) -> ResponseState | None:
    """The response in flight when its id is ``response_id``, else None (late or unknown)."""
    resp = tx.state.response
    if resp is None or resp.response_id != response_id:
        return None
    return resp


def on_delta(tx: Tx, ev: ResponseTextDelta) -> str | None:
    """Streamed text: cut into clauses, each spoken as soon as it is complete."""
    resp = current(tx, ev.response_id)
    if resp is None:
        return "unknown or cancelled response"
    if not resp.streaming:
        return "response already completed"
    if not ev.text:
        return "empty text delta"
    s = tx.state
    reply = s.reply
    if reply is None:
        reply = Reply(agent=s.agent)
    clauses, rest = tx.cfg.segmenter.cut(reply.buffer + ev.text)
    tx.state = replace(s, reply=replace(reply, buffer=rest))
    if clauses:
        for clause in clauses:
            speech.add_clause(tx, clause, resp.response_id, True)
        speech.mark_spoke(tx)
    return None


def on_response_completed(tx: Tx, ev: ResponseCompleted) -> str | None:
    """The model finished this round: speak the rest; a success resets the failure count."""
    resp = current(tx, ev.response_id)
    if resp is None:
        return "unknown or cancelled response"
    if not resp.streaming:
        return "response already completed"
    tx.seal()
    speech.flush(tx, resp.response_id)
    s = tx.state
    latest = s.response or resp
    tx.state = replace(
        s, response=replace(latest, streaming=False), status=replace(s.status, failures=0)
    )
    continue_turn(tx)
    return None


def continue_turn(tx: Tx) -> None:
    """After a round ended and its tools finished: the next round, a line, or settle."""
    resp = tx.state.response
    if resp is None or resp.streaming or resp.pending_calls:
        return
    tx.state = replace(tx.state, response=None)
    agent = tx.cfg.agents[tx.state.agent]
    if not resp.tool_round:
        tx.settle()
        return
    if resp.then is Then.HANG_UP:
        speech.say(tx, agent.goodbye, interruptible=False, then=Then.HANG_UP, target=resp.target)
    elif resp.then is Then.TRANSFER:
        speech.say(
            tx, agent.transfer_line, interruptible=False, then=Then.TRANSFER, target=resp.target
        )
    elif resp.handoff_greeting:
        speech.say(tx, agent.handoff_greeting)
    else:
        start_response(tx)
        return
    tx.settle()


def on_response_failed(tx: Tx, ev: ResponseFailed) -> str | None:
    """The model failed: drop its unspoken text, answer its tool calls, count the failure."""
    resp = current(tx, ev.response_id)
    if resp is None:
        return "unknown or cancelled response"
    tx.seal()
    reply = tx.state.reply
    if reply is not None and reply.buffer:
        tx.state = replace(tx.state, reply=replace(reply, buffer=""))
    if resp.pending_calls:
        tx.cancel_response("response failed")
    else:
        tx.state = replace(tx.state, response=None)
    failure(tx, f"response_failed:{ev.error_code}", ev.at_ms, ev.error_code)
    return None
