"""Contract of the optional telephony capabilities: consulting (warm transfer), provider DTMF.

Run over every ``CallControl`` that implements them (``ports.ConsultingCallControl``,
``ports.DtmfCollector``): the memory fake and ACS through its emulator. Twilio implements
neither (its transfer is blind, its keys in-band), and the suite checks that too.
"""

from __future__ import annotations

import asyncio

import pytest

from ports import (
    CallEventKind,
    CallNotFoundError,
    ConsultingCallControl,
    DtmfCollector,
    Participant,
)
from tests.contract.cases import CallControlCase
from tests.contract.test_call_control import answered, next_event

CONSULTING = [
    pytest.param("memory_call_control", id="memory"),
    pytest.param("acs_call_control", id="acs", marks=pytest.mark.standin),
]


@pytest.fixture(params=CONSULTING)
def consult_case(request: pytest.FixtureRequest) -> CallControlCase:
    case: CallControlCase = request.getfixturevalue(request.param)
    return case


async def test_hold_invite_and_unhold_are_accepted_and_the_invite_answers(
    consult_case: CallControlCase,
) -> None:
    control = consult_case.control
    assert isinstance(control, ConsultingCallControl)
    call_id = await answered(consult_case)
    caller = consult_case.incoming.caller
    await control.hold(call_id, caller)
    await control.add_participant(
        call_id,
        consult_case.transfer_target,
        operation_context="consult:1",
        custom_context={"parley-call-id": call_id},
        invitation_timeout_s=5,
    )
    event = await next_event(
        consult_case,
        call_id,
        {CallEventKind.ADD_PARTICIPANT_SUCCEEDED, CallEventKind.ADD_PARTICIPANT_FAILED},
    )
    assert event.operation_context == "consult:1"
    await control.unhold(call_id, caller)


async def test_consulting_an_ended_call_raises_call_not_found(
    consult_case: CallControlCase,
) -> None:
    control = consult_case.control
    assert isinstance(control, ConsultingCallControl)
    with pytest.raises(CallNotFoundError):
        await control.hold("no-such-call", Participant.phone("+14255550123"))
    with pytest.raises(CallNotFoundError):
        await control.add_participant("no-such-call", consult_case.transfer_target)


async def test_key_collection_is_accepted(consult_case: CallControlCase) -> None:
    control = consult_case.control
    assert isinstance(control, DtmfCollector)
    call_id = await answered(consult_case)
    async with asyncio.timeout(5):
        await control.start_dtmf_recognition(
            call_id, consult_case.incoming.caller, max_tones=4, stop_tones=("#",)
        )


def test_twilio_offers_neither_capability() -> None:
    from adapters.twilio import StreamTokens, TwilioCallControl

    control = TwilioCallControl(object(), public_base_url="http://x", tokens=StreamTokens())  # type: ignore[arg-type]
    assert not isinstance(control, ConsultingCallControl)
    assert not isinstance(control, DtmfCollector)
