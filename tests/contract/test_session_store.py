"""ports.SessionStore: the kit's suite over every adapter in ``SESSION_STORE``."""

from __future__ import annotations

import pytest

from parley.contract import SessionStoreCase, SessionStoreContract
from tests.contract.conftest import SESSION_STORE


class TestSessionStore(SessionStoreContract):
    @pytest.fixture(params=SESSION_STORE)
    def store_case(self, request: pytest.FixtureRequest) -> SessionStoreCase:
        case: SessionStoreCase = request.getfixturevalue(request.param)
        return case
