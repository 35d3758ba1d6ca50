"""ports.realtime.RealtimeModel: the kit's suite over the fake, Voice Live and OpenAI Realtime.

Voice Live and OpenAI (and Azure OpenAI's GA path) talk through their real SDKs to the local
stand-in (``tests/emulators/realtime_standin.py``); the fixtures are in ``impl_realtime.py``.
"""

from __future__ import annotations

import pytest

from parley.contract import RealtimeModelCase, RealtimeModelContract
from tests.contract.impl_realtime import (  # noqa: F401 - fixtures, resolved by name
    azure_openai_realtime,
    fake_realtime,
    openai_realtime,
    realtime_standin_server,
    voicelive_realtime,
)

STANDIN = pytest.mark.standin
REALTIME = [
    pytest.param("fake_realtime", id="fake"),
    pytest.param("voicelive_realtime", id="voicelive", marks=STANDIN),
    pytest.param("openai_realtime", id="openai", marks=STANDIN),
    pytest.param("azure_openai_realtime", id="azure_openai", marks=STANDIN),
]


class TestRealtimeModel(RealtimeModelContract):
    @pytest.fixture(params=REALTIME)
    def realtime_case(self, request: pytest.FixtureRequest) -> RealtimeModelCase:
        case: RealtimeModelCase = request.getfixturevalue(request.param)
        return case
