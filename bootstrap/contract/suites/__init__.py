"""One contract suite per port (a :class:`~bootstrap.contract.suite.ContractSuite` subclass)."""

from bootstrap.contract.suites.beep_detector import BeepDetectorContract
from bootstrap.contract.suites.call_control import CallControlContract
from bootstrap.contract.suites.call_history import CallHistoryContract
from bootstrap.contract.suites.call_registry import CallRegistryContract
from bootstrap.contract.suites.clock import ClockContract
from bootstrap.contract.suites.consult import ConsultContract
from bootstrap.contract.suites.end_of_turn import EndOfTurnContract
from bootstrap.contract.suites.event_bus import EventBusContract
from bootstrap.contract.suites.language_model import LanguageModelContract
from bootstrap.contract.suites.media_stream import MediaStreamContract
from bootstrap.contract.suites.realtime_model import RealtimeModelContract
from bootstrap.contract.suites.session_store import SessionStoreContract
from bootstrap.contract.suites.speech_to_text import SpeechToTextContract
from bootstrap.contract.suites.text_to_speech import TextToSpeechContract
from bootstrap.contract.suites.tool_executor import ToolExecutorContract
from bootstrap.contract.suites.transcript_log import TranscriptLogContract
from bootstrap.contract.suites.vad import VadContract

__all__ = [
    "BeepDetectorContract",
    "CallControlContract",
    "CallHistoryContract",
    "CallRegistryContract",
    "ClockContract",
    "ConsultContract",
    "EndOfTurnContract",
    "EventBusContract",
    "LanguageModelContract",
    "MediaStreamContract",
    "RealtimeModelContract",
    "SessionStoreContract",
    "SpeechToTextContract",
    "TextToSpeechContract",
    "ToolExecutorContract",
    "TranscriptLogContract",
    "VadContract",
]
