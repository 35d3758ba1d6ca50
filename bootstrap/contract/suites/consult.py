"""Contract of the optional telephony capabilities: consulting (warm transfer), provider DTMF.

For a ``CallControl`` that also implements ``ports.ConsultingCallControl`` and
``ports.DtmfCollector`` (Parley's memory fake and ACS do; Twilio implements neither). The
suite is :class:`ConsultContract`; subclass it in a test module and define the
``consult_case`` fixture returning a :class:`~bootstrap.contract.cases.CallControlCase`
(the same case as the call-control suite).
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import CallControlCase
from bootstrap.contract.suite import ContractSuite
from bootstrap.contract.suites.call_control import answered, next_event
from ports import (
    CallEventKind,
    CallNotFoundError,
    ConsultingCallControl,
    DtmfCollector,
    Participant,
)


class ConsultContract(ContractSuite):
    """The promises of the consult and DTMF capabilities; needs a ``consult_case`` fixture."""

    port = "consult"
    protocol = "ports.consult"  # ConsultingCallControl and DtmfCollector
    case_fixture = "consult_case"

    async def test_hold_invite_and_unhold_are_accepted_and_the_invite_answers(
        self,
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
        self,
        consult_case: CallControlCase,
    ) -> None:
        control = consult_case.control
        assert isinstance(control, ConsultingCallControl)
        with pytest.raises(CallNotFoundError):
            await control.hold("no-such-call", Participant.phone("+14255550123"))
        with pytest.raises(CallNotFoundError):
            await control.add_participant("no-such-call", consult_case.transfer_target)

    async def test_key_collection_is_accepted(self, consult_case: CallControlCase) -> None:
        control = consult_case.control
        assert isinstance(control, DtmfCollector)
        call_id = await answered(consult_case)
        async with asyncio.timeout(5):
            await control.start_dtmf_recognition(
                call_id, consult_case.incoming.caller, max_tones=4, stop_tones=("#",)
            )
