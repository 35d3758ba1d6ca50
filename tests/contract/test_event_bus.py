"""ports.EventBus: the kit's suite over every adapter in ``EVENT_BUS``."""

from __future__ import annotations

import pytest

from parley.contract import EventBusCase, EventBusContract
from tests.contract.conftest import EVENT_BUS


class TestEventBus(EventBusContract):
    @pytest.fixture(params=EVENT_BUS)
    def bus_case(self, request: pytest.FixtureRequest) -> EventBusCase:
        case: EventBusCase = request.getfixturevalue(request.param)
        return case
