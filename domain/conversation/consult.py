"""Warm transfer: consult the person first, tell them why, then connect the caller.

For an agent with ``warm_transfer``, a transfer (a tool's, or an escalation's) starts a consult
once the transfer line has played: ``StartConsult`` puts the caller on hold and calls the
person into the call, carrying the agent's template summary, the conversation (for a
model-written summary when the agent's ``transfer_summary`` is ``"model"``) and a custom
calling context. ``ConsultResult`` says whether they answered:

* answered: the summary is spoken to them (uninterruptible; the caller, on hold, does not hear
  it), then ``CompleteTransfer`` takes the caller off hold and the agent leaves the call;
* not answered: the caller is back (the runtime took them off hold) and hears the agent's
  ``transfer_unanswered`` line; the conversation goes on.
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import CompleteTransfer, StartConsult, TransferCall
from domain.conversation import speech
from domain.conversation.parts import Then
from domain.conversation.transaction import Tx
from domain.events import ConsultResult
from ports import JsonObject, Role, TranscriptEntry

CALLER_WORDS = 3
"""How many of the caller's last messages the template summary quotes."""


def transfer_context(tx: Tx, kind: str) -> tuple[tuple[str, str], ...]:
    """The custom calling context of a transfer: the call, the agent and why."""
    s = tx.state
    return (("parley-call-id", s.call_id), ("parley-agent", s.agent), ("parley-reason", kind))


def template_summary(tx: Tx, kind: str) -> str:
    """The agent's ``consult_summary`` with ``{reason}`` and ``{caller_said}`` filled in."""
    s = tx.state
    said = [m.text for m in s.history if m.role is Role.USER and m.text][-CALLER_WORDS:]
    reason = (
        "The assistant could not help them."
        if kind == "escalation"
        else "They asked to speak with a person."
    )
    template = tx.cfg.agents[s.agent].consult_summary
    try:
        return template.format(reason=reason, caller_said="; ".join(said) or "nothing yet")
    except (KeyError, IndexError, ValueError):
        return template


def transfer(tx: Tx, target: str, kind: str) -> None:
    """Start the transfer the reply asked for: a consult (warm) or a blind transfer."""
    s = tx.state
    agent = tx.cfg.agents[s.agent]
    status = replace(s.status, transferring=True, transfer_reason=kind)
    context = transfer_context(tx, kind)
    data: JsonObject = {"event": "transfer", "target": target, "warm": agent.warm_transfer}
    if agent.warm_transfer:
        tx.state = replace(s, status=replace(status, consulting=target))
        messages = s.history if agent.transfer_summary == "model" else ()
        tx.issue(StartConsult(target, kind, template_summary(tx, kind), messages, context))
    else:
        tx.state = replace(s, status=status)
        tx.issue(TransferCall(target, kind, context))
    tx.emit(TranscriptEntry("event", "transfer", tx.at, s.agent, data=data))


def on_consult_result(tx: Tx, ev: ConsultResult) -> str | None:
    """The person consulted answered (summarise, then connect) or did not (back to the caller)."""
    s = tx.state
    if not s.status.consulting:
        return "no consult pending"
    data: JsonObject = {"event": "consult", "target": s.status.consulting, "answered": ev.answered}
    tx.emit(TranscriptEntry("event", "consult", ev.at_ms, s.agent, data=data))
    if ev.answered:
        summary = ev.summary.strip() or template_summary(tx, s.status.transfer_reason)
        speech.say(
            tx,
            summary,
            interruptible=False,
            then=Then.COMPLETE_TRANSFER,
            target=s.status.consulting,
        )
    else:
        tx.state = replace(s, status=replace(s.status, transferring=False, consulting=""))
        speech.say(tx, tx.cfg.agents[s.agent].transfer_unanswered)
    tx.settle()
    return None


def complete(tx: Tx) -> None:
    """The summary has played: connect the caller and leave."""
    tx.end("transferred", CompleteTransfer())
