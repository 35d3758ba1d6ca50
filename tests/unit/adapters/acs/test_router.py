"""The live-call table routing callback events to calls."""

from __future__ import annotations

import asyncio

from adapters.acs.router import LocalCallEventRouter
from ports import CallEvent, CallEventKind


def event(call_id: str, kind: CallEventKind = CallEventKind.PLAY_COMPLETED) -> CallEvent:
    return CallEvent(kind=kind, call_connection_id=call_id)


async def test_events_reach_only_their_call() -> None:
    router = LocalCallEventRouter()
    a = await router.open("a")
    b = await router.open("b")
    assert await router.deliver(event("a"))
    assert await router.deliver(event("b", CallEventKind.CALL_DISCONNECTED))
    got_b = [e async for e in b]
    assert [e.call_connection_id for e in got_b] == ["b"]
    await a.aclose()
    assert [e async for e in a] == []


async def test_events_before_open_are_held_and_handed_over() -> None:
    router = LocalCallEventRouter()
    assert not await router.deliver(event("c", CallEventKind.CALL_CONNECTED))
    feed = await router.open("c")
    await router.deliver(event("c", CallEventKind.CALL_DISCONNECTED))
    assert [e.kind async for e in feed] == [
        CallEventKind.CALL_CONNECTED,
        CallEventKind.CALL_DISCONNECTED,
    ]


async def test_held_events_expire() -> None:
    now = [0.0]
    router = LocalCallEventRouter(hold_ttl_s=5, clock=lambda: now[0])
    await router.deliver(event("d"))
    now[0] = 6
    feed = await router.open("d")
    await feed.aclose()
    assert [e async for e in feed] == []


async def test_held_events_are_bounded_per_call_and_in_calls() -> None:
    router = LocalCallEventRouter(max_held_calls=2, max_held_events=3)
    for i in range(5):
        await router.deliver(event("e"))
        await router.deliver(event(f"other{i}"))
    feed = await router.open("e")
    await feed.aclose()
    assert len([x async for x in feed]) <= 3


async def test_closing_the_feed_ends_a_waiting_reader() -> None:
    router = LocalCallEventRouter()
    feed = await router.open("f")

    async def read() -> list[CallEvent]:
        return [e async for e in feed]

    reader = asyncio.create_task(read())
    await asyncio.sleep(0)
    await feed.aclose()
    assert await asyncio.wait_for(reader, 1) == []
    assert not router.is_live("f")
