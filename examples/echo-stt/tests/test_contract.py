"""The echo adapter passes Parley's speech-to-text contract suite (the kit's own tests)."""

from __future__ import annotations

from types import ModuleType

import pytest
from echo_stt.contract import stt_case as echo_case

from parley.contract import SpeechToTextCase, SpeechToTextContract


class TestEchoSpeechToText(SpeechToTextContract):
    """Every promise of ``ports.SpeechToText``, checked on :class:`EchoSpeechToText`."""

    @pytest.fixture
    def stt_case(self, parley_audio: ModuleType) -> SpeechToTextCase:
        """The adapter under contract (``parley_audio``: the kit's synthetic audio)."""
        return echo_case(parley_audio)
