"""What an implementation hands a contract suite: one small case object per port.

An implementation's fixture (Parley's own: ``tests/contract/conftest.py``; an adapter outside
the repository: its test module, or the factory given to ``parley contract``) builds the
adapter and returns the case for its port. Cases carry what differs between backends and
cannot be asked through the port itself: known audio and its words, how to move time
(``advance``), how to provoke each failure (``failures``), the far end of a media stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from ports import (
    AudioFormat,
    AudioFrame,
    BeepDetectorFactory,
    CallControl,
    CallEvent,
    ChatMessage,
    Clock,
    EndOfTurnDetector,
    EventBus,
    IncomingCall,
    LanguageModel,
    MediaOptions,
    MediaStream,
    ModelOptions,
    ParleyError,
    Participant,
    SessionStore,
    SpeechToText,
    TextToSpeech,
    ToolExecutor,
    ToolSpec,
    TranscriptLog,
    VadFactory,
    Voice,
)
from ports.call_history import CallHistory
from ports.call_registry import CallRegistry

__all__ = [
    "Advance",
    "BeepDetectorCase",
    "CallControlCase",
    "CallHistoryCase",
    "CallRegistryCase",
    "ClockCase",
    "EndOfTurnCase",
    "EventBusCase",
    "Failing",
    "FarEnd",
    "LanguageModelCase",
    "MediaStreamCase",
    "ModelRequestSpec",
    "Outbound",
    "SessionStoreCase",
    "SpeechToTextCase",
    "TextToSpeechCase",
    "ToolExecutorCase",
    "ToolProbe",
    "TranscriptLogCase",
    "VadCase",
]

P = TypeVar("P", covariant=True)

Advance = Callable[[float], Awaitable[None]]
"""Move time forward by ms: a ManualClock's ``advance`` or a real ``asyncio.sleep``."""


@dataclass(frozen=True)
class Failing(Generic[P]):
    """An adapter rigged to fail, and the port error it must raise.

    Attributes:
        expected: The port error class the suite expects (``pytest.raises`` semantics).
        adapter: An instance that fails (fake with ``fail_with``, client aimed at a closed
            port, stand-in scripted to answer 429...).
        label: Shown in assertion messages.
    """

    expected: type[ParleyError]
    adapter: P
    label: str = ""


@dataclass(frozen=True)
class ClockCase:
    """A clock under contract and how to move it.

    Attributes:
        clock: The adapter.
        advance: Moves its time forward by ms (``ManualClock.advance`` or a real sleep).
    """

    clock: Clock
    advance: Advance


@dataclass(frozen=True)
class SpeechToTextCase:
    """A speech-to-text adapter under contract, with known audio and its words.

    Attributes:
        stt: The adapter.
        fmt: Format of ``speech``.
        speech: Frames of one known sentence (with a little silence around it).
        expected_words: The sentence, as a reference transcript.
        max_wer: Word error rate allowed (0.0 for a scripted fake).
        failures: Rigged adapters; pushing ``speech`` and flushing must raise ``expected``.
        timeout_s: Budget for recognising ``speech`` (real engines are slower).
    """

    stt: SpeechToText
    fmt: AudioFormat
    speech: Sequence[AudioFrame]
    expected_words: str
    max_wer: float = 0.0
    failures: Sequence[Failing[SpeechToText]] = ()
    timeout_s: float = 10.0


@dataclass(frozen=True)
class TextToSpeechCase:
    """A text-to-speech adapter under contract, with the formats it must produce.

    Attributes:
        tts: The adapter.
        formats: Formats to request; every one must come back exactly.
        voice: Voice to use.
        long_text: A text of several sentences (several seconds of audio).
        has_word_boundaries: Whether the engine reports them (then they must be present).
        unsupported_format: A format it must refuse with InvalidAudioError, or None.
        failures: Rigged adapters; synthesising must raise ``expected``.
    """

    tts: TextToSpeech
    formats: Sequence[AudioFormat]
    voice: Voice = field(default_factory=Voice)
    long_text: str = (
        "Thank you for calling. Your current balance is one thousand two hundred dollars. "
        "Your next payment is due on the fifth of next month. Is there anything else I can "
        "help you with today?"
    )
    has_word_boundaries: bool = True
    unsupported_format: AudioFormat | None = None
    failures: Sequence[Failing[TextToSpeech]] = ()


@dataclass(frozen=True)
class ModelRequestSpec:
    """One request to a language model.

    Attributes:
        messages: The conversation.
        tools: The tools offered.
        options: The request options.
    """

    messages: Sequence[ChatMessage]
    tools: Sequence[ToolSpec] = ()
    options: ModelOptions = field(default_factory=ModelOptions)


@dataclass(frozen=True)
class LanguageModelCase:
    """A language model under contract, with a text request and a tool request.

    Attributes:
        model: The adapter.
        text_request: A request answered with text (at least two deltas) and no tool call.
        tool_request: A request answered with a call of ``expected_tool``, or None.
        expected_tool: Tool name the ``tool_request`` must call.
        expected_arguments: Argument names (and values) the call must carry (a subset).
        stalling: A model that accepts the request but sends nothing for a long time (to cancel
            a blocked task), or None.
        failures: Rigged models; streaming ``text_request`` must raise ``expected``.
    """

    model: LanguageModel
    text_request: ModelRequestSpec
    tool_request: ModelRequestSpec | None = None
    expected_tool: str = ""
    expected_arguments: dict[str, Any] = field(default_factory=dict)
    stalling: LanguageModel | None = None
    failures: Sequence[Failing[LanguageModel]] = ()


@dataclass(frozen=True)
class EndOfTurnCase:
    """An end-of-turn detector under contract.

    Attributes:
        detector: The adapter.
        formats: Formats it is asked about (the same turn converted to each).
        complete: A turn that ends a sentence, followed by a short pause; None when the
            detector does not judge audio (a scripted fake).
        incomplete: A turn cut off mid-sentence, followed by the same pause; None likewise.
        failures: Rigged detectors; a prediction must raise ``expected``.
        timeout_s: Budget for one prediction (real models are slower).
    """

    detector: EndOfTurnDetector
    formats: Sequence[AudioFormat]
    complete: AudioFrame | None = None
    incomplete: AudioFrame | None = None
    failures: Sequence[Failing[EndOfTurnDetector]] = ()
    timeout_s: float = 10.0


@dataclass(frozen=True)
class BeepDetectorCase:
    """A beep detector factory under contract (it is given 8, 16 and 24 kHz PCM16 audio).

    Attributes:
        factory: The adapter's factory (one detector per call).
    """

    factory: BeepDetectorFactory


@dataclass(frozen=True)
class VadCase:
    """A voice activity detector factory under contract, with speech and silence.

    Attributes:
        factory: The adapter's factory.
        fmt: Format of the frames.
        speech: Frames of speech (mostly voiced).
        silence: Frames of silence.
        invalid_frame: A frame the engine must refuse with InvalidAudioError, or None.
        unsupported_format: A format the factory must refuse, or None.
    """

    factory: VadFactory
    fmt: AudioFormat
    speech: Sequence[AudioFrame]
    silence: Sequence[AudioFrame]
    invalid_frame: AudioFrame | None = None
    unsupported_format: AudioFormat | None = None


Outbound = AudioFrame | Literal["stop_audio"]


class FarEnd(Protocol):
    """The other side of a media stream (the caller's phone, ACS, the browser)."""

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send caller audio into the stream."""
        ...

    async def send_dtmf(self, digit: str) -> None:
        """Send a DTMF tone."""
        ...

    async def hang_up(self) -> None:
        """Close the stream from the far end."""
        ...

    async def received(self, count: int, *, timeout_s: float = 2.0) -> list[Outbound]:
        """Wait for at least ``count`` outbound items; return all received so far, in order."""
        ...


def _same(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class MediaStreamCase:
    """A media stream under contract, with its far end.

    Attributes:
        stream: The adapter.
        far_end: The caller's side of it (the other side of its socket).
        fmt: Its audio format.
        call_id: The call id its ``StreamStarted`` carries.
        wire: What audio bytes become on their way across the wire (G.711 mu-law is lossy:
            a mu-law round trip); the identity for lossless streams. The suite compares
            ``wire(sent)`` with what arrives.
    """

    stream: MediaStream
    far_end: FarEnd
    fmt: AudioFormat
    call_id: str
    wire: Callable[[bytes], bytes] = _same


@dataclass(frozen=True)
class CallControlCase:
    """A call control adapter under contract, with an offered call to answer.

    Attributes:
        control: The adapter.
        incoming: An offered call to answer.
        media: Media options to answer with.
        callback_url: Callback URL to pass.
        transfer_target: A participant to transfer to.
        events: The event stream of a call connection id.
        failures: Rigged adapters; ``answer`` must raise ``expected``.
    """

    control: CallControl
    incoming: IncomingCall
    media: MediaOptions
    callback_url: str
    transfer_target: Participant
    events: Callable[[str], AsyncIterator[CallEvent]]
    failures: Sequence[Failing[CallControl]] = ()


@dataclass(frozen=True)
class SessionStoreCase:
    """A session store under contract.

    Attributes:
        store: The adapter.
        ttl_ms: Its session lifetime, ms.
        advance: Moves time forward by ms (a manual clock's or a real sleep).
        failures: Rigged stores; every operation must raise ``expected``.
    """

    store: SessionStore
    ttl_ms: float
    advance: Advance
    failures: Sequence[Failing[SessionStore]] = ()


@dataclass(frozen=True)
class TranscriptLogCase:
    """``max_entries``: the documented trim length, or None when unbounded/too large to test."""

    log: TranscriptLog
    ttl_ms: float
    advance: Advance
    max_entries: int | None = None
    failures: Sequence[Failing[TranscriptLog]] = ()


@dataclass(frozen=True)
class CallRegistryCase:
    """A call registry under contract.

    Attributes:
        registry: The adapter.
        ttl_ms: Its entry lifetime, ms.
        advance: Moves time forward by ms.
        failures: Rigged registries; every operation must raise ``expected``.
    """

    registry: CallRegistry
    ttl_ms: float
    advance: Advance
    failures: Sequence[Failing[CallRegistry]] = ()


@dataclass(frozen=True)
class CallHistoryCase:
    """A call history (durable call records) under contract.

    Attributes:
        history: The adapter, open and empty.
        failures: Rigged stores (closed, unreachable); every operation must raise
            ``expected`` (a ``StoreError``).
    """

    history: CallHistory
    failures: Sequence[Failing[CallHistory]] = ()


@dataclass(frozen=True)
class EventBusCase:
    """``peer``: a second bus on the same backend (another instance), or None for in-process."""

    bus: EventBus
    peer: EventBus | None = None
    failures: Sequence[Failing[EventBus]] = ()


@dataclass
class ToolProbe:
    """What the contract tools saw; the slow tool records its cancellation here."""

    slow_cancelled: bool = False
    calls_with_context: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolExecutorCase:
    """The executor must have the contract tools (see ``contract_tools``) registered.

    ``advance`` drives the timeout when the executor times out on a manual clock; None when
    it times out in real time.
    """

    executor: ToolExecutor
    probe: ToolProbe
    advance: Advance | None = None
