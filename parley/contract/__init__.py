"""The contract kit for adapter authors: Parley's port suites, runnable against any adapter.

Every port Parley defines has one suite here (:class:`SpeechToTextContract`,
:class:`SessionStoreContract`...): the same suite Parley's own adapters pass. To check an
adapter of your own, subclass the port's suite in a pytest module (a class named ``Test...``)
and define its case fixture, which returns the port's case object (the adapter plus what the
suite cannot ask through the port: known audio and its words, how to move time, how to make
it fail)::

    import pytest
    from parley.contract import SpeechToTextCase, SpeechToTextContract, silence

    class TestEchoSpeechToText(SpeechToTextContract):
        @pytest.fixture
        def stt_case(self) -> SpeechToTextCase:
            return SpeechToTextCase(stt=EchoSpeechToText(), fmt=..., speech=...,
                                    expected_words="book a room")

or, without writing a test module, ``parley contract stt my_package.module:make_case``.
A failed test names the promise the adapter broke (``ports.SpeechToText: push after close
raises stream closed``). The suites are async: run pytest with ``asyncio_mode = "auto"``
(pytest-asyncio). See ``docs/testing.md``, "The contract kit".
"""

from bootstrap.contract import (
    Advance,
    BeepDetectorCase,
    BeepDetectorContract,
    CallControlCase,
    CallControlContract,
    CallHistoryCase,
    CallHistoryContract,
    CallRegistryCase,
    CallRegistryContract,
    ClockCase,
    ClockContract,
    ConsultContract,
    ContractSuite,
    EndOfTurnCase,
    EndOfTurnContract,
    EventBusCase,
    EventBusContract,
    Failing,
    FarEnd,
    LanguageModelCase,
    LanguageModelContract,
    MediaStreamCase,
    MediaStreamContract,
    ModelRequestSpec,
    Outbound,
    RealtimeModelCase,
    RealtimeModelContract,
    SessionStoreCase,
    SessionStoreContract,
    SpeechToTextCase,
    SpeechToTextContract,
    TextToSpeechCase,
    TextToSpeechContract,
    ToolExecutorCase,
    ToolExecutorContract,
    ToolProbe,
    TranscriptLogCase,
    TranscriptLogContract,
    VadCase,
    VadContract,
    all_increasing,
    collect,
    contract_tools,
    no_task_leak,
    normalise_words,
    other_format,
    promise_of,
    silence,
    word_error_rate,
)
from bootstrap.contract.registry import PORTS, PortSuite

__all__ = [
    "Advance",
    "BeepDetectorCase",
    "BeepDetectorContract",
    "CallControlCase",
    "CallControlContract",
    "CallHistoryCase",
    "CallHistoryContract",
    "CallRegistryCase",
    "CallRegistryContract",
    "ClockCase",
    "ClockContract",
    "ConsultContract",
    "ContractSuite",
    "EndOfTurnCase",
    "EndOfTurnContract",
    "EventBusCase",
    "EventBusContract",
    "Failing",
    "FarEnd",
    "LanguageModelCase",
    "LanguageModelContract",
    "MediaStreamCase",
    "MediaStreamContract",
    "RealtimeModelCase",
    "RealtimeModelContract",
    "ModelRequestSpec",
    "Outbound",
    "PORTS",
    "PortSuite",
    "SessionStoreCase",
    "SessionStoreContract",
    "SpeechToTextCase",
    "SpeechToTextContract",
    "TextToSpeechCase",
    "TextToSpeechContract",
    "ToolExecutorCase",
    "ToolExecutorContract",
    "ToolProbe",
    "TranscriptLogCase",
    "TranscriptLogContract",
    "VadCase",
    "VadContract",
    "all_increasing",
    "collect",
    "contract_tools",
    "no_task_leak",
    "normalise_words",
    "other_format",
    "promise_of",
    "silence",
    "word_error_rate",
]
