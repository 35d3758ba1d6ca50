"""The ``EventBus`` port: publish/subscribe between Parley instances.

An ACS callback can land on any instance while the call's media WebSocket lives on one; the
bus carries the event to the owner (channel per instance, see :mod:`ports.call_registry`).

Promise:
    * ``subscribe(channel)`` returns a :class:`Subscription`; once ``subscribe`` has returned,
      every message later published on that channel is delivered to it, in publish order per
      publisher. Delivery is at most once (pub/sub): no replay for absent subscribers.
    * ``publish`` returns the number of subscribers that received it (0 = nobody listening).
    * Closing a subscription ends its iterator promptly.
    * Errors: :class:`~ports.errors.StoreUnavailableError` when the backend fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ports.chat import JsonObject


class Subscription(Protocol):
    """Messages on one channel."""

    def __aiter__(self) -> AsyncIterator[JsonObject]:
        """Messages in publish order until closed."""
        ...

    async def aclose(self) -> None:
        """Stop receiving; idempotent."""
        ...


class EventBus(Protocol):
    """Channel-addressed JSON messages."""

    async def publish(self, channel: str, message: JsonObject) -> int:
        """Deliver ``message`` to the channel's current subscribers; return their count.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...

    async def subscribe(self, channel: str) -> Subscription:
        """Start receiving the channel's messages.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...
