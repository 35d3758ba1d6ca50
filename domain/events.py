"""Events into the session state machine.

Every event carries ``at_ms``: monotonic milliseconds from the runtime's :class:`~ports.Clock`.
The state machine has no clock of its own; time only arrives here. Events are small frozen
values; the runtime builds them from port outputs (VAD, transcripts, model deltas, playback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ports import ToolCall, ToolResult


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The media stream is up; the conversation begins (the greeting follows).

    Attributes:
        outbound: We placed the call: the callee is screened for a voicemail greeting first
            (:class:`~domain.outbound.OutboundPolicy`).
    """

    at_ms: float
    call_id: str
    caller: str = ""
    outbound: bool = False


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over (remote hang-up, stream closed, transfer completed)."""

    at_ms: float
    reason: str = "remote_closed"


@dataclass(frozen=True, slots=True)
class UserSpeechStarted:
    """VAD: the caller started speaking; ``at_ms`` is the smoothed onset."""

    at_ms: float


@dataclass(frozen=True, slots=True)
class UserSpeechStopped:
    """VAD: the caller stopped speaking (end of speech, before the final transcript).

    Attributes:
        at_ms: The VAD end of speech, ms.
        judged: The runtime asked its end-of-turn model about this pause: an
            :class:`EndOfTurnPredicted` for it follows, unless the model fails or is late.
    """

    at_ms: float
    judged: bool = False


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    """A partial transcript of the caller's current utterance (may still change)."""

    at_ms: float
    text: str


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """A final transcript of one utterance."""

    at_ms: float
    text: str
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class EndOfTurnPredicted:
    """The end-of-turn model judged the pause at ``speech_stopped_ms`` (runtime-side model).

    Attributes:
        probability: 0..1 that the caller finished their turn (``ports.EndOfTurnDetector``);
            None when the model could not judge the pause (it failed or missed its
            deadline): the turn is then taken as without a model.
        speech_stopped_ms: ``at_ms`` of the :class:`UserSpeechStopped` it judges.
    """

    at_ms: float
    probability: float | None
    speech_stopped_ms: float


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A DTMF tone: ``0-9``, ``*``, ``#`` or ``A-D``.

    Attributes:
        source: ``"media"`` (in-band, on the media stream) or ``"recognize"`` (collected by
            the telephony provider after :class:`~domain.commands.CollectDtmf`).
    """

    at_ms: float
    digit: str
    source: str = "media"


@dataclass(frozen=True, slots=True)
class DtmfCollected:
    """A :class:`~domain.commands.CollectDtmf` ended: its tones (if any) were fed before."""

    at_ms: float


@dataclass(frozen=True, slots=True)
class BeepDetected:
    """The runtime's beep detector heard the tone that ends a voicemail greeting."""

    at_ms: float


@dataclass(frozen=True, slots=True)
class ConsultResult:
    """The person a warm transfer consults answered (or not).

    Attributes:
        answered: They picked up and are on the call (the caller is on hold).
        summary: A model-written summary to speak to them ("" for the agent's template).
    """

    at_ms: float
    answered: bool
    summary: str = ""


@dataclass(frozen=True, slots=True)
class ResponseTextDelta:
    """A fragment of the model's text for response ``response_id``."""

    at_ms: float
    response_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallsRequested:
    """The model asked for tool calls in response ``response_id``."""

    at_ms: float
    response_id: str
    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class ToolCompleted:
    """A tool call requested in ``response_id`` finished (possibly as an error result)."""

    at_ms: float
    response_id: str
    result: ToolResult


@dataclass(frozen=True, slots=True)
class ResponseCompleted:
    """The model stream of ``response_id`` ended normally."""

    at_ms: float
    response_id: str


@dataclass(frozen=True, slots=True)
class ResponseFailed:
    """The model stream of ``response_id`` failed.

    Attributes:
        error_code: The port error's ``code`` (``timeout``, ``content_filtered``...).
    """

    at_ms: float
    response_id: str
    error_code: str


@dataclass(frozen=True, slots=True)
class PlaybackProgress:
    """Audio of ``speech_id`` has been sent to the caller.

    Attributes:
        speech_id: The :class:`~domain.commands.Speak` ``speech_id``.
        played_ms: Total ms of this speech's audio sent so far.
        played_text: The words played so far when the engine gave word boundaries, else None.
        duration_ms: Total ms of this speech's audio once synthesis has finished, else None;
            sharpens the heard-words estimate on barge-in when ``played_text`` is None.
    """

    at_ms: float
    speech_id: str
    played_ms: float
    played_text: str | None = None
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class PlaybackCompleted:
    """All audio of ``speech_id`` has been sent.

    Attributes:
        speech_id: The :class:`~domain.commands.Speak` ``speech_id``.
        duration_ms: Total ms of audio the speech produced.
    """

    at_ms: float
    speech_id: str
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer started with :class:`~domain.commands.StartTimer` fired."""

    at_ms: float
    name: str
    token: int = 0


@dataclass(frozen=True, slots=True)
class ProviderFailed:
    """An adapter failed outside a response (speech-to-text, text-to-speech, store)."""

    at_ms: float
    port: str
    error_code: str


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The telephony provider reported the outcome of a transfer."""

    at_ms: float
    accepted: bool


Event: TypeAlias = (
    CallStarted
    | CallEnded
    | UserSpeechStarted
    | UserSpeechStopped
    | PartialTranscript
    | FinalTranscript
    | EndOfTurnPredicted
    | DtmfDigit
    | ResponseTextDelta
    | ToolCallsRequested
    | ToolCompleted
    | ResponseCompleted
    | ResponseFailed
    | PlaybackProgress
    | PlaybackCompleted
    | TimerFired
    | ProviderFailed
    | TransferResult
    | DtmfCollected
    | BeepDetected
    | ConsultResult
)
"""Every event the session accepts."""
