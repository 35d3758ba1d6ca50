"""Delivery of call events (from ACS callbacks) to the live call they concern.

A callback names its call by ``callConnectionId``; the call's runtime reads the events through
``InboundCall.call_events``. :class:`CallEventRouter` is the seam: this process's
:class:`LocalCallEventRouter` keeps a table of live calls (call id -> queue); a multi-instance
router (``adapters.routing.CallEventRouter``, over the ``EventBus`` and ``CallRegistry`` ports)
has the same ``open``/``deliver`` shape and forwards an event to the instance owning the call.

Callbacks often arrive before the media WebSocket (``CallConnected`` precedes
``MediaStreamingStarted``), so events for a call not yet open are held for a short TTL, bounded
in count, and handed over when the call opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Final, Protocol

from ports import (
    CallEvent,
    CallEventKind,
)

logger = logging.getLogger(__name__)

_END: Final = object()


class CallEventFeed(Protocol):
    """One live call's events, in arrival order; ends after ``CallDisconnected`` or close."""

    def __aiter__(self) -> AsyncIterator[CallEvent]:
        """The events."""
        ...

    async def aclose(self) -> None:
        """Stop the feed and forget the call; idempotent."""
        ...


class CallEventRouter(Protocol):
    """Routes call events to live calls by call connection id; one per process."""

    async def open(self, call_id: str) -> CallEventFeed:
        """Register ``call_id`` as live here and return its feed (with any held events)."""
        ...

    async def deliver(self, event: CallEvent) -> bool | str:
        """Route ``event``; the outcome, for logs.

        True when a live call took it, False when it was held or lost (the local table), or
        the multi-instance router's outcome name (``"local"``, ``"forwarded"``, ``"held"``...).
        """
        ...


class _QueueFeed:
    """A feed over an ``asyncio.Queue``, closed by its router or by the reader."""

    def __init__(self, router: LocalCallEventRouter, call_id: str) -> None:
        self._router = router
        self.call_id = call_id
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    async def _iterate(self) -> AsyncIterator[CallEvent]:
        while not self.closed:
            item = await self.queue.get()
            if item is _END:
                break
            assert isinstance(item, CallEvent)  # noqa: S101 (only events are queued)
            yield item
            if item.kind is CallEventKind.CALL_DISCONNECTED:
                break
        self.closed = True

    def __aiter__(self) -> AsyncIterator[CallEvent]:
        return self._iterate()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(_END)
        self._router.forget(self.call_id, self)


class LocalCallEventRouter:
    """This process's live-call table.

    Args:
        hold_ttl_s: How long events for a not-yet-open call are kept, seconds.
        max_held_calls: Most calls with held events (oldest dropped first).
        max_held_events: Most events held per call (later ones dropped).
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        *,
        hold_ttl_s: float = 30.0,
        max_held_calls: int = 1000,
        max_held_events: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._live: dict[str, _QueueFeed] = {}
        self._held: OrderedDict[str, tuple[float, list[CallEvent]]] = OrderedDict()
        self._hold_ttl_s = hold_ttl_s
        self._max_held_calls = max_held_calls
        self._max_held_events = max_held_events
        self._clock = clock

    def is_live(self, call_id: str) -> bool:
        """True when ``call_id`` has an open feed here."""
        return call_id in self._live

    @property
    def live_calls(self) -> int:
        """Calls with an open feed."""
        return len(self._live)

    def _expire(self) -> None:
        now = self._clock()
        while self._held:
            call_id, (deadline, _) = next(iter(self._held.items()))
            if deadline > now and len(self._held) <= self._max_held_calls:
                break
            self._held.popitem(last=False)
            logger.info("dropped held call events for %s (expired or over bound)", call_id)

    async def open(self, call_id: str) -> CallEventFeed:
        """Register a live call and return its feed, pre-filled with held events."""
        previous = self._live.get(call_id)
        if previous is not None:
            await previous.aclose()
        feed = _QueueFeed(self, call_id)
        self._live[call_id] = feed
        self._expire()
        held = self._held.pop(call_id, None)
        if held is not None:
            for event in held[1]:
                feed.queue.put_nowait(event)
        return feed

    async def deliver(self, event: CallEvent) -> bool:
        """Queue ``event`` for its live call, or hold it briefly for a call yet to open."""
        feed = self._live.get(event.call_connection_id)
        if feed is not None and not feed.closed:
            feed.queue.put_nowait(event)
            return True
        self._expire()
        deadline, events = self._held.get(
            event.call_connection_id, (self._clock() + self._hold_ttl_s, [])
        )
        if len(events) < self._max_held_events:
            events.append(event)
        self._held[event.call_connection_id] = (deadline, events)
        self._expire()
        return False

    def forget(self, call_id: str, feed: object | None = None) -> None:
        """Remove ``call_id`` from the table (only if ``feed`` is its current feed)."""
        if feed is None or self._live.get(call_id) is feed:
            self._live.pop(call_id, None)
