"""Delivery of call events (from ACS callbacks) to the live call they concern.

A callback names its call by ``callConnectionId``; the call's runtime reads the events through
``InboundCall.call_events``. :class:`CallEventRouter` is the seam the gateway needs; its one
implementation is ``adapters.routing.CallEventRouter`` (over the ``EventBus`` and
``CallRegistry`` ports), which forwards an event to the instance owning the call and holds
events for a call not open yet (callbacks often arrive before the media WebSocket).
:class:`LocalCallEventRouter` is that router over in-process stores, for a lone process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from adapters.routing.local import LocalCallEventRouter
from ports import CallEvent

__all__ = ["CallEventFeed", "CallEventRouter", "LocalCallEventRouter"]


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

        The router's outcome name (``"local"``, ``"forwarded"``, ``"held"``...; see
        ``adapters.routing.OUTCOMES``); a bool from a simpler router (True: delivered).
        """
        ...
