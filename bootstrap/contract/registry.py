"""The ports the contract kit covers: key -> suite and case type (``parley contract PORT``).

Adding a port's suite is one module in ``bootstrap/contract/suites/`` and one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bootstrap.contract import cases
from bootstrap.contract.realtime_case import RealtimeModelCase
from bootstrap.contract.suite import ContractSuite
from bootstrap.contract.suites import (
    BeepDetectorContract,
    CallControlContract,
    CallHistoryContract,
    CallRegistryContract,
    ClockContract,
    ConsultContract,
    EndOfTurnContract,
    EventBusContract,
    LanguageModelContract,
    MediaStreamContract,
    RealtimeModelContract,
    SessionStoreContract,
    SpeechToTextContract,
    TextToSpeechContract,
    ToolExecutorContract,
    TranscriptLogContract,
    VadContract,
)


@dataclass(frozen=True, slots=True)
class PortSuite:
    """One port of the kit.

    Attributes:
        suite: The port's suite class.
        case: The case type its implementations return.
    """

    suite: type[ContractSuite]
    case: type


PORTS: dict[str, PortSuite] = {
    s.suite.port: s
    for s in (
        PortSuite(SpeechToTextContract, cases.SpeechToTextCase),
        PortSuite(TextToSpeechContract, cases.TextToSpeechCase),
        PortSuite(LanguageModelContract, cases.LanguageModelCase),
        PortSuite(VadContract, cases.VadCase),
        PortSuite(EndOfTurnContract, cases.EndOfTurnCase),
        PortSuite(MediaStreamContract, cases.MediaStreamCase),
        PortSuite(CallControlContract, cases.CallControlCase),
        PortSuite(ConsultContract, cases.CallControlCase),
        PortSuite(BeepDetectorContract, cases.BeepDetectorCase),
        PortSuite(SessionStoreContract, cases.SessionStoreCase),
        PortSuite(TranscriptLogContract, cases.TranscriptLogCase),
        PortSuite(EventBusContract, cases.EventBusCase),
        PortSuite(CallRegistryContract, cases.CallRegistryCase),
        PortSuite(CallHistoryContract, cases.CallHistoryCase),
        PortSuite(ToolExecutorContract, cases.ToolExecutorCase),
        PortSuite(ClockContract, cases.ClockCase),
        PortSuite(RealtimeModelContract, RealtimeModelCase),
    )
}
"""Every port with a suite, by key (``stt``, ``tts``, ``llm``, ``vad``, ``session_store``...)."""
