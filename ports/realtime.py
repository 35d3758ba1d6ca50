"""The ``RealtimeModel`` port: one speech-to-speech model session per call.

Realtime services (Azure Voice Live; gpt-realtime on Azure OpenAI or OpenAI) hear the caller's
audio and answer with audio over one WebSocket session. Parley keeps the decisions in the
domain (docs/adr/0011-realtime-speech-to-speech.md): the service reports speech, transcripts,
audio, tool calls and completions; the runtime asks for responses, cancels and truncates them.

Promise:
    * ``RealtimeModel.session(config, fmt)`` returns a :class:`RealtimeSession`; use it as an
      async context manager (``async with``) or call ``aclose()``. Entering connects and
      applies ``config``; it raises :class:`~ports.errors.AuthenticationError`,
      :class:`~ports.errors.RateLimitedError`, :class:`~ports.errors.ProviderTimeoutError` or
      :class:`~ports.errors.ProviderUnavailableError`.
    * ``push_audio(frame)`` never blocks: it queues one frame of caller audio in the session's
      call format ``fmt`` (the adapter converts to the service's rate when they differ) and
      returns. A frame in another format raises :class:`~ports.errors.InvalidAudioError`.
    * ``events()`` yields :data:`RealtimeEvent` values in the service's order. Audio offsets
      (``audio_start_ms``, ``audio_end_ms``) are ms of caller audio pushed since the session (or
      its last reconnect) began. Response audio arrives as :class:`ResponseAudio` frames in the
      call format. Every response the service starts is announced by
      :class:`ResponseStarted` and ends with exactly one :class:`ResponseFinished`.
    * Requests (``update``, ``create_response``, ``cancel_response``, ``truncate``,
      ``send_tool_output``, ``add_message``, ``commit_input``, ``clear_input``) are sent in
      call order. A request the service refuses comes back as a :class:`RealtimeError` event
      (not fatal); a broken connection raises from the request or from ``events()``.
    * Session expiry and drops: the adapter reconnects (bounded attempts), re-applies the last
      configuration and yields :class:`SessionReconnected`; the service has then forgotten the
      conversation, so the caller replays its history with ``add_message``. When it cannot
      reconnect, ``events()`` raises :class:`~ports.errors.ProviderUnavailableError`.
    * Malformed or unknown server events are dropped and counted (``dropped_events``), never
      raised. Rate-limit and other service errors in the event stream are
      :class:`RealtimeError` events carrying a port error.
    * ``aclose()`` is idempotent and leaves no task behind; cancelling a task blocked in
      ``events()`` is safe.

Wire facts: docs/wire-protocols.md, "Realtime speech-to-speech".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self, TypeAlias

from ports.audio import AudioFormat, AudioFrame
from ports.chat import ChatMessage, ToolCall, ToolSpec
from ports.errors import ProviderError


class TurnDetection(StrEnum):
    """Who detects the caller's speech and turns.

    SERVER: the adapter's best service detection (Voice Live ``azure_semantic_vad``, OpenAI
    ``semantic_vad``). SERVER_VAD, SEMANTIC_VAD, AZURE_SEMANTIC_VAD: that service mode.
    PARLEY: the service's detection is off; Parley's VAD reports speech and the runtime commits
    the input buffer at each end of speech.
    """

    SERVER = "server"
    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"
    AZURE_SEMANTIC_VAD = "azure_semantic_vad"
    PARLEY = "parley"


@dataclass(frozen=True, slots=True)
class TurnDetectionOptions:
    """Turn detection and its parameters (``None``: the service's default).

    Attributes:
        mode: Which detection runs.
        threshold: Speech probability threshold, 0..1 (``server_vad`` and Voice Live).
        prefix_padding_ms: Audio kept before the detected onset, ms.
        silence_duration_ms: Silence that ends speech, ms.
        eagerness: ``semantic_vad`` eagerness: ``low``, ``medium``, ``high`` or ``auto``.
    """

    mode: TurnDetection = TurnDetection.SERVER
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    eagerness: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    """What a session is configured with (the active agent's view of it).

    Attributes:
        instructions: The system instructions (the agent's).
        tools: Tools the model may call (registered tools and handoff tools).
        voice: Service voice name (``alloy``, ``en-US-AvaMultilingualNeural``); ``None`` for
            the adapter's configured default.
        turn_detection: Turn detection and its parameters.
        transcription_model: Input transcription model (``None``: the adapter's default).
        language: BCP-47 input language hint, when known.
        noise_reduction: ``near_field``, ``far_field`` (OpenAI) or
            ``azure_deep_noise_suppression`` (Voice Live); ``None`` for off.
        echo_cancellation: Ask the service to cancel the agent's echo (Voice Live).
        temperature: Sampling temperature, when set.
    """

    instructions: str = ""
    tools: tuple[ToolSpec, ...] = ()
    voice: str | None = None
    turn_detection: TurnDetectionOptions = TurnDetectionOptions()
    transcription_model: str | None = None
    language: str | None = None
    noise_reduction: str | None = None
    echo_cancellation: bool = False
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The service heard the caller start speaking.

    Attributes:
        audio_start_ms: Onset, ms of caller audio since the session began.
        item_id: The user item the speech will become.
    """

    audio_start_ms: float
    item_id: str = ""


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """The service heard the caller stop speaking (the input buffer is committed next).

    Attributes:
        audio_end_ms: End of speech, ms of caller audio since the session began.
        item_id: The user item.
    """

    audio_end_ms: float
    item_id: str = ""


@dataclass(frozen=True, slots=True)
class InputTranscript:
    """A transcript of the caller's audio item.

    Attributes:
        item_id: The user item.
        text: A partial's new text (delta) or the whole final transcript.
        is_final: True for the completed transcript.
    """

    item_id: str
    text: str
    is_final: bool


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """The service started a response (answer to ``create_response`` or its own).

    Attributes:
        response_id: The service's response id.
    """

    response_id: str


@dataclass(frozen=True, slots=True)
class ResponseAudio:
    """A chunk of a response's audio, in the session's call format.

    Attributes:
        response_id: The response.
        item_id: The assistant item the audio belongs to (the one to truncate).
        frame: The audio.
    """

    response_id: str
    item_id: str
    frame: AudioFrame


@dataclass(frozen=True, slots=True)
class ResponseTranscript:
    """A fragment of the transcript of a response's audio, in order.

    Attributes:
        response_id: The response.
        item_id: The assistant item.
        text: The fragment.
    """

    response_id: str
    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A complete function call of a response (arguments assembled and decoded).

    Attributes:
        response_id: The response.
        call: The call, with the service's ``call_id`` as ``call.id``.
    """

    response_id: str
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ResponseFinished:
    """A response ended.

    Attributes:
        response_id: The response.
        status: ``completed``, ``cancelled``, ``incomplete`` or ``failed``.
        input_tokens: Tokens of the prompt, when reported.
        output_tokens: Tokens generated, when reported.
        error_code: The port error code of a failed response, else None.
    """

    response_id: str
    status: str = "completed"
    input_tokens: int = 0
    output_tokens: int = 0
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeError:
    """The service reported an error that does not end the session.

    Attributes:
        error: The port error (``RateLimitedError`` for rate limits, else ``ProviderError``).
        fatal: True when the session cannot go on (the adapter reconnects or raises next).
    """

    error: ProviderError
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class SessionReconnected:
    """The session was re-established after a drop or an expiry; history must be replayed.

    Attributes:
        attempt: Reconnects so far in this session, 1-based.
        reason: Why the previous connection ended (``session_expired``, ``closed``...).
    """

    attempt: int
    reason: str = ""


RealtimeEvent: TypeAlias = (
    SpeechStarted
    | SpeechStopped
    | InputTranscript
    | ResponseStarted
    | ResponseAudio
    | ResponseTranscript
    | FunctionCall
    | ResponseFinished
    | RealtimeError
    | SessionReconnected
)
"""Everything a realtime session yields."""


@dataclass(frozen=True, slots=True)
class ResponseRequest:
    """What to ask of one response.

    Attributes:
        line: Speak exactly this text (a greeting, a reprompt) instead of generating; tools
            are off for it. ``None`` generates from the conversation.
        tools: Whether the model may call tools (ignored for a line).
    """

    line: str | None = None
    tools: bool = True


class RealtimeSession(Protocol):
    """One call's realtime session. See the module docstring for the promise."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @property
    def dropped_events(self) -> int:
        """Malformed or unknown server events dropped so far."""
        ...

    def push_audio(self, frame: AudioFrame) -> None:
        """Queue one frame of caller audio without blocking.

        Raises:
            InvalidAudioError: The frame is not in the session's call format.
            StreamClosedError: The session is closed.
        """
        ...

    def events(self) -> AsyncIterator[RealtimeEvent]:
        """Server events in order; ends when the session is closed."""
        ...

    async def update(self, config: RealtimeConfig) -> None:
        """Reconfigure the session (a handoff: new instructions, tools, voice)."""
        ...

    async def create_response(self, request: ResponseRequest) -> None:
        """Ask the service for a response (announced by ``ResponseStarted``)."""
        ...

    async def cancel_response(self) -> None:
        """Cancel the response in progress, if any."""
        ...

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Cut the assistant item ``item_id`` after ``audio_end_ms`` ms (what was played)."""
        ...

    async def send_tool_output(self, call_id: str, output: str) -> None:
        """Answer function call ``call_id`` with ``output`` (a conversation item)."""
        ...

    async def add_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Add history as conversation items (user and assistant text, tool calls, results)."""
        ...

    async def commit_input(self) -> None:
        """Commit the caller audio pushed so far as a user item (turn detection ``parley``)."""
        ...

    async def clear_input(self) -> None:
        """Drop the caller audio pushed and not committed."""
        ...

    async def aclose(self) -> None:
        """Close the session. Idempotent."""
        ...


class RealtimeModel(Protocol):
    """Factory of realtime sessions; one instance serves every call of a process."""

    @property
    def name(self) -> str:
        """Which service (``voicelive``, ``openai``, ``azure_openai``, ``fake``), for metrics."""
        ...

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> RealtimeSession:
        """A session that will apply ``config``, exchanging audio in ``fmt``.

        Raises:
            InvalidAudioError: ``fmt`` cannot be converted to the service's format.
        """
        ...


__all__ = [
    "FunctionCall",
    "InputTranscript",
    "RealtimeConfig",
    "RealtimeError",
    "RealtimeEvent",
    "RealtimeModel",
    "RealtimeSession",
    "ResponseAudio",
    "ResponseFinished",
    "ResponseRequest",
    "ResponseStarted",
    "ResponseTranscript",
    "SessionReconnected",
    "SpeechStarted",
    "SpeechStopped",
    "TurnDetection",
    "TurnDetectionOptions",
]
