"""Outbound calls: screen the callee's first words, then greet a person or leave a voicemail.

While ``status.answered_by`` is ``"screening"`` the agent says nothing and the callee's speech
is not a user turn. Their first utterance runs from their first VAD onset
(``status.callee_spoke_ms``) until they have been quiet for the policy's
``after_greeting_silence_ms``: a shorter pause, such as the break between a voicemail
greeting's sentences (where the VAD reports a stop and the recogniser a final), continues it,
and its finals are joined (``user.held``). :class:`domain.outbound.OutboundPolicy` classifies
it: a machine as soon as it runs past ``human_max_greeting_ms`` or its words are many or worded
like a greeting (a final, or a partial with a voicemail phrase), a person only once it ended
short. A person is greeted; for a machine (``answered_by == "machine"``) the beep detector runs
(``DetectBeep``), the message starts at ``BeepDetected`` or ``beep_timeout_ms`` after the
greeting went quiet, plays uninterruptibly, and the call hangs up (end reason ``voicemail``).

Every caller event goes through :func:`guard`: while screening or on a machine it is handled
here, otherwise by the ordinary handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from domain.commands import DetectBeep, HangUp
from domain.commands import TimerName as Timer
from domain.conversation import speech
from domain.conversation.parts import Then
from domain.conversation.transaction import Tx
from domain.events import (
    BeepDetected,
    CallStarted,
    FinalTranscript,
    PartialTranscript,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.outbound import AnsweredBy
from ports import JsonObject, TranscriptEntry

Handler = Callable[[Tx, Any], "str | None"]

_UNDECIDED_GRACE_MS = 1500.0
"""After the callee stopped speaking with no final transcript yet, decide this much later."""


def screening(tx: Tx) -> bool:
    """True while the callee is screened or is an answering machine."""
    return tx.state.status.answered_by in (AnsweredBy.SCREENING, AnsweredBy.MACHINE)


def start(tx: Tx, ev: CallStarted) -> bool:
    """Begin screening an outbound call; False when the call is greeted as usual."""
    policy = tx.cfg.policy.outbound
    if not ev.outbound or tx.state.history:
        return False
    if not policy.detect_voicemail:
        _set(tx, answered_by=AnsweredBy.HUMAN)
        return False
    _set(tx, answered_by=AnsweredBy.SCREENING)
    tx.arm(Timer.SCREENING, policy.first_speech_timeout_ms)
    return True


def guard(ordinary: Handler, screened: Handler) -> Handler:
    """A handler that sends the event to ``screened`` while screening, else to ``ordinary``."""

    def handle(tx: Tx, ev: Any) -> str | None:
        return screened(tx, ev) if screening(tx) else ordinary(tx, ev)

    return handle


def on_speech_started(tx: Tx, ev: UserSpeechStarted) -> str | None:
    """The callee speaks: their first utterance starts or goes on; a machine's greeting goes on."""
    s = tx.state
    tx.state = replace(s, user=replace(s.user, speaking=True, started_ms=ev.at_ms, partial=""))
    if s.status.answered_by == AnsweredBy.SCREENING:
        onset = _onset(tx, ev.at_ms)
        tx.state = replace(tx.state, status=replace(s.status, callee_spoke_ms=onset))
        # Speech that runs past a person's greeting is a machine's, whether it stops or not.
        left = tx.cfg.policy.outbound.human_max_greeting_ms - (ev.at_ms - onset)
        if left > 0:
            tx.arm(Timer.SCREENING, left)
        else:
            _decide(tx, AnsweredBy.MACHINE, ev.at_ms, "long greeting")
    elif s.status.voicemail in ("greeting", "beep"):
        _set(tx, voicemail="greeting")
        tx.disarm(Timer.BEEP)
    return None


def on_speech_stopped(tx: Tx, ev: UserSpeechStopped) -> str | None:
    """The callee paused: a long utterance is a machine; else wait for its end and its words."""
    s = tx.state
    if not s.user.speaking:
        return "callee was not speaking"
    tx.state = replace(s, user=replace(s.user, speaking=False))
    if s.status.answered_by == AnsweredBy.SCREENING:
        tx.state = replace(tx.state, user=replace(tx.state.user, paused_ms=ev.at_ms))
        policy = tx.cfg.policy.outbound
        if ev.at_ms - _onset(tx, ev.at_ms) > policy.human_max_greeting_ms:
            _decide(tx, AnsweredBy.MACHINE, ev.at_ms, "long greeting")
        else:
            tx.arm(Timer.SCREENING, policy.after_greeting_silence_ms)
    elif s.status.voicemail == "greeting":
        _set(tx, voicemail="beep")
        tx.arm(Timer.BEEP, tx.cfg.policy.outbound.beep_timeout_ms)
    return None


def on_partial(tx: Tx, ev: PartialTranscript) -> str | None:
    """A voicemail phrase in the words so far decides at once."""
    s = tx.state
    if s.status.answered_by != AnsweredBy.SCREENING:
        return "voicemail greeting"
    tx.state = replace(s, user=replace(s.user, partial=ev.text))
    if tx.cfg.policy.outbound.has_machine_phrase(f"{s.user.held} {ev.text}"):
        _decide(tx, AnsweredBy.MACHINE, ev.at_ms, "voicemail words")
    return None


def on_final(tx: Tx, ev: FinalTranscript) -> str | None:
    """Words of the callee's first utterance: a machine's decide now, a person's at its end."""
    s = tx.state
    if s.status.answered_by != AnsweredBy.SCREENING:
        return "voicemail greeting"
    heard = f"{s.user.held} {ev.text}".strip()
    tx.state = replace(s, user=replace(s.user, held=heard, partial=""))
    policy = tx.cfg.policy.outbound
    end = ev.at_ms if s.user.speaking else s.user.paused_ms
    who = policy.classify(end - _onset(tx, ev.at_ms), heard)
    late = ev.at_ms - s.user.paused_ms >= policy.after_greeting_silence_ms
    if who is AnsweredBy.MACHINE:
        _decide(tx, who, ev.at_ms, heard)
    elif not s.user.speaking and (s.status.callee_spoke_ms is None or late):
        _decide(tx, who, ev.at_ms, heard)  # the utterance had ended; its words came late
    return None  # else the SCREENING timer ends the utterance (or the callee goes on)


def on_other(tx: Tx, ev: Any) -> str | None:
    """Keys and the like while screening: not a turn."""
    return "screening the callee"


def on_beep(tx: Tx, ev: BeepDetected) -> str | None:
    """The machine's beep: leave the message now."""
    if tx.state.status.voicemail not in ("greeting", "beep"):
        return "no voicemail greeting to end"
    _leave_message(tx, ev.at_ms, "beep")
    return None


def on_timer(tx: Tx, name: str, at: float) -> None:
    """``SCREENING``: the first utterance ran long or ended (or never came); ``BEEP``: go on."""
    s = tx.state
    if name == Timer.SCREENING and s.status.answered_by == AnsweredBy.SCREENING:
        policy, u = tx.cfg.policy.outbound, s.user
        if s.status.callee_spoke_ms is None:
            _decide(tx, AnsweredBy.HUMAN, at, "")  # silence: a person waiting for us
        elif u.speaking:
            left = policy.human_max_greeting_ms - (at - s.status.callee_spoke_ms)
            if left > 0:
                tx.arm(Timer.SCREENING, left)
            else:
                _decide(tx, AnsweredBy.MACHINE, at, "long greeting")
        elif u.held:
            who = policy.classify(u.paused_ms - s.status.callee_spoke_ms, u.held)
            _decide(tx, who, at, u.held)
        elif at - u.paused_ms < _UNDECIDED_GRACE_MS:
            tx.arm(Timer.SCREENING, _UNDECIDED_GRACE_MS - (at - u.paused_ms))  # words to come
        else:
            _decide(tx, AnsweredBy.HUMAN, at, "")  # short speech, no words heard
    elif name == Timer.BEEP and s.status.voicemail in ("greeting", "beep"):
        _leave_message(tx, at, "no beep")


def _onset(tx: Tx, default: float) -> float:
    onset = tx.state.status.callee_spoke_ms
    return default if onset is None else onset


def _decide(tx: Tx, who: AnsweredBy, at: float, heard: str) -> None:
    tx.disarm(Timer.SCREENING)
    # The screened words are nobody's turn: a person's "Hello?" must not join their first one.
    tx.state = replace(tx.state, user=replace(tx.state.user, held="", partial=""))
    data: JsonObject = {"event": "answered_by", "answered_by": who.value, "heard": heard}
    tx.emit(TranscriptEntry("event", f"answered by {who.value}", at, tx.state.agent, data=data))
    if who is AnsweredBy.HUMAN:
        _set(tx, answered_by=AnsweredBy.HUMAN)
        agent = tx.cfg.agents[tx.state.agent]
        speech.say(tx, agent.greeting, interruptible=agent.greeting_interruptible)
        tx.settle()
        return
    greeting = "greeting" if tx.state.user.speaking else "beep"
    _set(tx, answered_by=AnsweredBy.MACHINE, voicemail=greeting)
    tx.issue(DetectBeep(True))
    if greeting == "beep":
        tx.arm(Timer.BEEP, tx.cfg.policy.outbound.beep_timeout_ms)


def _leave_message(tx: Tx, at: float, why: str) -> None:
    tx.disarm(Timer.BEEP)
    _set(tx, voicemail="message")
    tx.issue(DetectBeep(False))
    agent = tx.cfg.agents[tx.state.agent]
    data: JsonObject = {
        "event": "voicemail",
        "after": why,
        "message": bool(agent.voicemail_message),
    }
    tx.emit(TranscriptEntry("event", "voicemail", at, agent.name, data=data))
    if agent.voicemail_message:
        speech.say(
            tx, agent.voicemail_message, interruptible=False, then=Then.HANG_UP, target="voicemail"
        )
        tx.settle()
    else:
        tx.end("voicemail", HangUp("voicemail"))


def _set(tx: Tx, *, answered_by: str | None = None, voicemail: str | None = None) -> None:
    status = tx.state.status
    tx.state = replace(
        tx.state,
        status=replace(
            status,
            answered_by=status.answered_by if answered_by is None else answered_by,
            voicemail=status.voicemail if voicemail is None else voicemail,
        ),
    )
