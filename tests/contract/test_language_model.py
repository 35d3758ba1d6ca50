"""ports.LanguageModel: the kit's suite over every adapter in ``LANGUAGE_MODEL``."""

from __future__ import annotations

import pytest

from parley.contract import LanguageModelCase, LanguageModelContract
from tests.contract.conftest import LANGUAGE_MODEL


class TestLanguageModel(LanguageModelContract):
    @pytest.fixture(params=LANGUAGE_MODEL)
    def llm_case(self, request: pytest.FixtureRequest) -> LanguageModelCase:
        case: LanguageModelCase = request.getfixturevalue(request.param)
        return case
