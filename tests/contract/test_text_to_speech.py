"""ports.TextToSpeech: the kit's suite over every adapter in ``TEXT_TO_SPEECH``."""

from __future__ import annotations

import pytest

from parley.contract import TextToSpeechCase, TextToSpeechContract
from tests.contract.conftest import TEXT_TO_SPEECH


class TestTextToSpeech(TextToSpeechContract):
    @pytest.fixture(params=TEXT_TO_SPEECH)
    def tts_case(self, request: pytest.FixtureRequest) -> TextToSpeechCase:
        case: TextToSpeechCase = request.getfixturevalue(request.param)
        return case
