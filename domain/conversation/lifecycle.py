"""The call's lifecycle: start, end, transfer results, timers, and settling a finished reply.

Settling runs after a handler asked for it (:meth:`Tx.settle`): when nothing plays and no
response is in flight, the reply is stored and what follows it happens (listen, hang up or
transfer); deferred caller input is taken then.
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import CollectDtmf, HangUp
from domain.commands import TimerName as Timer
from domain.conversation import barge_in, caller, consult, endpointing, screening, speech
from domain.conversation.parts import Then
from domain.conversation.transaction import MAX_ERRORS, Tx
from domain.events import CallEnded, CallStarted, TimerFired, TransferResult
from ports import TranscriptEntry


def settle(tx: Tx) -> None:
    """When nothing is playing and no response is in flight, finish the reply and move on."""
    s = tx.state
    blocked = s.status.transferring and not s.status.consulting
    if s.status.end_reason or s.response is not None or blocked:
        return
    at = tx.at
    reply = s.reply
    if reply is not None:
        if reply.played < len(reply.clauses):
            return
        tx.commit_reply(at)
        tx.state = replace(tx.state, reply=None)
        then, target = reply.then, reply.target
    else:
        if s.resume is not None:
            return
        then, target = Then.LISTEN, ""
    if then is Then.HANG_UP:
        tx.end(target or "hang_up", HangUp(target))
    elif then is Then.TRANSFER:
        tx.disarm(Timer.NO_INPUT)
        escalated = tx.cfg.policy.failures.should_escalate(tx.state.status.failures)
        consult.transfer(tx, target, "escalation" if escalated else "tool")
    elif then is Then.COMPLETE_TRANSFER:
        consult.complete(tx)
    elif screening.screening(tx):
        return  # an outbound callee is being screened: nobody is waited for
    else:
        deferred = tx.state.user.deferred
        if deferred:
            tx.state = replace(tx.state, user=replace(tx.state.user, deferred=""))
            caller.submit(tx, deferred, at)
        elif not tx.state.user.speaking:
            tx.arm(Timer.NO_INPUT, tx.cfg.policy.no_input.no_input_timeout_ms)
        collect_dtmf(tx)


def collect_dtmf(tx: Tx) -> None:
    """The agent waits for the caller: with ``dtmf_recognize``, have the provider collect keys."""
    s = tx.state
    if s.status.end_reason or s.user.dtmf_recognizing or not tx.cfg.agents[s.agent].dtmf_recognize:
        return
    pol = tx.cfg.policy.dtmf
    tx.state = replace(s, user=replace(s.user, dtmf_recognizing=True))
    tx.issue(CollectDtmf(pol.max_digits, pol.inter_digit_timeout_ms, pol.submit_key))


def on_call_started(tx: Tx, ev: CallStarted) -> str | None:
    """The call connected: the start agent greets (a resumed call keeps its agent, unspoken)."""
    s = tx.state
    if s.status.started:
        return "call already started"
    agent = tx.cfg.agents.get(s.agent) or tx.cfg.agents[tx.cfg.graph.start]
    tx.state = replace(s, agent=agent.name, status=replace(s.status, started=True))
    tx.save = True
    if screening.start(tx, ev):
        return None  # an outbound callee: their first words decide (domain.outbound)
    if not s.history:  # a resumed call (media reconnect) was greeted already
        speech.say(tx, agent.greeting, interruptible=agent.greeting_interruptible)
    tx.settle()
    return None


def on_call_ended(tx: Tx, ev: CallEnded) -> str | None:
    """The call is over: store what was heard and said, and end."""
    s = tx.state
    if s.status.end_reason:
        tx.save = True
        return None
    at = ev.at_ms
    tx.seal()
    if s.response is not None:
        tx.cancel_response("call ended")
    reply = tx.state.reply
    if reply is not None:
        if reply.played < len(reply.clauses):
            heard, _rest = speech.split_heard(tx, reply)
            tx.commit_assistant(reply.agent, heard, True, at)
        else:
            tx.commit_reply(at)
        tx.state = replace(tx.state, reply=None)
    if tx.state.resume is not None:
        tx.commit_resume(at)
    deferred = tx.state.user.deferred
    if deferred:
        tx.add_user_message(deferred)
        tx.emit(TranscriptEntry("user", deferred, at, tx.state.agent))
    tx.end(ev.reason or "remote_closed", None)
    return None


def on_transfer_result(tx: Tx, ev: TransferResult) -> str | None:
    """The transfer was accepted (the call ends) or failed (the conversation goes on)."""
    s = tx.state
    if not s.status.transferring:
        return "no transfer pending"
    if ev.accepted:
        tx.end("transferred", None)
        return None
    tx.state = replace(
        s,
        status=replace(
            s.status,
            transferring=False,
            consulting="",
            errors=(*s.status.errors, "transfer failed")[-MAX_ERRORS:],
        ),
    )
    agent = tx.cfg.agents[s.agent]
    if tx.cfg.policy.failures.should_escalate(s.status.failures):
        # The escalation itself failed: end the call rather than loop back into failures.
        speech.say(tx, agent.goodbye, interruptible=False, then=Then.HANG_UP, target="failures")
    else:
        speech.say(tx, agent.fallback)
    tx.settle()
    return None


def on_timer(tx: Tx, ev: TimerFired) -> str | None:
    """A running timer fired (stale tokens are ignored)."""
    s = tx.state
    key = (ev.name, ev.token)
    if key not in s.timers:
        return "stale or unknown timer"
    tx.state = replace(s, timers=tuple(t for t in s.timers if t != key))
    at = ev.at_ms
    name = ev.name
    if name == Timer.BARGE_IN:
        barge_in.check(tx, at)
    elif name == Timer.END_OF_TURN:
        tx.seal()
    elif name == Timer.ENDPOINTING:
        held = endpointing.expired(tx)
        if held:
            caller.user_input(tx, held, at, check_words=True)
    elif name == Timer.FALSE_INTERRUPTION:
        barge_in.on_false_interruption(tx, at)
    elif name == Timer.NO_INPUT:
        _on_no_input(tx)
    elif name == Timer.DTMF:
        digits = tx.state.user.dtmf
        if digits:
            tx.state = replace(tx.state, user=replace(tx.state.user, dtmf=""))
            caller.user_input(tx, digits, at, check_words=False)
    elif name in (Timer.SCREENING, Timer.BEEP):
        screening.on_timer(tx, name, at)
    return None


def _on_no_input(tx: Tx) -> None:
    s = tx.state
    if not caller.idle(s):
        return
    agent = tx.cfg.agents[s.agent]
    if tx.cfg.policy.no_input.should_reprompt(s.status.reprompts):
        tx.state = replace(s, status=replace(s.status, reprompts=s.status.reprompts + 1))
        speech.say(tx, agent.reprompt)
    else:
        speech.say(tx, agent.goodbye, interruptible=False, then=Then.HANG_UP, target="no_input")
    tx.settle()
