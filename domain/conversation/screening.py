"""Outbound calls: screen the callee's first words, then greet a person or leave a voicemail.

While ``status.answered_by`` is ``"screening"`` the agent says nothing and the callee's speech
is not a user turn: the first utterance is classified by :class:`domain.outbound.OutboundPolicy`
(on its final transcript, on a voicemail phrase in a partial, or on its length when it stops).
A person is greeted; for a machine (``answered_by == "machine"``) the beep detector runs
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
    """The callee speaks: keep the onset; a machine's greeting goes on."""
    s = tx.state
    tx.state = replace(s, user=replace(s.user, speaking=True, started_ms=ev.at_ms, partial=""))
    if s.status.answered_by == AnsweredBy.SCREENING:
        tx.disarm(Timer.SCREENING)
    elif s.status.voicemail in ("greeting", "beep"):
        _set(tx, voicemail="greeting")
        tx.disarm(Timer.BEEP)
    return None


def on_speech_stopped(tx: Tx, ev: UserSpeechStopped) -> str | None:
    """The callee stopped: a long utterance is a machine; else wait for its words."""
    s = tx.state
    if not s.user.speaking:
        return "callee was not speaking"
    tx.state = replace(s, user=replace(s.user, speaking=False))
    if s.status.answered_by == AnsweredBy.SCREENING:
        policy = tx.cfg.policy.outbound
        if ev.at_ms - s.user.started_ms > policy.human_max_greeting_ms:
            _decide(tx, AnsweredBy.MACHINE, ev.at_ms, "long greeting")
        else:
            tx.arm(Timer.SCREENING, _UNDECIDED_GRACE_MS)
    elif s.status.voicemail == "greeting":
        _set(tx, voicemail="beep")
        tx.arm(Timer.BEEP, tx.cfg.policy.outbound.beep_timeout_ms)
    return None


def on_partial(tx: Tx, ev: PartialTranscript) -> str | None:
    """A voicemail phrase in a partial decides at once."""
    s = tx.state
    if s.status.answered_by != AnsweredBy.SCREENING:
        return "voicemail greeting"
    tx.state = replace(s, user=replace(s.user, partial=ev.text))
    if tx.cfg.policy.outbound.has_machine_phrase(ev.text):
        _decide(tx, AnsweredBy.MACHINE, ev.at_ms, "voicemail words")
    return None


def on_final(tx: Tx, ev: FinalTranscript) -> str | None:
    """The callee's first utterance: classify it by its length and its words."""
    s = tx.state
    if s.status.answered_by != AnsweredBy.SCREENING:
        return "voicemail greeting"
    started = s.user.started_ms or ev.at_ms
    who = tx.cfg.policy.outbound.classify(ev.at_ms - started, ev.text)
    _decide(tx, who, ev.at_ms, ev.text)
    return None


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
    """``SCREENING``: nobody spoke (a person) or an utterance without words; ``BEEP``: go on."""
    s = tx.state
    if name == Timer.SCREENING and s.status.answered_by == AnsweredBy.SCREENING:
        speaking_ms = at - s.user.started_ms if s.user.speaking else 0.0
        if speaking_ms > tx.cfg.policy.outbound.human_max_greeting_ms:
            _decide(tx, AnsweredBy.MACHINE, at, "long greeting")
        elif s.user.speaking:
            tx.arm(Timer.SCREENING, _UNDECIDED_GRACE_MS)
        else:
            _decide(tx, AnsweredBy.HUMAN, at, "")
    elif name == Timer.BEEP and s.status.voicemail in ("greeting", "beep"):
        _leave_message(tx, at, "no beep")


def _decide(tx: Tx, who: AnsweredBy, at: float, heard: str) -> None:
    tx.disarm(Timer.SCREENING)
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
