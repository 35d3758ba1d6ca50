"""MemoryEventBus: an in-process :class:`ports.EventBus`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from ports import JsonObject, StoreError

_CLOSED = object()


class MemorySubscription:
    """Messages of one channel, queued until read; ends promptly on :meth:`aclose`.

    Attributes:
        channel: The channel subscribed to.
    """

    def __init__(self, bus: MemoryEventBus, channel: str) -> None:
        self._bus = bus
        self.channel = channel
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def _deliver(self, message: JsonObject) -> None:
        self._queue.put_nowait(message)

    def __aiter__(self) -> AsyncIterator[JsonObject]:
        return self

    async def __anext__(self) -> JsonObject:
        if self.closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # every later read ends too
            raise StopAsyncIteration
        assert isinstance(item, dict)  # noqa: S101 (queue holds only messages)
        return item

    async def aclose(self) -> None:
        """Stop receiving; a task waiting for a message ends its iteration. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._bus._unsubscribe(self)
        self._queue.put_nowait(_CLOSED)


class MemoryEventBus:
    """Channel-addressed pub/sub inside one process (one instance per process, not global).

    Messages are copied through JSON, so subscribers never share objects with the
    publisher and non-JSON messages fail as they would on Redis. Delivery order is publish
    order; queues are unbounded (subscribers are expected to keep up).

    Args:
        fail_with: While set, ``publish`` and ``subscribe`` raise it.
    """

    def __init__(self, *, fail_with: StoreError | None = None) -> None:
        self.fail_with = fail_with
        self._channels: dict[str, list[MemorySubscription]] = {}

    async def publish(self, channel: str, message: JsonObject) -> int:
        """Deliver to the channel's current subscribers; return their count.

        Raises:
            TypeError: ``message`` is not JSON-serialisable.
        """
        self._check()
        encoded = json.dumps(message)
        subscribers = list(self._channels.get(channel, ()))
        for subscription in subscribers:
            subscription._deliver(json.loads(encoded))
        return len(subscribers)

    async def subscribe(self, channel: str) -> MemorySubscription:
        """Start receiving the channel's messages."""
        self._check()
        subscription = MemorySubscription(self, channel)
        self._channels.setdefault(channel, []).append(subscription)
        return subscription

    def subscribers(self, channel: str) -> int:
        """Current subscriber count of ``channel``."""
        return len(self._channels.get(channel, ()))

    def _unsubscribe(self, subscription: MemorySubscription) -> None:
        subscribers = self._channels.get(subscription.channel, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers:
            self._channels.pop(subscription.channel, None)

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
