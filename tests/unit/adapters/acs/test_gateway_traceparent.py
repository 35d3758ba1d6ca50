"""An Event Grid offer that carries a W3C traceparent hands it to the call it starts."""

from __future__ import annotations

import asyncio

from adapters.acs.gateway import _traceparent

from .conftest import AcsStack

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_the_offer_traceparent_reaches_the_call_info(acs_stack: AcsStack) -> None:
    call = await acs_stack.emulator.offer_call(
        acs_stack.events_url, headers={"traceparent": TRACEPARENT}
    )
    await asyncio.wait_for(call.media_ready.wait(), 5)
    for _ in range(100):
        if acs_stack.handler.calls:
            break
        await asyncio.sleep(0.05)
    assert acs_stack.handler.calls[0].info.traceparent == TRACEPARENT


async def test_an_offer_without_traceparent_starts_a_new_trace(acs_stack: AcsStack) -> None:
    call = await acs_stack.emulator.offer_call(acs_stack.events_url)
    await asyncio.wait_for(call.media_ready.wait(), 5)
    for _ in range(100):
        if acs_stack.handler.calls:
            break
        await asyncio.sleep(0.05)
    assert acs_stack.handler.calls[0].info.traceparent == ""


def test_only_well_formed_traceparents_are_kept() -> None:
    assert _traceparent({"traceparent": TRACEPARENT.upper()}) == TRACEPARENT
    for bad in ("", "00-xyz", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "x" * 55):
        assert _traceparent({"traceparent": bad}) == ""
    assert _traceparent({}) == ""
