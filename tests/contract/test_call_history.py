"""ports.CallHistory: the kit's suite over every adapter in ``CALL_HISTORY``.

Memory, SQLite (a temporary file) and PostgreSQL (a real server the session starts:
``tests/fixtures/postgres_server.py``); the fixtures are in ``impl_call_history.py``.
"""

from __future__ import annotations

import pytest

from parley.contract import CallHistoryCase, CallHistoryContract
from tests.contract.conftest import CALL_HISTORY


class TestCallHistory(CallHistoryContract):
    @pytest.fixture(params=CALL_HISTORY)
    def history_case(self, request: pytest.FixtureRequest) -> CallHistoryCase:
        case: CallHistoryCase = request.getfixturevalue(request.param)
        return case
