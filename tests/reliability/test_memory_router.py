"""The call event router leaves no reference cycle when a held call opens (issue 12 item 9).

Callbacks that arrive before the media socket (CallConnected, MediaStreamingStarted) are held
by a task; when the call opens, the task is cancelled. Its CancelledError's traceback held the
task's frame, which held the ``_Held`` record, which held the task: one cycle per ACS call,
freed only by a full collection.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

from adapters.memory import FakeCallControl, MemoryCallRegistry, MemoryEventBus
from adapters.routing import CallEventRouter
from adapters.system.clock import SystemClock
from ports import CallEvent, CallEventKind


async def test_the_hold_task_of_a_call_that_opens_is_freed_without_a_collection() -> None:
    control = FakeCallControl()
    control.add_call("call-1")
    router = CallEventRouter(
        instance_id="a",
        registry=MemoryCallRegistry(SystemClock(), ttl_ms=10_000),
        bus=MemoryEventBus(),
        call_control=control,
        hold_ms=5_000.0,
        poll_ms=20.0,
        timeout_s=0.5,
    )
    await router.start()
    gc.collect()
    gc.disable()
    try:
        event = CallEvent(kind=CallEventKind.CALL_CONNECTED, call_connection_id="call-1")
        assert await router.deliver(event) == "held"
        holds = [t for t in asyncio.all_tasks() if t.get_name() == "call-router-hold"]
        assert len(holds) == 1
        hold = weakref.ref(holds[0])
        del holds
        feed = await router.open("call-1")
        for _ in range(5):
            await asyncio.sleep(0)
        await feed.aclose()
        for _ in range(5):
            await asyncio.sleep(0)
        assert hold() is None, "the cancelled hold task is only reachable through a cycle"
    finally:
        gc.enable()
        await router.aclose()
