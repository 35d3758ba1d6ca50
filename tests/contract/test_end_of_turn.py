"""ports.EndOfTurnDetector: the kit's suite over every adapter in ``END_OF_TURN``."""

from __future__ import annotations

import pytest

from parley.contract import EndOfTurnCase, EndOfTurnContract
from tests.contract.conftest import END_OF_TURN


class TestEndOfTurn(EndOfTurnContract):
    @pytest.fixture(params=END_OF_TURN)
    def eot_case(self, request: pytest.FixtureRequest) -> EndOfTurnCase:
        case: EndOfTurnCase = request.getfixturevalue(request.param)
        return case
