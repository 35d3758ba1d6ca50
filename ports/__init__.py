"""Ports: the ground floor of Parley's hexagon.

What belongs here: the boundary values that cross a port (audio frames, chat messages, tool
specs and calls, transcript and response events, call events), one ``typing.Protocol`` per port
in its own module with a docstring stating its promise (units, ordering, cancellation, errors),
and the port error tree (:mod:`ports.errors`).

What does not: behaviour, I/O, and any import outside the standard library. ``domain`` and
every adapter import from here; this package imports nothing of theirs (import-linter checks).
"""

from ports.audio import MULAW_8K, PCM16_16K, PCM16_24K, AudioEncoding, AudioFormat, AudioFrame
from ports.beep import BeepDetector, BeepDetectorFactory
from ports.call_control import (
    CallConnection,
    CallControl,
    CallEvent,
    CallEventKind,
    IncomingCall,
    MediaOptions,
    Participant,
    ParticipantKind,
)
from ports.call_registry import CallRegistry
from ports.chat import (
    HANDOFF_TOOL_PREFIX,
    ChatMessage,
    HandOff,
    HangUp,
    JsonObject,
    JsonValue,
    Role,
    ToolAction,
    ToolCall,
    ToolResult,
    ToolSpec,
    TransferCall,
)
from ports.clock import Clock
from ports.consult import ConsultingCallControl, DtmfCollector
from ports.driving import (
    CallHandler,
    CallInfo,
    CallObserver,
    CallSummary,
    ConversationUpdate,
    InboundCall,
    UpdateKind,
)
from ports.end_of_turn import EndOfTurnDetector
from ports.errors import (
    AuthenticationError,
    CallNotFoundError,
    ContentFilteredError,
    InvalidAudioError,
    InvalidTargetError,
    ParleyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    StoreError,
    StoreUnavailableError,
    StreamClosedError,
    VersionConflictError,
)
from ports.event_bus import EventBus, Subscription
from ports.health import HealthCheck
from ports.language_model import (
    LanguageModel,
    ModelOptions,
    ResponseDone,
    ResponseEvent,
    TextDelta,
    ToolCallsRequested,
    Usage,
)
from ports.media_stream import (
    AudioReceived,
    DtmfReceived,
    MediaEvent,
    MediaStream,
    StreamClosed,
    StreamStarted,
)
from ports.metrics import CallMetrics, LatencyStage
from ports.session_store import SessionStore, StoredSession
from ports.speech_to_text import RecognitionSession, SpeechToText, TranscriptEvent
from ports.text_to_speech import SpeechChunk, TextToSpeech, Voice, WordBoundary
from ports.tool_executor import ToolExecutor
from ports.transcript_log import TranscriptEntry, TranscriptLog
from ports.vad import VadFactory, VoiceActivityDetector

__all__ = [
    "BeepDetector",
    "BeepDetectorFactory",
    "ConsultingCallControl",
    "DtmfCollector",
    "HANDOFF_TOOL_PREFIX",
    "MULAW_8K",
    "PCM16_16K",
    "PCM16_24K",
    "AudioEncoding",
    "AudioFormat",
    "AudioFrame",
    "AudioReceived",
    "AuthenticationError",
    "CallConnection",
    "CallControl",
    "CallEvent",
    "CallEventKind",
    "CallHandler",
    "CallInfo",
    "CallMetrics",
    "CallNotFoundError",
    "CallObserver",
    "CallRegistry",
    "CallSummary",
    "ChatMessage",
    "Clock",
    "ContentFilteredError",
    "ConversationUpdate",
    "DtmfReceived",
    "EndOfTurnDetector",
    "EventBus",
    "HandOff",
    "HangUp",
    "HealthCheck",
    "InboundCall",
    "IncomingCall",
    "InvalidAudioError",
    "InvalidTargetError",
    "JsonObject",
    "JsonValue",
    "LanguageModel",
    "LatencyStage",
    "MediaEvent",
    "MediaOptions",
    "MediaStream",
    "ModelOptions",
    "ParleyError",
    "Participant",
    "ParticipantKind",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RecognitionSession",
    "ResponseDone",
    "ResponseEvent",
    "Role",
    "SessionStore",
    "SpeechChunk",
    "SpeechToText",
    "StoreError",
    "StoreUnavailableError",
    "StoredSession",
    "StreamClosed",
    "StreamClosedError",
    "StreamStarted",
    "Subscription",
    "TextDelta",
    "TextToSpeech",
    "ToolAction",
    "ToolCall",
    "ToolCallsRequested",
    "ToolExecutor",
    "ToolResult",
    "ToolSpec",
    "TranscriptEntry",
    "TranscriptEvent",
    "TranscriptLog",
    "TransferCall",
    "UpdateKind",
    "Usage",
    "VadFactory",
    "Voice",
    "VoiceActivityDetector",
    "VersionConflictError",
    "WordBoundary",
]
