"""ports.VadFactory: the kit's suite over every adapter in ``VAD``."""

from __future__ import annotations

import pytest

from parley.contract import VadCase, VadContract
from tests.contract.conftest import VAD


class TestVad(VadContract):
    @pytest.fixture(params=VAD)
    def vad_case(self, request: pytest.FixtureRequest) -> VadCase:
        case: VadCase = request.getfixturevalue(request.param)
        return case
