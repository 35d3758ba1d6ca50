"""In-memory adapters: a first-class, deterministic implementation of every port.

They import only ``ports`` and the standard library, keep all state in their instances, and
are used alike by tests (scripted, driven by :class:`ManualClock`), local runs and bootstrap
(``PARLEY_STT=fake`` and friends). See each class for its constructor and its rule.
"""

from adapters.memory.call_control import CallOperation, FakeCallControl
from adapters.memory.clock import ManualClock
from adapters.memory.end_of_turn import ScriptedEndOfTurnDetector
from adapters.memory.event_bus import MemoryEventBus, MemorySubscription
from adapters.memory.language_model import ModelRequest, ScriptedLanguageModel, ScriptedTurn
from adapters.memory.media_stream import FakeMediaStream, Outbound
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.signals import frame_rms, tone_frame, tone_frames
from adapters.memory.speech_to_text import (
    FakeRecognitionSession,
    FakeSpeechToText,
    ScriptedUtterance,
)
from adapters.memory.stores import MemoryCallRegistry, MemorySessionStore, MemoryTranscriptLog
from adapters.memory.text_to_speech import FakeTextToSpeech, SynthesisRequest
from adapters.memory.tool_executor import FunctionTool, FunctionToolExecutor
from adapters.memory.vad import FakeVad, FakeVadFactory

__all__ = [
    "CallOperation",
    "FakeCallControl",
    "FakeMediaStream",
    "FakeRecognitionSession",
    "FakeSpeechToText",
    "FakeTextToSpeech",
    "FakeVad",
    "FakeVadFactory",
    "FunctionTool",
    "FunctionToolExecutor",
    "ManualClock",
    "MemoryCallRegistry",
    "MemoryEventBus",
    "MemorySessionStore",
    "MemorySubscription",
    "MemoryTranscriptLog",
    "ModelRequest",
    "Outbound",
    "RecordingMetrics",
    "ScriptedEndOfTurnDetector",
    "ScriptedLanguageModel",
    "ScriptedTurn",
    "ScriptedUtterance",
    "SynthesisRequest",
    "frame_rms",
    "tone_frame",
    "tone_frames",
]
