"""Contract cases for ``parley contract stt echo_stt.contract:stt_case`` (and the tests).

A factory may ask for the kit's fixtures by parameter name: ``parley_audio`` gives synthetic
audio (:mod:`parley.contract` documents it), ``parley_clock`` a manual clock.
"""

from __future__ import annotations

from types import ModuleType

from echo_stt import EchoSpeechToText
from echo_stt.broken import SecondsEchoSpeechToText
from parley.contract import Failing, SpeechToTextCase
from ports import PCM16_16K, ProviderUnavailableError

WORDS = "book a room"


def _case(stt: EchoSpeechToText, audio: ModuleType) -> SpeechToTextCase:
    broken = EchoSpeechToText(WORDS, fail_with=ProviderUnavailableError("engine down"))
    return SpeechToTextCase(
        stt=stt,
        fmt=PCM16_16K,
        speech=audio.utterance(PCM16_16K, 1200),
        expected_words=WORDS,
        max_wer=0.0,
        failures=[Failing(ProviderUnavailableError, broken, "engine down")],
    )


def stt_case(parley_audio: ModuleType) -> SpeechToTextCase:
    """The echo adapter under contract."""
    return _case(EchoSpeechToText(WORDS), parley_audio)


def broken_stt_case(parley_audio: ModuleType) -> SpeechToTextCase:
    """The deliberately wrong adapter (offsets in seconds) under contract."""
    return _case(SecondsEchoSpeechToText(WORDS), parley_audio)
