"""ports.BeepDetectorFactory: the kit's suite over every adapter in ``BEEP_DETECTOR``."""

from __future__ import annotations

import pytest

from parley.contract import BeepDetectorCase, BeepDetectorContract
from tests.contract.conftest import BEEP_DETECTOR


class TestBeepDetector(BeepDetectorContract):
    @pytest.fixture(params=BEEP_DETECTOR)
    def beep_case(self, request: pytest.FixtureRequest) -> BeepDetectorCase:
        case: BeepDetectorCase = request.getfixturevalue(request.param)
        return case
