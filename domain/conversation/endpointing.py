"""End of turn with an end-of-turn model: a final after a pause judged incomplete is held.

The runtime asks its end-of-turn model about each pause the VAD reports and feeds the answer
as :class:`~domain.events.EndOfTurnPredicted`. With :class:`~domain.policies.EndpointingPolicy`:

* a final after a pause judged complete is taken at once (as without a model);
* a final after a pause judged incomplete is held (``UserState.held``) and the ENDPOINTING
  timer runs for what is left, since the end of speech, of the wait the policy gives for how
  the held text ends (a question: none by default; a full stop: a short wait; otherwise
  ``max_endpointing_delay_ms``: :meth:`~domain.policies.EndpointingPolicy.hold_ms`);
* when the caller goes on, the timer stops; their next final joins the held text and the
  new pause is judged again; when the timer fires, the held text is taken as the turn;
* a final that arrives before its pause is judged (the runtime said a judgement is coming:
  ``UserSpeechStopped.judged``) is held until the judgement decides, or for at most
  ``judgement_wait_ms`` and then taken as without a model; over agent speech the barge-in
  rules decide.

These functions only update the state; the caller module takes the text they return as the
user's input (:func:`domain.conversation.caller.user_input`).
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import TimerName as Timer
from domain.conversation.transaction import Tx
from domain.events import EndOfTurnPredicted


def speech_started(tx: Tx) -> None:
    """The caller speaks again: a held final waits for their next pause."""
    if tx.state.user.held:
        tx.disarm(Timer.ENDPOINTING)


def speech_stopped(tx: Tx, judged: bool = False) -> None:
    """A new pause; ``judged``: the model's judgement of it is coming.

    With text held, the endpointing delay runs.
    """
    u = tx.state.user
    if u.turn_probability is not None or u.judging != judged:
        tx.state = replace(tx.state, user=replace(u, turn_probability=None, judging=judged))
    if u.held:
        tx.arm(Timer.ENDPOINTING, tx.cfg.endpointing[tx.state.agent].max_endpointing_delay_ms)


def record(tx: Tx, ev: EndOfTurnPredicted) -> str | None:
    """Keep the model's judgement of the pause; returns held text to take now, if any."""
    s = tx.state
    tx.state = replace(
        s,
        user=replace(
            s.user,
            turn_probability=ev.probability,
            paused_ms=ev.speech_stopped_ms,
            judging=False,
        ),
    )
    if not s.user.held or ev.speech_stopped_ms > s.user.held_ms:
        # Nothing held, or the caller spoke again after the hold: the final of that speech
        # is still to come and decides (the delay armed at the pause is the fallback).
        return None
    return _decide(tx, ev.at_ms)


def take_or_hold(tx: Tx, text: str, at: float) -> str | None:
    """A final arrived: the text to take as the turn now, or None when it is held."""
    s = tx.state
    u = s.user
    joined = f"{u.held} {text}".strip()
    reply = s.reply
    if reply is not None and reply.played < len(reply.clauses):
        return _release(tx, joined)  # over agent speech: the barge-in rules decide
    probability = u.turn_probability
    policy = tx.cfg.endpointing[s.agent]
    # ``judging`` implies no probability yet: a pause clears it, a judgement ends judging.
    if (
        not u.held
        and not u.judging
        and (probability is None or probability >= policy.unlikely_threshold)
    ):
        return joined  # no model, or judged complete: take it now
    tx.state = replace(s, user=replace(u, held=joined, held_ms=at))
    tx.disarm(Timer.NO_INPUT)  # the caller said something: no reprompt while it is held
    if u.speaking:
        return None  # the caller goes on: their next pause decides
    if probability is None:
        if u.judging and not u.held:
            # The judgement is late (a loaded machine): wait for it, not for ever.
            tx.arm(Timer.ENDPOINTING, policy.judgement_wait_ms)
        return None  # text held before: the delay armed at the pause runs meanwhile
    return _decide(tx, at)


def expired(tx: Tx) -> str | None:
    """The endpointing delay ran out: the held text to take now (None while speaking)."""
    u = tx.state.user
    if not u.held or u.speaking:
        return None
    return _release(tx, u.held)


def _decide(tx: Tx, at: float) -> str | None:
    u = tx.state.user
    if u.speaking:
        return None
    policy = tx.cfg.endpointing[tx.state.agent]
    wait = policy.hold_ms(u.turn_probability, at - u.paused_ms, u.held)
    if wait <= 0:
        return _release(tx, u.held)
    tx.arm(Timer.ENDPOINTING, wait)
    return None


def _release(tx: Tx, text: str) -> str:
    u = tx.state.user
    if u.held:
        tx.state = replace(tx.state, user=replace(u, held=""))
        tx.disarm(Timer.ENDPOINTING)
    return text
