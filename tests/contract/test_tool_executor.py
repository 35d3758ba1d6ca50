"""ports.ToolExecutor: the kit's suite over every adapter in ``TOOL_EXECUTOR``."""

from __future__ import annotations

import pytest

from parley.contract import ToolExecutorCase, ToolExecutorContract
from tests.contract.conftest import TOOL_EXECUTOR


class TestToolExecutor(ToolExecutorContract):
    @pytest.fixture(params=TOOL_EXECUTOR)
    def tools_case(self, request: pytest.FixtureRequest) -> ToolExecutorCase:
        case: ToolExecutorCase = request.getfixturevalue(request.param)
        return case
