"""Deliver each call event to the instance holding the call's media stream.

An ACS callback can land on any instance behind the load balancer, but the call's media
WebSocket lives on one. The owner claims the call in the :class:`ports.CallRegistry` and keeps
the claim alive by heartbeat; other instances look the owner up and publish the event on the
owner's :class:`ports.EventBus` channel (``instance:<id>``). When no owner is registered, or
nobody is listening on its channel, the call is lost: the event is logged and the call hung
up through :class:`ports.CallControl`.

Built on ports only, so it works the same over the memory and the Redis adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from ports import (
    CallControl,
    CallEvent,
    CallEventKind,
    CallNotFoundError,
    CallRegistry,
    EventBus,
    JsonObject,
    ParleyError,
    Subscription,
)

logger = logging.getLogger(__name__)

_END = object()


def encode_call_event(event: CallEvent) -> JsonObject:
    """JSON form of a call event for the bus."""
    return {
        "kind": event.kind.value,
        "call_connection_id": event.call_connection_id,
        "operation_context": event.operation_context,
        "result_code": event.result_code,
        "result_sub_code": event.result_sub_code,
        "message": event.message,
        "tones": list(event.tones),
        "participants": list(event.participants),
    }


def decode_call_event(data: JsonObject) -> CallEvent:
    """Inverse of :func:`encode_call_event`.

    Raises:
        ValueError: ``data`` is not an encoded call event.
    """
    try:
        return CallEvent(
            kind=CallEventKind(str(data["kind"])),
            call_connection_id=str(data["call_connection_id"]),
            operation_context=str(data.get("operation_context", "")),
            result_code=int(data.get("result_code", 0)),  # type: ignore[arg-type]
            result_sub_code=int(data.get("result_sub_code", 0)),  # type: ignore[arg-type]
            message=str(data.get("message", "")),
            tones=tuple(str(t) for t in data.get("tones", ()) or ()),  # type: ignore[union-attr]
            participants=tuple(
                str(p)
                for p in data.get("participants", ()) or ()  # type: ignore[union-attr]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a call event: {exc}") from exc


class _LocalCall:
    __slots__ = ("queue",)

    def __init__(self) -> None:
        self.queue: asyncio.Queue[CallEvent | object] = asyncio.Queue()

    async def events(self) -> AsyncIterator[CallEvent]:
        while True:
            item = await self.queue.get()
            if item is _END:
                return
            assert isinstance(item, CallEvent)  # noqa: S101 - only events and _END are queued
            yield item


class CallEventRouter:
    """One per process: local call-event queues plus cross-instance delivery.

    Args:
        instance_id: This process's id (unique per replica).
        registry: Who owns which call.
        bus: Cross-instance channel.
        call_control: Used to hang up a call whose owner is gone; ``None`` to only log.
        heartbeat_ms: How often owned calls are claimed again; keep it well under the
            registry TTL (a third of it).
        timeout_s: Deadline for each registry or bus operation, seconds.
    """

    def __init__(
        self,
        *,
        instance_id: str,
        registry: CallRegistry,
        bus: EventBus,
        call_control: CallControl | None = None,
        heartbeat_ms: float = 5000.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.instance_id = instance_id
        self._registry = registry
        self._bus = bus
        self._call_control = call_control
        self._heartbeat_s = heartbeat_ms / 1000.0
        self._timeout_s = timeout_s
        self._local: dict[str, _LocalCall] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self.lost_calls = 0
        """Events whose call had no live owner (each one hung up)."""

    @property
    def channel(self) -> str:
        """This instance's bus channel."""
        return f"instance:{self.instance_id}"

    async def start(self) -> None:
        """Subscribe to this instance's channel and start the heartbeat.

        Raises:
            StoreError: The bus is unreachable (the caller decides whether to go on).
        """
        async with asyncio.timeout(self._timeout_s):
            self._subscription = await self._bus.subscribe(self.channel)
        self._tasks = [
            asyncio.create_task(self._listen(self._subscription), name="call-router-listen"),
            asyncio.create_task(self._heartbeat(), name="call-router-heartbeat"),
        ]

    async def aclose(self) -> None:
        """Stop listening and heartbeating; end every local event stream. Idempotent."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._subscription is not None:
            await self._subscription.aclose()
            self._subscription = None
        for call_id in list(self._local):
            await self.detach(call_id)

    async def attach(self, call_id: str) -> AsyncIterator[CallEvent]:
        """Take ownership of ``call_id``; returns its event stream (ends on :meth:`detach`).

        A registry failure is logged, not raised: the call still works on this instance.
        """
        local = self._local.setdefault(call_id, _LocalCall())
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._registry.claim(call_id, self.instance_id)
        except (ParleyError, TimeoutError):
            logger.warning("could not claim call %s in the registry", call_id, exc_info=True)
        return local.events()

    async def detach(self, call_id: str) -> None:
        """Release ``call_id`` and end its event stream."""
        local = self._local.pop(call_id, None)
        if local is not None:
            local.queue.put_nowait(_END)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._registry.release(call_id, self.instance_id)
        except (ParleyError, TimeoutError):
            logger.warning("could not release call %s", call_id, exc_info=True)

    def owns(self, call_id: str) -> bool:
        """Whether the call's media stream is on this instance."""
        return call_id in self._local

    async def deliver(self, event: CallEvent) -> str:
        """Route ``event`` to its call.

        Returns:
            ``"local"``, ``"forwarded"`` or ``"lost"``.
        """
        local = self._local.get(event.call_connection_id)
        if local is not None:
            local.queue.put_nowait(event)
            return "local"
        try:
            async with asyncio.timeout(self._timeout_s):
                owner = await self._registry.owner(event.call_connection_id)
                if owner is not None and owner != self.instance_id:
                    received = await self._bus.publish(
                        f"instance:{owner}", encode_call_event(event)
                    )
                    if received > 0:
                        return "forwarded"
        except (ParleyError, TimeoutError):
            logger.warning("routing %s failed", event.kind, exc_info=True)
        await self._lost(event)
        return "lost"

    async def _lost(self, event: CallEvent) -> None:
        self.lost_calls += 1
        logger.error(
            "call %s has no live owner; %s handled as a lost call",
            event.call_connection_id,
            event.kind.value,
        )
        if event.kind is CallEventKind.CALL_DISCONNECTED or self._call_control is None:
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._call_control.hang_up(event.call_connection_id, for_everyone=True)
        except CallNotFoundError:
            pass
        except (ParleyError, TimeoutError):
            logger.warning("hang-up of lost call %s failed", event.call_connection_id)

    async def _listen(self, subscription: Subscription) -> None:
        async for message in subscription:
            try:
                event = decode_call_event(message)
            except ValueError:
                logger.warning("dropped a malformed call event from the bus")
                continue
            local = self._local.get(event.call_connection_id)
            if local is not None:
                local.queue.put_nowait(event)
            else:
                await self._lost(event)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            for call_id in list(self._local):
                try:
                    async with asyncio.timeout(self._timeout_s):
                        await self._registry.claim(call_id, self.instance_id)
                except (ParleyError, TimeoutError):
                    logger.warning("heartbeat for call %s failed", call_id)
