"""Provider failures and escalation (issue 12 item 2: escalate without the failing provider).

Consecutive failures are counted (a completed response resets the count); at
``FailurePolicy.max_consecutive_failures`` the call is escalated: the transfer line then
``TransferCall``, or the goodbye then ``HangUp``. When speech synthesis is what failed, the
line is skipped and the escalation happens at once; when the line itself fails, its action
still follows; a failure while an escalation is under way only counts. So a failing provider
can never re-enter the failure path and queue the line again.
"""

from __future__ import annotations

from dataclasses import replace

from domain.conversation import speech
from domain.conversation.parts import Then
from domain.conversation.state import SessionState
from domain.conversation.transaction import Tx
from domain.events import ProviderFailed

TEXT_TO_SPEECH = "text_to_speech"
"""``ProviderFailed.port`` of speech synthesis (the runtime's port name)."""


def on_provider_failed(tx: Tx, ev: ProviderFailed) -> str | None:
    """An adapter failed; a synthesis failure also ends the reply being spoken."""
    at = ev.at_ms
    error = f"{ev.port}:{ev.error_code}"
    speech_failed = ev.port == TEXT_TO_SPEECH
    reply = tx.state.reply
    if speech_failed and reply is not None and reply.playing is not None:
        # Nothing more of this reply can be heard: keep what was heard and move on.
        speech.drop_speech(tx, at, "speech synthesis failed")
        if reply.then is not Then.LISTEN:
            # The line before a hang-up or a transfer cannot be spoken: act without it,
            # never speak it again through the provider that just failed.
            count(tx, error, at)
            speech.say(tx, "", then=reply.then, target=reply.target)
            tx.settle()
            return None
    failure(tx, error, at, None, can_speak=not speech_failed)
    return None


def count(tx: Tx, error: str, at: float) -> int:
    """Count one more consecutive failure and record ``error``; returns the new count."""
    s = tx.state
    failures = s.status.failures + 1
    tx.state = replace(s, status=replace(s.status, failures=failures))
    tx.record_error(error, at)
    return failures


def failure(
    tx: Tx, error: str, at: float, response_code: str | None, *, can_speak: bool = True
) -> None:
    """Count a provider failure; escalate at the limit, else speak the fallback line.

    Args:
        tx: The step.
        error: What failed, for the status and the transcript.
        at: When, ms.
        response_code: The model's error code for a failed response (a fallback or safe line
            is spoken), None for another provider's failure (nothing is said).
        can_speak: False when speech synthesis failed: an escalation skips its line.
    """
    failures = count(tx, error, at)
    pol = tx.cfg.policy.failures
    agent = tx.cfg.agents[tx.state.agent]
    if pol.should_escalate(failures):
        if escalating(tx.state):
            return
        target = pol.transfer_target
        if target:
            then, line = Then.TRANSFER, agent.transfer_line
        else:
            then, line, target = Then.HANG_UP, agent.goodbye, "failures"
        if not can_speak:
            speech.drop_speech(tx, at, "speech synthesis failed")
            line = ""
        speech.say(tx, line, interruptible=False, then=then, target=target)
    elif response_code is not None:
        line = agent.safe_reply if response_code == "content_filtered" else agent.fallback
        speech.say(tx, line)
    tx.settle()


def escalating(s: SessionState) -> bool:
    """A hang-up or transfer is queued behind speech, or a transfer is pending."""
    reply = s.reply
    return s.status.transferring or (reply is not None and reply.then is not Then.LISTEN)
