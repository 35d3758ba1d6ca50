"""The lone-process router the ACS gateway can use: the routing router over in-process stores."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.acs.router import LocalCallEventRouter
from adapters.memory import FakeCallControl
from adapters.routing import CallEventRouter
from ports import CallEvent, CallEventKind


def event(call_id: str, kind: CallEventKind = CallEventKind.PLAY_COMPLETED) -> CallEvent:
    return CallEvent(kind=kind, call_connection_id=call_id)


async def test_it_is_the_routing_router_not_a_copy() -> None:
    router = LocalCallEventRouter()
    assert isinstance(router, CallEventRouter)
    await router.aclose()


async def test_events_reach_only_their_call() -> None:
    router = LocalCallEventRouter()
    a = await router.open("a")
    b = await router.open("b")
    assert await router.deliver(event("a")) == "local"
    assert await router.deliver(event("b", CallEventKind.CALL_DISCONNECTED)) == "local"
    got_b = [e async for e in b]
    assert [e.call_connection_id for e in got_b] == ["b"]
    await a.aclose()
    assert [e.call_connection_id async for e in a] == ["a"]
    await router.aclose()


async def test_events_before_open_are_held_and_handed_over() -> None:
    router = LocalCallEventRouter()
    assert await router.deliver(event("c", CallEventKind.CALL_CONNECTED)) == "held"
    feed = await router.open("c")
    await router.deliver(event("c", CallEventKind.CALL_DISCONNECTED))
    assert [e.kind async for e in feed] == [
        CallEventKind.CALL_CONNECTED,
        CallEventKind.CALL_DISCONNECTED,
    ]
    await router.aclose()


async def test_held_events_of_a_call_that_never_opens_expire_and_it_is_hung_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    control = FakeCallControl()
    control.add_call("d")
    router = LocalCallEventRouter(call_control=control, hold_ms=20.0, poll_ms=5.0)
    with caplog.at_level(logging.ERROR):
        assert await router.deliver(event("d")) == "held"
        async with asyncio.timeout(5):
            while router.held_calls:
                await asyncio.sleep(0.005)
    assert router.outcomes["lost"] == 1
    assert "no live owner" in caplog.text
    assert [(op.name, op.call_connection_id) for op in control.operations] == [("hang_up", "d")]
    feed = await router.open("d")
    await feed.aclose()
    assert [e async for e in feed] == []
    await router.aclose()


async def test_held_events_are_bounded_per_call_and_in_calls() -> None:
    router = LocalCallEventRouter(max_held_calls=2, max_held_events=3)
    outcomes = [await router.deliver(event("e")) for _ in range(5)]
    outcomes += [await router.deliver(event(f"other{i}")) for i in range(3)]
    assert outcomes == ["held"] * 3 + ["dropped"] * 2 + ["held", "dropped", "dropped"]
    feed = await router.open("e")
    await feed.aclose()
    assert len([x async for x in feed]) == 3
    await router.aclose()


async def test_closing_the_feed_ends_a_waiting_reader() -> None:
    router = LocalCallEventRouter()
    feed = await router.open("f")

    async def read() -> list[CallEvent]:
        return [e async for e in feed]

    reader = asyncio.create_task(read())
    await asyncio.sleep(0)
    await feed.aclose()
    assert await asyncio.wait_for(reader, 1) == []
    assert not router.owns("f")
    await router.aclose()
