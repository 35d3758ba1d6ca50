"""The call event router of a lone process: the routing router over in-process stores."""

from __future__ import annotations

from adapters.memory.event_bus import MemoryEventBus
from adapters.memory.stores import MemoryCallRegistry
from adapters.routing.router import CallEventRouter
from adapters.system.clock import SystemClock
from ports import CallControl


class LocalCallEventRouter(CallEventRouter):
    """:class:`CallEventRouter` over a memory registry and bus: no other instance exists.

    Used where no shared store is wired (adapter tests, tools): the hold-and-expire logic for
    events that arrive before their call opens is the routing router's, not a copy. It needs
    no :meth:`start` (it never hears from another instance); :meth:`aclose` ends its feeds and
    pending holds.

    Args:
        call_control: Hangs up a call whose events found no owner; ``None`` to only log.
        hold_ms: How long events for a call not open yet wait for it, ms.
        poll_ms: How often a held call is looked up again, ms.
        max_held_calls: Most calls with held events at once.
        max_held_events: Most events held per call.
    """

    def __init__(
        self,
        *,
        call_control: CallControl | None = None,
        hold_ms: float = 10_000.0,
        poll_ms: float = 250.0,
        max_held_calls: int = 1000,
        max_held_events: int = 64,
    ) -> None:
        super().__init__(
            instance_id="local",
            registry=MemoryCallRegistry(SystemClock()),
            bus=MemoryEventBus(),
            call_control=call_control,
            hold_ms=hold_ms,
            poll_ms=poll_ms,
            max_held_calls=max_held_calls,
            max_held_events=max_held_events,
        )

    def is_live(self, call_id: str) -> bool:
        """True when ``call_id`` has an open feed here (:meth:`owns`)."""
        return self.owns(call_id)
