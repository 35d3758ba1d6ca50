"""Events that arrive before their call has an owner, and a bus that is down at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from adapters.memory import FakeCallControl, MemoryCallRegistry, MemoryEventBus
from adapters.routing import CallEventRouter
from adapters.routing.metrics import CallRouterCollector
from adapters.system.clock import SystemClock
from ports import CallEvent, CallEventKind, StoreUnavailableError

HOLD_MS = 300.0


def event(kind: CallEventKind, call_id: str = "call-1") -> CallEvent:
    return CallEvent(kind=kind, call_connection_id=call_id)


@pytest.fixture
def registry() -> MemoryCallRegistry:
    return MemoryCallRegistry(SystemClock(), ttl_ms=10_000)


@pytest.fixture
def bus() -> MemoryEventBus:
    return MemoryEventBus()


@pytest.fixture
def control() -> FakeCallControl:
    fake = FakeCallControl()
    fake.add_call("call-1")
    return fake


def router(
    name: str, registry: MemoryCallRegistry, bus: MemoryEventBus, control: FakeCallControl
) -> CallEventRouter:
    return CallEventRouter(
        instance_id=name,
        registry=registry,
        bus=bus,
        call_control=control,
        hold_ms=HOLD_MS,
        poll_ms=20.0,
        timeout_s=0.5,
    )


@pytest.fixture
async def a(
    registry: MemoryCallRegistry, bus: MemoryEventBus, control: FakeCallControl
) -> AsyncIterator[CallEventRouter]:
    r = router("a", registry, bus, control)
    await r.start()
    yield r
    await r.aclose()


@pytest.fixture
async def b(
    registry: MemoryCallRegistry, bus: MemoryEventBus, control: FakeCallControl
) -> AsyncIterator[CallEventRouter]:
    r = router("b", registry, bus, control)
    await r.start()
    yield r
    await r.aclose()


async def test_a_callback_before_the_media_socket_is_handed_over_when_the_call_opens(
    a: CallEventRouter,
) -> None:
    assert await a.deliver(event(CallEventKind.CALL_CONNECTED)) == "held"
    feed = await a.open("call-1")
    assert await a.deliver(event(CallEventKind.MEDIA_STREAMING_STARTED)) == "local"
    events = aiter(feed)
    assert (await anext(events)).kind is CallEventKind.CALL_CONNECTED
    assert (await anext(events)).kind is CallEventKind.MEDIA_STREAMING_STARTED
    await feed.aclose()
    assert not a.owns("call-1")


async def test_a_held_event_follows_the_call_to_the_instance_that_opens_it(
    a: CallEventRouter, b: CallEventRouter, control: FakeCallControl
) -> None:
    assert await b.deliver(event(CallEventKind.CALL_CONNECTED)) == "held"
    feed = await a.open("call-1")
    received = await asyncio.wait_for(anext(aiter(feed)), timeout=2)
    assert received.kind is CallEventKind.CALL_CONNECTED
    assert b.outcomes["forwarded"] == 1
    assert control.is_active("call-1")


async def test_a_call_nobody_opens_within_the_hold_is_hung_up_as_lost(
    b: CallEventRouter, control: FakeCallControl
) -> None:
    assert await b.deliver(event(CallEventKind.CALL_CONNECTED)) == "held"
    async with asyncio.timeout(5):
        while control.is_active("call-1"):
            await asyncio.sleep(0.02)
    assert b.lost_calls == 1 and b.held_calls == 0


async def test_call_disconnected_for_a_call_live_nowhere_is_not_a_lost_call(
    b: CallEventRouter, control: FakeCallControl
) -> None:
    assert await b.deliver(event(CallEventKind.CALL_DISCONNECTED)) == "ended"
    assert b.lost_calls == 0 and b.held_calls == 0
    assert control.is_active("call-1")


async def test_a_registry_outage_never_hangs_up_a_call(
    registry: MemoryCallRegistry, b: CallEventRouter, control: FakeCallControl
) -> None:
    registry.fail_with = StoreUnavailableError("down")
    assert await b.deliver(event(CallEventKind.PARTICIPANTS_UPDATED)) == "held"
    async with asyncio.timeout(5):
        while b.held_calls:
            await asyncio.sleep(0.02)
    assert b.outcomes["undeliverable"] == 1
    assert b.lost_calls == 0 and control.is_active("call-1")


async def test_a_bus_down_at_start_does_not_fail_the_start_and_is_retried(
    registry: MemoryCallRegistry, control: FakeCallControl
) -> None:
    bus = MemoryEventBus(fail_with=StoreUnavailableError("down"))
    late = router("late", registry, bus, control)
    await late.start()
    try:
        assert not late.subscribed
        with pytest.raises(StoreUnavailableError):
            await late.health_check()
        bus.fail_with = None
        async with asyncio.timeout(5):
            while not late.subscribed:
                await asyncio.sleep(0.02)
        await late.health_check()
    finally:
        await late.aclose()


async def test_router_figures_are_exported_for_prometheus(a: CallEventRouter) -> None:
    await a.open("call-1")
    await a.deliver(event(CallEventKind.CALL_CONNECTED))
    registry = CollectorRegistry()
    registry.register(CallRouterCollector(a))
    text = generate_latest(registry).decode()
    assert 'parley_call_events_routed_total{outcome="local"} 1.0' in text
    assert "parley_call_router_attached_calls 1.0" in text
    assert "parley_call_router_subscribed 1.0" in text


async def test_an_event_after_the_call_ended_here_is_not_a_lost_call(
    a: CallEventRouter, control: FakeCallControl
) -> None:
    feed = await a.open("call-1")
    await feed.aclose()
    assert await a.deliver(event(CallEventKind.MEDIA_STREAMING_STOPPED)) == "ended"
    assert a.held_calls == 0 and a.lost_calls == 0
    assert control.is_active("call-1")
