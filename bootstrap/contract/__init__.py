"""The contract kit: one suite per port, the case objects they take, and their helpers.

Parley's own adapters pass these suites (``tests/contract/``), and so can any adapter outside
the repository: subclass a port's suite in a test module and give it a case fixture, or run
``parley contract PORT module:factory``. The public import path is :mod:`parley.contract`;
``docs/testing.md`` ("The contract kit") shows both ways. This package imports pytest: it is
for test runs only, never imported by the server.
"""

from bootstrap.contract.cases import (
    Advance,
    CallControlCase,
    CallRegistryCase,
    ClockCase,
    EventBusCase,
    Failing,
    FarEnd,
    LanguageModelCase,
    MediaStreamCase,
    ModelRequestSpec,
    Outbound,
    SessionStoreCase,
    SpeechToTextCase,
    TextToSpeechCase,
    ToolExecutorCase,
    ToolProbe,
    TranscriptLogCase,
    VadCase,
)
from bootstrap.contract.helpers import (
    all_increasing,
    collect,
    no_task_leak,
    normalise_words,
    other_format,
    silence,
    word_error_rate,
)
from bootstrap.contract.suite import ContractSuite, promise_of
from bootstrap.contract.suites import (
    CallControlContract,
    CallRegistryContract,
    ClockContract,
    EventBusContract,
    LanguageModelContract,
    MediaStreamContract,
    SessionStoreContract,
    SpeechToTextContract,
    TextToSpeechContract,
    ToolExecutorContract,
    TranscriptLogContract,
    VadContract,
)
from bootstrap.contract.tools import contract_tools

__all__ = [
    "Advance",
    "CallControlCase",
    "CallControlContract",
    "CallRegistryCase",
    "CallRegistryContract",
    "ClockCase",
    "ClockContract",
    "ContractSuite",
    "EventBusCase",
    "EventBusContract",
    "Failing",
    "FarEnd",
    "LanguageModelCase",
    "LanguageModelContract",
    "MediaStreamCase",
    "MediaStreamContract",
    "ModelRequestSpec",
    "Outbound",
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
