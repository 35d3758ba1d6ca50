"""Commands out of the session state machine, executed by the call runtime.

The state machine returns a tuple of these per event, in the order they must run. Commands
that must happen together (stop playback and cancel response on barge-in) come in one tuple,
and the runtime executes them in the same loop iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from ports import ChatMessage, ModelOptions, ToolCall, ToolSpec, TranscriptEntry, Voice


class StopReason(StrEnum):
    """Why :class:`StopPlayback` was issued (its ``reason``).

    BARGE_IN: the caller spoke over the agent. DTMF: the caller pressed a key over the agent
    (a barge-in too). PROVIDER_FAILED: speech synthesis failed mid-reply.
    """

    BARGE_IN = "barge_in"
    DTMF = "dtmf"
    PROVIDER_FAILED = "provider_failed"

    @property
    def is_barge_in(self) -> bool:
        """True when the caller interrupted the agent (by voice or by key)."""
        return self in (StopReason.BARGE_IN, StopReason.DTMF)


BARGE_IN_REASONS: frozenset[str] = frozenset({StopReason.BARGE_IN, StopReason.DTMF})
"""``StopPlayback.reason`` values that count as a barge-in (for counters and metrics)."""


class TimerName(StrEnum):
    """Timers the conversation starts (:class:`StartTimer` ``name``).

    END_OF_TURN: seal the merged user turn. ENDPOINTING: a final held because the end-of-turn
    model judged the turn incomplete is taken now. BARGE_IN: the caller has spoken
    ``min_speech_ms``. FALSE_INTERRUPTION: the interrupted message resumes unless the caller
    said something. NO_INPUT: reprompt or hang up. DTMF: the inter-digit timeout.
    """

    END_OF_TURN = "end_of_turn"
    ENDPOINTING = "endpointing"
    BARGE_IN = "barge_in"
    FALSE_INTERRUPTION = "false_interruption"
    NO_INPUT = "no_input"
    DTMF = "dtmf"
    SCREENING = "screening"
    BEEP = "beep"


@dataclass(frozen=True, slots=True)
class StartResponse:
    """Ask the language model for a response.

    Attributes:
        response_id: Unique within the call; every later event of this response carries it.
        agent: Active agent name.
        messages: The full prompt: the agent's system message, then the history.
        tool_names: Registered tools the agent may call (the runtime resolves their specs).
        extra_tools: Tools the domain defines itself, such as one handoff tool per target.
        options: Model options for this agent.
    """

    response_id: str
    agent: str
    messages: tuple[ChatMessage, ...]
    tool_names: tuple[str, ...] = ()
    extra_tools: tuple[ToolSpec, ...] = ()
    options: ModelOptions = ModelOptions()


@dataclass(frozen=True, slots=True)
class CancelResponse:
    """Stop the model stream (and its tool calls) of ``response_id`` at once."""

    response_id: str


@dataclass(frozen=True, slots=True)
class Speak:
    """Synthesise and play ``text``.

    Attributes:
        speech_id: Unique within the call; playback events carry it.
        text: Plain text to speak (one clause, or a whole line).
        interruptible: False when barge-in must not cut it (e.g. a legal notice).
        response_id: The response it belongs to, or ``None`` for fixed lines (greeting...).
        voice: Voice of the active agent.
    """

    speech_id: str
    text: str
    interruptible: bool = True
    response_id: str | None = None
    voice: Voice = Voice()


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Cancel synthesis, drop queued audio and send stop-audio to the far end (ACS StopAudio).

    ``reason`` is a :class:`StopReason`; :data:`BARGE_IN_REASONS` are barge-ins.
    """

    reason: str = StopReason.BARGE_IN


@dataclass(frozen=True, slots=True)
class RunTool:
    """Run one tool call; the result comes back as :class:`~domain.events.ToolCompleted`."""

    response_id: str
    call: ToolCall
    timeout_ms: float = 5000.0


@dataclass(frozen=True, slots=True)
class HandOffTo:
    """The active agent changed (for observers and transcripts; state already switched)."""

    from_agent: str
    to_agent: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Transfer the caller to ``target`` (E.164 phone number or ACS raw id).

    Attributes:
        context: Custom calling context passed with the transfer where the provider carries
            it (ACS SIP ``X-MS-Custom-`` headers or VoIP headers), as (name, value) pairs.
    """

    target: str
    reason: str = ""
    # Metadata of the transfer, not what makes two transfers the same one.
    context: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class StartConsult:
    """Warm transfer: hold the caller and call ``target`` into the call.

    The outcome comes back as :class:`~domain.events.ConsultResult`.

    Attributes:
        target: Who to consult (E.164 phone number or ACS raw id).
        reason: Why the caller is transferred.
        summary: The agent's template summary for the person consulted.
        messages: The conversation so far, for a model-written summary (empty: use
            ``summary``).
        context: Custom calling context for the consulted leg, as (name, value) pairs.
    """

    target: str
    reason: str = ""
    summary: str = ""
    messages: tuple[ChatMessage, ...] = ()
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CompleteTransfer:
    """Warm transfer: take the caller off hold and leave them with the person consulted."""


@dataclass(frozen=True, slots=True)
class CollectDtmf:
    """Collect keys through the telephony provider (ACS Call Automation ``recognize``).

    Tones arrive as :class:`~domain.events.DtmfDigit` with ``source="recognize"``, then
    :class:`~domain.events.DtmfCollected`.

    Attributes:
        max_digits: Most tones to collect.
        inter_digit_timeout_ms: Pause after a tone that ends the collection, ms.
        stop_key: Key that ends the collection (not collected).
    """

    max_digits: int
    inter_digit_timeout_ms: float
    stop_key: str = "#"


@dataclass(frozen=True, slots=True)
class DetectBeep:
    """Run (``active``) or stop the beep detector on the caller's audio (voicemail)."""

    active: bool


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call for everyone once queued speech has played."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Start (or restart) timer ``name``; it fires as :class:`~domain.events.TimerFired`."""

    name: str
    delay_ms: float
    token: int = 0


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel timer ``name`` if running."""

    name: str


@dataclass(frozen=True, slots=True)
class SaveSession:
    """Persist the session's serialised state (debounced by the runtime, off the audio path)."""


@dataclass(frozen=True, slots=True)
class EmitTranscript:
    """Append a finished line to the call's transcript, exactly once, in order."""

    entry: TranscriptEntry


Command: TypeAlias = (
    StartResponse
    | CancelResponse
    | Speak
    | StopPlayback
    | RunTool
    | HandOffTo
    | TransferCall
    | HangUp
    | StartConsult
    | CompleteTransfer
    | CollectDtmf
    | DetectBeep
    | StartTimer
    | CancelTimer
    | SaveSession
    | EmitTranscript
)
"""Every command the session issues."""
