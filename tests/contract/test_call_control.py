"""ports.CallControl: the kit's suite over every adapter in ``CALL_CONTROL``."""

from __future__ import annotations

import pytest

from parley.contract import CallControlCase, CallControlContract
from tests.contract.conftest import CALL_CONTROL


class TestCallControl(CallControlContract):
    @pytest.fixture(params=CALL_CONTROL)
    def control_case(self, request: pytest.FixtureRequest) -> CallControlCase:
        case: CallControlCase = request.getfixturevalue(request.param)
        return case
