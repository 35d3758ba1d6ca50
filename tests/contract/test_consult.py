"""The consult (warm transfer) and provider-DTMF capabilities: the kit's suite over every
``CallControl`` in ``CONSULTING`` that implements them (the memory fake, ACS through its
emulator). Twilio implements neither (its transfer is blind, its keys in-band): checked here.
"""

from __future__ import annotations

import pytest

from parley.contract import CallControlCase, ConsultContract
from ports import ConsultingCallControl, DtmfCollector
from tests.contract.conftest import CONSULTING


class TestConsult(ConsultContract):
    @pytest.fixture(params=CONSULTING)
    def consult_case(self, request: pytest.FixtureRequest) -> CallControlCase:
        case: CallControlCase = request.getfixturevalue(request.param)
        return case


def test_twilio_offers_neither_capability() -> None:
    from adapters.twilio import StreamTokens, TwilioCallControl

    control = TwilioCallControl(object(), public_base_url="http://x", tokens=StreamTokens())  # type: ignore[arg-type]
    assert not isinstance(control, ConsultingCallControl)
    assert not isinstance(control, DtmfCollector)
