"""ports.Clock: the kit's suite over every adapter in ``CLOCK``."""

from __future__ import annotations

import pytest

from parley.contract import ClockCase, ClockContract
from tests.contract.conftest import CLOCK


class TestClock(ClockContract):
    @pytest.fixture(params=CLOCK)
    def clock_case(self, request: pytest.FixtureRequest) -> ClockCase:
        case: ClockCase = request.getfixturevalue(request.param)
        return case
