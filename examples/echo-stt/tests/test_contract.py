"""The echo adapter passes Parley's speech-to-text contract suite (the kit's own tests)."""

from __future__ import annotations

from types import ModuleType

import pytest

from echo_stt.contract import stt_case as echo_case
from parley.contract import SpeechToTextCase, SpeechToTextContract


class TestEchoSpeechToText(SpeechToTextContract):
    @pytest.fixture
    def stt_case(self, parley_audio: ModuleType) -> SpeechToTextCase:
        return echo_case(parley_audio)
