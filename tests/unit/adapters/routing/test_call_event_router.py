"""Call events reach the instance that owns the call, over memory and over real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.memory import (
    FakeCallControl,
    MemoryCallRegistry,
    MemoryEventBus,
)
from adapters.redis import RedisCallRegistry, RedisConfig, RedisConnection, RedisEventBus
from adapters.routing import CallEventRouter, decode_call_event, encode_call_event
from adapters.system.clock import SystemClock
from ports import CallEvent, CallEventKind, CallRegistry, EventBus
from tests.fixtures.redis_server import RedisServer


@dataclass
class Backend:
    registry_a: CallRegistry
    registry_b: CallRegistry
    bus_a: EventBus
    bus_b: EventBus


@pytest.fixture
async def memory_backend() -> Backend:
    registry = MemoryCallRegistry(SystemClock(), ttl_ms=10_000)
    bus = MemoryEventBus()
    return Backend(registry, registry, bus, bus)


@pytest.fixture
async def redis_backend(redis_server: RedisServer) -> AsyncIterator[Backend]:
    # Two connections, as two processes would have.
    a = RedisConnection(RedisConfig(url=redis_server.url))
    b = RedisConnection(RedisConfig(url=redis_server.url))
    await a.start()
    await b.start()
    yield Backend(
        RedisCallRegistry(a, ttl_ms=10_000),
        RedisCallRegistry(b, ttl_ms=10_000),
        RedisEventBus(a),
        RedisEventBus(b),
    )
    await a.aclose()
    await b.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
async def routers(backend: Backend) -> AsyncIterator[tuple[CallEventRouter, CallEventRouter]]:
    control = FakeCallControl()
    a = CallEventRouter(
        instance_id="a", registry=backend.registry_a, bus=backend.bus_a, call_control=control
    )
    b = CallEventRouter(
        instance_id="b", registry=backend.registry_b, bus=backend.bus_b, call_control=control
    )
    await a.start()
    await b.start()
    yield a, b
    await a.aclose()
    await b.aclose()


def event(kind: CallEventKind, call_id: str = "call-1") -> CallEvent:
    return CallEvent(kind=kind, call_connection_id=call_id, operation_context="ctx")


async def test_an_event_posted_to_another_instance_reaches_the_owner(
    routers: tuple[CallEventRouter, CallEventRouter],
) -> None:
    a, b = routers
    events = await a.attach("call-1")
    assert await b.deliver(event(CallEventKind.TRANSFER_ACCEPTED)) == "forwarded"
    received = await asyncio.wait_for(anext(events), timeout=2)
    assert received == event(CallEventKind.TRANSFER_ACCEPTED)


async def test_an_event_for_a_local_call_is_queued_without_the_bus(
    routers: tuple[CallEventRouter, CallEventRouter],
) -> None:
    a, _ = routers
    events = await a.attach("call-1")
    assert await a.deliver(event(CallEventKind.CALL_CONNECTED)) == "local"
    assert (await anext(events)).kind is CallEventKind.CALL_CONNECTED


async def test_an_event_for_a_call_whose_owner_is_gone_hangs_the_call_up(
    backend: Backend,
) -> None:
    control = FakeCallControl()
    control.add_call("call-1")
    b = CallEventRouter(
        instance_id="b", registry=backend.registry_b, bus=backend.bus_b, call_control=control
    )
    # The owner claimed the call and then died without releasing it.
    await backend.registry_a.claim("call-1", "a")
    assert await b.deliver(event(CallEventKind.PARTICIPANTS_UPDATED)) == "lost"
    assert b.lost_calls == 1
    assert not control.is_active("call-1")


async def test_detach_ends_the_local_event_stream_and_releases_the_claim(
    routers: tuple[CallEventRouter, CallEventRouter], backend: Backend
) -> None:
    a, _ = routers
    events = await a.attach("call-1")
    assert await backend.registry_b.owner("call-1") == "a"
    await a.detach("call-1")
    assert [e async for e in events] == []
    assert await backend.registry_b.owner("call-1") is None


def test_call_events_survive_the_bus_encoding() -> None:
    original = CallEvent(
        kind=CallEventKind.RECOGNIZE_COMPLETED,
        call_connection_id="c",
        result_code=200,
        tones=("1", "#"),
        participants=("4:+1555",),
    )
    assert decode_call_event(encode_call_event(original)) == original
    with pytest.raises(ValueError, match="not a call event"):
        decode_call_event({"kind": "NoSuchEvent", "call_connection_id": "c"})
