"""ports.CallRegistry: the kit's suite over every adapter in ``CALL_REGISTRY``."""

from __future__ import annotations

import pytest

from parley.contract import CallRegistryCase, CallRegistryContract
from tests.contract.conftest import CALL_REGISTRY


class TestCallRegistry(CallRegistryContract):
    @pytest.fixture(params=CALL_REGISTRY)
    def registry_case(self, request: pytest.FixtureRequest) -> CallRegistryCase:
        case: CallRegistryCase = request.getfixturevalue(request.param)
        return case
