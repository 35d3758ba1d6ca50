"""ports.SpeechToText: the kit's suite over every adapter in ``SPEECH_TO_TEXT``."""

from __future__ import annotations

import pytest

from parley.contract import SpeechToTextCase, SpeechToTextContract
from tests.contract.conftest import SPEECH_TO_TEXT


class TestSpeechToText(SpeechToTextContract):
    @pytest.fixture(params=SPEECH_TO_TEXT)
    def stt_case(self, request: pytest.FixtureRequest) -> SpeechToTextCase:
        case: SpeechToTextCase = request.getfixturevalue(request.param)
        return case
