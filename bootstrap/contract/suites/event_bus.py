"""Contract of ports.EventBus: delivery order, subscriber counts, channels, closing, errors.

The suite is :class:`EventBusContract`; subclass it in a test module and define the
``bus_case`` fixture returning a :class:`~bootstrap.contract.cases.EventBusCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import EventBusCase
from bootstrap.contract.helpers import no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import EventBus, JsonObject, StoreError, Subscription


async def receive(
    subscription: Subscription, count: int, timeout_s: float = 2.0
) -> list[JsonObject]:
    received: list[JsonObject] = []
    async with asyncio.timeout(timeout_s):
        async for message in subscription:
            received.append(message)
            if len(received) == count:
                break
    return received


def publisher(case: EventBusCase) -> EventBus:
    """Publish from the peer instance when the backend has one (cross-instance routing)."""
    return case.peer or case.bus


class EventBusContract(ContractSuite):
    """The promises of :class:`ports.EventBus`; needs a ``bus_case`` fixture."""

    port = "event_bus"
    protocol = "ports.EventBus"
    case_fixture = "bus_case"

    async def test_publish_without_subscribers_reaches_nobody(self, bus_case: EventBusCase) -> None:
        assert await bus_case.bus.publish("nobody-listens", {"kind": "ping"}) == 0

    async def test_messages_arrive_in_publish_order(self, bus_case: EventBusCase) -> None:
        subscription = await bus_case.bus.subscribe("instance-a")
        try:
            for n in range(20):
                assert await publisher(bus_case).publish("instance-a", {"n": n}) == 1
            assert [m["n"] for m in await receive(subscription, 20)] == list(range(20))
        finally:
            await subscription.aclose()

    async def test_publish_counts_every_subscriber(self, bus_case: EventBusCase) -> None:
        first = await bus_case.bus.subscribe("shared")
        second = await publisher(bus_case).subscribe("shared")
        try:
            assert await bus_case.bus.publish("shared", {"kind": "hello"}) == 2
            assert await receive(first, 1) == [{"kind": "hello"}]
            assert await receive(second, 1) == [{"kind": "hello"}]
        finally:
            await first.aclose()
            await second.aclose()

    async def test_channels_are_isolated(self, bus_case: EventBusCase) -> None:
        a = await bus_case.bus.subscribe("channel-a")
        b = await bus_case.bus.subscribe("channel-b")
        try:
            await publisher(bus_case).publish("channel-b", {"to": "b"})
            await publisher(bus_case).publish("channel-a", {"to": "a"})
            assert await receive(a, 1) == [{"to": "a"}]
            assert await receive(b, 1) == [{"to": "b"}]
        finally:
            await a.aclose()
            await b.aclose()

    async def test_json_messages_round_trip(self, bus_case: EventBusCase) -> None:
        message: JsonObject = {
            "kind": "CallTransferAccepted",
            "call_connection_id": "c1",
            "tones": ["1", "#"],
            "result_code": 0,
            "score": 0.5,
            "nested": {"ok": True, "none": None, "text": "héllo ☎"},
        }
        subscription = await bus_case.bus.subscribe("instance-a")
        try:
            await publisher(bus_case).publish("instance-a", message)
            assert await receive(subscription, 1) == [message]
        finally:
            await subscription.aclose()

    async def test_closing_a_subscription_ends_its_iterator_promptly(
        self,
        bus_case: EventBusCase,
    ) -> None:
        async with no_task_leak():
            subscription = await bus_case.bus.subscribe("instance-a")
            reader = asyncio.create_task(receive(subscription, 1_000, timeout_s=10))
            await asyncio.sleep(0.01)
            await subscription.aclose()
            await subscription.aclose()
            async with asyncio.timeout(1):
                assert await reader == []
        assert await publisher(bus_case).publish("instance-a", {"late": True}) == 0

    async def test_backend_failures_raise_store_errors(self, bus_case: EventBusCase) -> None:
        assert bus_case.failures, "an implementation must show how it fails"
        for failing in bus_case.failures:
            assert issubclass(failing.expected, StoreError)
            with pytest.raises(failing.expected):
                await failing.adapter.publish("instance-a", {"n": 1})
            with pytest.raises(failing.expected):
                await failing.adapter.subscribe("instance-a")
