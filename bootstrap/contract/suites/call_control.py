"""Contract of ports.CallControl: accepted operations, their call events, port errors.

The suite is :class:`CallControlContract`; subclass it in a test module and define the
``control_case`` fixture returning a :class:`~bootstrap.contract.cases.CallControlCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import CallControlCase
from bootstrap.contract.suite import ContractSuite
from ports import CallEvent, CallEventKind, CallNotFoundError, ProviderError


async def next_event(
    case: CallControlCase, call_connection_id: str, kinds: set[CallEventKind]
) -> CallEvent:
    """The first event of one of ``kinds`` (others, like ParticipantsUpdated, are skipped)."""
    async with asyncio.timeout(2):
        async for event in case.events(call_connection_id):
            if event.kind in kinds:
                return event
    raise AssertionError(f"the event stream ended without any of {kinds}")


async def answered(case: CallControlCase) -> str:
    connection = await case.control.answer(
        case.incoming, callback_url=case.callback_url, media=case.media
    )
    assert connection.call_connection_id
    return connection.call_connection_id


class CallControlContract(ContractSuite):
    """The promises of :class:`ports.CallControl`; needs a ``control_case`` fixture."""

    port = "call_control"
    protocol = "ports.CallControl"
    case_fixture = "control_case"

    async def test_answer_connects_the_call(self, control_case: CallControlCase) -> None:
        call_id = await answered(control_case)
        event = await next_event(control_case, call_id, {CallEventKind.CALL_CONNECTED})
        assert event.call_connection_id == call_id

    async def test_transfer_outcome_arrives_as_a_call_event(
        self, control_case: CallControlCase
    ) -> None:
        call_id = await answered(control_case)
        await control_case.control.transfer(
            call_id, control_case.transfer_target, operation_context="transfer-1"
        )
        event = await next_event(
            control_case, call_id, {CallEventKind.TRANSFER_ACCEPTED, CallEventKind.TRANSFER_FAILED}
        )
        assert (event.call_connection_id, event.operation_context) == (call_id, "transfer-1")

    async def test_hang_up_disconnects_and_ends_the_call(
        self, control_case: CallControlCase
    ) -> None:
        control = control_case.control
        call_id = await answered(control_case)
        await control.hang_up(call_id)
        await next_event(control_case, call_id, {CallEventKind.CALL_DISCONNECTED})
        with pytest.raises(CallNotFoundError):
            await control.transfer(call_id, control_case.transfer_target)
        with pytest.raises(CallNotFoundError):
            await control.hang_up(call_id)

    async def test_operations_on_an_unknown_call_raise_call_not_found(
        self,
        control_case: CallControlCase,
    ) -> None:
        with pytest.raises(CallNotFoundError):
            await control_case.control.hang_up("no-such-call")
        with pytest.raises(CallNotFoundError):
            await control_case.control.transfer("no-such-call", control_case.transfer_target)

    async def test_provider_failures_raise_port_errors(self, control_case: CallControlCase) -> None:
        assert control_case.failures, "an implementation must show how it fails"
        for failing in control_case.failures:
            assert issubclass(failing.expected, ProviderError)
            with pytest.raises(failing.expected):
                await failing.adapter.answer(
                    control_case.incoming,
                    callback_url=control_case.callback_url,
                    media=control_case.media,
                )
