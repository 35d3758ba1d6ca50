"""The caller side: voice activity, partial and final transcripts, end of turn, DTMF.

End of turn: a final transcript starts the response at once (unless an end-of-turn model
judged the pause incomplete: :mod:`domain.conversation.endpointing` holds it); a further
final within
``end_of_turn_grace_ms``, before the response has spoken or called a tool, cancels it, merges
into the same user message and restarts it. The user's transcript line is emitted when the
turn is sealed (grace timer, first clause spoken, tool call, completion or failure). Input
that arrives during uninterruptible speech is deferred until that speech has played.
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import CancelResponse, StopReason
from domain.commands import TimerName as Timer
from domain.conversation import barge_in, endpointing
from domain.conversation.parts import TurnState, UserState
from domain.conversation.responses import start_response
from domain.conversation.state import SessionState
from domain.conversation.transaction import Tx
from domain.events import (
    DtmfCollected,
    DtmfDigit,
    EndOfTurnPredicted,
    FinalTranscript,
    PartialTranscript,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import transcript_words
from ports import Role

DTMF_KEYS = frozenset("0123456789*#ABCD")


def on_speech_started(tx: Tx, ev: UserSpeechStarted) -> str | None:
    """VAD onset: remember what was playing; barge in now or after ``min_speech_ms``."""
    s = tx.state
    u = s.user
    if u.speaking:
        return "caller already speaking"
    reply = s.reply
    over = (
        reply.clauses[reply.played].speech_id
        if reply is not None and reply.played < len(reply.clauses)
        else ""
    )
    user = UserState(True, ev.at_ms, "", False, u.deferred, u.dtmf, over)
    # What the end-of-turn model said of the pause, a held final and a provider DTMF
    # recognition under way all outlive the pause.
    user = replace(
        user,
        turn_probability=u.turn_probability,
        paused_ms=u.paused_ms,
        held=u.held,
        held_ms=u.held_ms,
        dtmf_recognizing=u.dtmf_recognizing,
    )
    tx.state = replace(s, user=user)
    if s.timers:
        tx.disarm(Timer.NO_INPUT)
    endpointing.speech_started(tx)
    if reply is not None and over:
        delay = tx.cfg.barge[reply.agent].min_speech_ms
        if delay > 0:
            tx.arm(Timer.BARGE_IN, delay)
        else:
            barge_in.check(tx, ev.at_ms)
    return None


def on_speech_stopped(tx: Tx, ev: UserSpeechStopped) -> str | None:
    """VAD offset: a last barge-in check; the no-input timer restarts when all is quiet."""
    if not tx.state.user.speaking:
        return "caller was not speaking"
    barge_in.check(tx, ev.at_ms)
    s = tx.state
    tx.state = replace(s, user=replace(s.user, speaking=False))
    if s.timers:
        tx.disarm(Timer.BARGE_IN)
    if s.resume is not None:
        # The false-interruption window counts from the end of the speech: a batch
        # recogniser (Whisper) gives its final only after the caller stopped.
        pol = tx.cfg.barge[s.resume.agent]
        tx.arm(Timer.FALSE_INTERRUPTION, pol.false_interruption_timeout_ms)
    endpointing.speech_stopped(tx, ev.judged)
    if idle(tx.state):
        tx.arm(Timer.NO_INPUT, tx.cfg.policy.no_input.no_input_timeout_ms)
    return None


def on_partial(tx: Tx, ev: PartialTranscript) -> str | None:
    """A partial transcript: kept for the barge-in word check."""
    s = tx.state
    tx.state = replace(s, user=replace(s.user, partial=ev.text))
    barge_in.check(tx, ev.at_ms)
    return None


def on_final(tx: Tx, ev: FinalTranscript) -> str | None:
    """A final transcript: the caller's input (backchannels during a resume window ignored)."""
    text = " ".join(ev.text.split())
    if not text:
        return "empty transcript"
    s = tx.state
    if s.status.transferring:
        return "transfer pending"
    if s.resume is not None and tx.cfg.barge[s.resume.agent].is_backchannel(text):
        return "backchannel during the false-interruption window"
    tx.state = replace(s, user=replace(s.user, partial=""))
    taken = endpointing.take_or_hold(tx, text, ev.at_ms)
    if taken is None:
        return None  # held: the end-of-turn model judged the pause incomplete
    return user_input(tx, taken, ev.at_ms, check_words=True)


def on_end_of_turn(tx: Tx, ev: EndOfTurnPredicted) -> str | None:
    """The end-of-turn model judged a pause; a held final may be taken now."""
    s = tx.state
    if s.user.speaking:
        return "the caller is speaking again"
    if s.status.transferring:
        return "transfer pending"
    taken = endpointing.record(tx, ev)
    if taken:
        return user_input(tx, taken, ev.at_ms, check_words=True)
    return None


def on_dtmf(tx: Tx, ev: DtmfDigit) -> str | None:
    """A DTMF key: collect, clear or submit digits; a key over the agent is a barge-in."""
    digit = ev.digit.strip().upper()
    if len(digit) != 1 or digit not in DTMF_KEYS:
        return f"unknown DTMF digit {ev.digit!r}"
    s = tx.state
    if s.status.transferring:
        return "transfer pending"
    # Keys of a collection the conversation asked for wait for DtmfCollected; others are
    # ordinary keys, whatever brought them.
    recognized = ev.source == "recognize" and s.user.dtmf_recognizing
    if s.user.dtmf_recognizing and not recognized:
        return "the provider is collecting keys (they arrive from its recognize)"
    pol = tx.cfg.policy.dtmf
    tx.disarm(Timer.NO_INPUT)
    if recognized:
        # The provider ended the collection on the stop key: digits wait for DtmfCollected.
        digits = (s.user.dtmf + digit)[-pol.max_digits :]
        tx.state = replace(s, user=replace(s.user, dtmf=digits))
        return None
    if digit == pol.clear_key:
        if not s.user.dtmf:
            return "no digits to clear"
        tx.state = replace(tx.state, user=replace(tx.state.user, dtmf=""))
        tx.disarm(Timer.DTMF)
        return None
    if digit == pol.submit_key:
        digits = s.user.dtmf
        if not digits:
            return "no digits to submit"
        tx.state = replace(tx.state, user=replace(tx.state.user, dtmf=""))
        tx.disarm(Timer.DTMF)
        return user_input(tx, digits, ev.at_ms, check_words=False)
    digits = (s.user.dtmf + digit)[-pol.max_digits :]
    tx.state = replace(tx.state, user=replace(tx.state.user, dtmf=digits))
    tx.arm(Timer.DTMF, pol.inter_digit_timeout_ms)
    reply = tx.state.reply
    clause = reply.playing if reply is not None else None
    if reply is not None and clause is not None and barge_in.can_barge(reply, clause):
        barge_in.barge_in(tx, ev.at_ms, StopReason.DTMF)
    return None


def on_dtmf_collected(tx: Tx, ev: DtmfCollected) -> str | None:
    """The provider's key collection ended: its digits are the caller's input."""
    s = tx.state
    if not s.user.dtmf_recognizing:
        return "no key collection pending"
    digits = s.user.dtmf
    tx.state = replace(s, user=replace(s.user, dtmf_recognizing=False, dtmf=""))
    if not digits or s.status.transferring:
        return None
    return user_input(tx, digits, ev.at_ms, check_words=False)


def user_input(tx: Tx, text: str, at: float, *, check_words: bool) -> str | None:
    """A finished piece of caller input: barge in if needed, then take the turn."""
    reply = tx.state.reply
    clause = reply.playing if reply is not None else None
    if reply is not None and clause is not None and barge_in.can_barge(reply, clause):
        if check_words:
            pol = tx.cfg.barge[reply.agent]
            if pol.is_backchannel(text):
                return "backchannel while the agent speaks"
            if pol.min_words > 0 and len(transcript_words(text)) < pol.min_words:
                return "too few words to interrupt"
        if not tx.state.user.barged_in:
            barge_in.barge_in(tx, at, StopReason.BARGE_IN)
    submit(tx, text, at)
    return None


def submit(tx: Tx, text: str, at: float) -> None:
    """Make ``text`` a user turn (or merge it into the open one) and start the response."""
    s = tx.state
    reply = s.reply
    if reply is not None and reply.played < len(reply.clauses):
        # Only uninterruptible speech is still playing here: handle the input after it.
        deferred = f"{s.user.deferred} {text}".strip()
        tx.state = replace(s, user=replace(s.user, deferred=deferred))
        return
    if s.resume is not None:
        tx.commit_resume(at)
    tx.disarm(Timer.NO_INPUT)
    s = tx.state
    turn = s.turn
    resp = s.response
    if (
        turn.open
        and resp is not None
        and not resp.spoke
        and not resp.tool_round
        and resp.round == 1
        and s.history
        and s.history[-1].role is Role.USER
        and tx.cfg.endpointing[s.agent].merges(turn.final_ms, at)
    ):
        merged = f"{turn.text} {text}"
        tx.issue(CancelResponse(resp.response_id))
        last = replace(s.history[-1], text=merged)
        tx.state = replace(
            s,
            response=None,
            # The cancelled response spoke nothing; drop the text it had buffered.
            reply=s.reply if s.reply is not None and s.reply.clauses else None,
            history=(*s.history[:-1], last),
            turn=replace(turn, text=merged, final_ms=at),
        )
        start_response(tx)
        _arm_end_of_turn(tx)
        tx.save = True
        return
    tx.seal()
    if tx.state.response is not None:
        tx.cancel_response("superseded by a new caller turn")
    if tx.state.reply is not None:
        tx.commit_reply(at)
        tx.state = replace(tx.state, reply=None)
    tx.add_user_message(text)
    s = tx.state
    tx.state = replace(
        s,
        turn=TurnState(True, text, at, 0, 0),
        status=replace(s.status, reprompts=0, user_turns=s.status.user_turns + 1),
    )
    start_response(tx)
    _arm_end_of_turn(tx)


def _arm_end_of_turn(tx: Tx) -> None:
    grace = tx.cfg.endpointing[tx.state.agent].end_of_turn_grace_ms
    if grace > 0:
        tx.arm(Timer.END_OF_TURN, grace)
    else:
        tx.seal()


def idle(s: SessionState) -> bool:
    """Nothing is said, pending or expected from either side: the no-input timer may run."""
    return (
        s.reply is None
        and s.response is None
        and s.resume is None
        and not s.user.speaking
        and not s.user.dtmf
        and not s.user.deferred
        and not s.user.held
        and not s.status.transferring
    )
