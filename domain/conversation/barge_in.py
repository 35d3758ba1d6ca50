"""Barge-in and false interruption.

The caller barges in when speech that began over the current reply has lasted
``min_speech_ms`` (or its partial has ``min_words``), or with a DTMF key; playback stops and
the response is cancelled in the same step, and only the heard words are kept. With
``resume_false_interruption``, the unplayed rest waits ``false_interruption_timeout_ms``
(counted again from the end of the caller's speech, so a recogniser that transcribes only
then is not outrun): if the caller said nothing by then, it is spoken again. Speech that
ends in a hang-up or a transfer, and uninterruptible clauses, are never cut.
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import StopPlayback, StopReason
from domain.commands import TimerName as Timer
from domain.conversation import speech
from domain.conversation.parts import Clause, Reply, Resume, Then
from domain.conversation.transaction import Tx
from ports import JsonObject, TranscriptEntry


def can_barge(reply: Reply, clause: Clause) -> bool:
    """Whether the caller may cut ``clause`` of ``reply``."""
    # Speech that ends in a hang-up or a transfer is never cut: the action must follow.
    return clause.interruptible and reply.then is Then.LISTEN


def check(tx: Tx, at: float) -> None:
    """Barge in if the caller's current speech now qualifies."""
    s = tx.state
    u = s.user
    if not u.speaking or u.barged_in:
        return
    reply = s.reply
    if reply is None:
        return
    clause = reply.playing
    if clause is None or not can_barge(reply, clause):
        return
    if not any(c.speech_id == u.over_speech for c in reply.clauses):
        return  # the speech began before this reply: the caller's own turn, not a barge-in
    if tx.cfg.barge[reply.agent].should_interrupt(at - u.started_ms, u.partial):
        barge_in(tx, at, StopReason.BARGE_IN)


def barge_in(tx: Tx, at: float, reason: StopReason) -> None:
    """Stop playback and cancel the response in one step; keep only the heard words."""
    reply = tx.state.reply
    assert reply is not None  # noqa: S101 - callers check
    tx.seal()
    tx.issue(StopPlayback(reason))
    if tx.state.response is not None:
        tx.cancel_response("interrupted by the caller")
    tx.disarm(Timer.BARGE_IN)
    heard, rest = speech.split_heard(tx, reply)
    s = tx.state
    tx.state = replace(
        s,
        reply=None,
        user=replace(s.user, barged_in=True),
        status=replace(s.status, barge_ins=s.status.barge_ins + 1),
    )
    pol = tx.cfg.barge[reply.agent]
    if pol.resume_false_interruption and rest:
        tx.state = replace(
            tx.state, resume=Resume(reply.agent, heard, rest, reply.then, reply.target)
        )
        tx.arm(Timer.FALSE_INTERRUPTION, pol.false_interruption_timeout_ms)
    else:
        tx.commit_assistant(reply.agent, heard, True, at)
    tx.save = True


def on_false_interruption(tx: Tx, at: float) -> None:
    """The window after a barge-in closed with no words: resume the interrupted message."""
    resume = tx.state.resume
    if resume is None:
        return
    user = tx.state.user
    if user.speaking or user.held:
        # Still talking without words yet, or words held by the end-of-turn model (they will
        # be taken as the turn): wait for the final, the end of the speech, or the turn.
        tx.arm(Timer.FALSE_INTERRUPTION, tx.cfg.barge[resume.agent].false_interruption_timeout_ms)
        return
    prefix = resume.heard + " " if resume.heard else ""
    tx.state = replace(
        tx.state,
        resume=None,
        reply=Reply(resume.agent, resume.then, resume.target, prefix),
    )
    for clause in tx.cfg.segmenter.segment(resume.rest):
        if clause.strip():
            speech.add_clause(tx, clause, None, True)
    data: JsonObject = {"event": "false_interruption"}
    tx.emit(TranscriptEntry("event", "resumed", at, resume.agent, data=data))
