"""ports.TranscriptLog: the kit's suite over every adapter in ``TRANSCRIPT_LOG``."""

from __future__ import annotations

import pytest

from parley.contract import TranscriptLogCase, TranscriptLogContract
from tests.contract.conftest import TRANSCRIPT_LOG


class TestTranscriptLog(TranscriptLogContract):
    @pytest.fixture(params=TRANSCRIPT_LOG)
    def log_case(self, request: pytest.FixtureRequest) -> TranscriptLogCase:
        case: TranscriptLogCase = request.getfixturevalue(request.param)
        return case
