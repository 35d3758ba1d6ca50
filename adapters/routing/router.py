"""Deliver each call event to the instance holding the call's media stream.

An ACS callback can land on any instance behind the load balancer, but the call's media
WebSocket lives on one. The owner claims the call in the :class:`ports.CallRegistry` and keeps
the claim alive by heartbeat; other instances look the owner up and publish the event on the
owner's :class:`ports.EventBus` channel (``instance:<id>``).

Callbacks often arrive before the media WebSocket (ACS posts ``CallConnected`` first), so an
event for a call nobody owns yet is held here for ``hold_ms``: handed over if the call attaches
here, forwarded if another instance claims it meanwhile. When the hold runs out with no owner,
or the registered owner no longer listens on its channel, the call is lost: the event is logged
and the call hung up through :class:`ports.CallControl`. A store outage is never taken for a
lost call (a live call is not hung up because Redis blinked): such events are retried within
the hold, then dropped with an error log.

The bus subscription is retried with backoff (tenacity) for as long as the router runs, so a
bus that is down at start, or drops the connection, only delays cross-instance delivery.

Built on ports only, so it works the same over the memory and the Redis adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from adapters.routing.expiring import TtlSet
from ports import (
    CallControl,
    CallEvent,
    CallEventKind,
    CallNotFoundError,
    CallRegistry,
    EventBus,
    JsonObject,
    ParleyError,
    StoreUnavailableError,
    Subscription,
)

logger = logging.getLogger(__name__)

_END: Final = object()

OUTCOMES: Final = ("local", "forwarded", "held", "lost", "ended", "dropped", "undeliverable")
"""What :meth:`CallEventRouter.deliver` can report (and the metric's ``outcome`` label):

* ``local``: queued for a call attached here;
* ``forwarded``: published to the owner's channel and received there;
* ``held``: nobody owns the call yet; held here for ``hold_ms`` (then forwarded, handed over,
  lost or undeliverable);
* ``lost``: the owner is gone (or never came); the call is hung up;
* ``ended``: ``CallDisconnected`` for a call live nowhere, or any event for a call that ended
  here within ``hold_ms`` (ACS reports ``MediaStreamingStopped`` after the end); nothing to do;
* ``dropped``: too many calls already held (``max_held_calls``) or too many events for one;
* ``undeliverable``: the registry or bus failed for the whole hold; logged, not hung up.
"""


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
            if item.kind is CallEventKind.CALL_DISCONNECTED:
                return


class CallEventFeed:
    """One attached call's events (from :meth:`CallEventRouter.open`).

    Iterating yields the call's events in arrival order, ending after ``CallDisconnected`` or
    once the feed is closed; :meth:`aclose` detaches the call (releasing its claim).
    """

    def __init__(self, router: CallEventRouter, call_id: str, local: _LocalCall) -> None:
        self._router = router
        self.call_id = call_id
        self._local = local

    def __aiter__(self) -> AsyncIterator[CallEvent]:
        """The call's events."""
        return self._local.events()

    async def aclose(self) -> None:
        """Detach the call from this instance; idempotent."""
        await self._router.detach(self.call_id, self._local)


@dataclass(slots=True)
class _Held:
    events: list[CallEvent] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


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
        hold_ms: How long an event for a call nobody owns yet waits for an owner, ms.
        poll_ms: How often a held call's owner is looked up again, ms.
        max_held_calls: Most calls with held events at once (more are dropped and counted).
        max_held_events: Most events held per call.
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
        hold_ms: float = 10_000.0,
        poll_ms: float = 250.0,
        max_held_calls: int = 1000,
        max_held_events: int = 64,
    ) -> None:
        self.instance_id = instance_id
        self._registry = registry
        self._bus = bus
        self._call_control = call_control
        self._heartbeat_s = heartbeat_ms / 1000.0
        self._timeout_s = timeout_s
        self._hold_s = hold_ms / 1000.0
        self._poll_s = poll_ms / 1000.0
        self._max_held_calls = max_held_calls
        self._max_held_events = max_held_events
        self._local: dict[str, _LocalCall] = {}
        self._held: dict[str, _Held] = {}
        # Calls that ended here recently, bounded.
        self._ended = TtlSet(ttl_s=self._hold_s, max_size=max_held_calls)
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._subscribed = asyncio.Event()
        self.outcomes: Counter[str] = Counter()
        """Events per :data:`OUTCOMES` value (exported as metrics)."""
        self.lost_calls = 0
        """Times a call was found without a live owner (each one hung up)."""

    @property
    def channel(self) -> str:
        """This instance's bus channel."""
        return f"instance:{self.instance_id}"

    @property
    def subscribed(self) -> bool:
        """Whether this instance currently listens on its bus channel."""
        return self._subscribed.is_set()

    @property
    def attached_calls(self) -> int:
        """Calls whose media stream is on this instance."""
        return len(self._local)

    @property
    def held_calls(self) -> int:
        """Calls with events waiting for an owner."""
        return len(self._held)

    async def start(self) -> None:
        """Start listening on this instance's channel and heartbeating.

        Waits up to ``timeout_s`` for the subscription; a bus that is down does not fail the
        start (subscribing is retried in the background, see :attr:`subscribed`).
        """
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._listen(), name="call-router-listen"),
            asyncio.create_task(self._heartbeat(), name="call-router-heartbeat"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout_s):
                await self._subscribed.wait()
        if not self.subscribed:
            logger.warning("call router: bus not reachable yet; cross-instance events wait")

    async def health_check(self) -> None:
        """Ready when subscribed to this instance's channel (``ports.HealthCheck``).

        Raises:
            StoreUnavailableError: Not subscribed (the bus is unreachable).
        """
        if not self.subscribed:
            raise StoreUnavailableError("call router is not subscribed to its bus channel")

    async def aclose(self) -> None:
        """Stop listening and heartbeating; end every local event stream. Idempotent."""
        held, self._held = self._held, {}
        tasks = [*self._tasks, *(h.task for h in held.values() if h.task is not None)]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_subscription()
        for call_id in list(self._local):
            await self.detach(call_id)

    async def _close_subscription(self) -> None:
        self._subscribed.clear()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.aclose()

    # ------------------------------------------------------------------ the owner's side

    async def open(self, call_id: str) -> CallEventFeed:
        """Take ownership of ``call_id``; returns its feed (``aclose`` detaches).

        A registry failure is logged, not raised: the call still works on this instance (the
        heartbeat claims it once the registry is back).
        """
        local = await self._attach(call_id)
        return CallEventFeed(self, call_id, local)

    async def attach(self, call_id: str) -> AsyncIterator[CallEvent]:
        """Take ownership of ``call_id``; returns its event stream (ends on :meth:`detach`)."""
        return (await self._attach(call_id)).events()

    async def _attach(self, call_id: str) -> _LocalCall:
        previous = self._local.get(call_id)
        if previous is not None:
            # A new media connection for the same call replaces the old one.
            previous.queue.put_nowait(_END)
        local = _LocalCall()
        self._local[call_id] = local
        self._ended.discard(call_id)
        held = self._held.pop(call_id, None)
        if held is not None:
            if held.task is not None:
                # Dropping the reference breaks task -> CancelledError -> frame -> held -> task,
                # a cycle only a full collection would free (issue 12 item 9).
                held.task.cancel()
                held.task = None
            for event in held.events:
                local.queue.put_nowait(event)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._registry.claim(call_id, self.instance_id)
        except (ParleyError, TimeoutError):
            logger.warning("could not claim call %s in the registry", call_id, exc_info=True)
        return local

    async def detach(self, call_id: str, local: object | None = None) -> None:
        """Release ``call_id`` and end its event stream.

        Args:
            call_id: The call.
            local: Only detach if this is still the call's current stream (a stale media
                connection closing late must not detach its replacement).
        """
        current = self._local.get(call_id)
        if local is not None and current is not local:
            if isinstance(local, _LocalCall):
                local.queue.put_nowait(_END)
            return
        self._local.pop(call_id, None)
        if current is not None:
            current.queue.put_nowait(_END)
            self._remember_ended(call_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._registry.release(call_id, self.instance_id)
        except (ParleyError, TimeoutError):
            logger.warning("could not release call %s", call_id, exc_info=True)

    def _remember_ended(self, call_id: str) -> None:
        self._ended.refresh(call_id)

    def _ended_recently(self, call_id: str) -> bool:
        return call_id in self._ended

    def owns(self, call_id: str) -> bool:
        """Whether the call's media stream is on this instance."""
        return call_id in self._local

    # ------------------------------------------------------------------ any instance

    async def deliver(self, event: CallEvent) -> str:
        """Route ``event`` to its call.

        Returns:
            One of :data:`OUTCOMES`.
        """
        outcome = await self._deliver(event)
        self.outcomes[outcome] += 1
        return outcome

    async def _deliver(self, event: CallEvent) -> str:
        call_id = event.call_connection_id
        local = self._local.get(call_id)
        if local is not None:
            local.queue.put_nowait(event)
            return "local"
        if self._ended_recently(call_id):
            logger.debug("%s for call %s, which ended here", event.kind.value, call_id)
            return "ended"
        held = self._held.get(call_id)
        if held is not None:
            # Keep the call's events in order behind those already waiting.
            if len(held.events) >= self._max_held_events:
                logger.warning("too many held events for call %s; dropped one", call_id)
                return "dropped"
            held.events.append(event)
            return "held"
        found = await self._forward(call_id, [event])
        if found == "forwarded":
            return found
        if found == "lost":
            await self._lost(call_id, [event])
            return "ended" if event.kind is CallEventKind.CALL_DISCONNECTED else "lost"
        if event.kind is CallEventKind.CALL_DISCONNECTED:
            logger.info("CallDisconnected for call %s, live on no instance (ended)", call_id)
            return "ended"
        if len(self._held) >= self._max_held_calls:
            logger.warning("too many calls waiting for an owner; dropped an event of %s", call_id)
            return "dropped"
        held = _Held([event])
        self._held[call_id] = held
        held.task = asyncio.create_task(self._settle(call_id, held), name="call-router-hold")
        return "held"

    async def _forward(self, call_id: str, events: list[CallEvent]) -> str:
        """``forwarded``, ``lost`` (owner not listening), ``unowned`` or ``unknown`` (store)."""
        try:
            async with asyncio.timeout(self._timeout_s):
                owner = await self._registry.owner(call_id)
                if owner is None or owner == self.instance_id:
                    # Our own stale claim (the stream is not here) counts as no owner.
                    return "unowned"
                received = 0
                for event in events:
                    received = await self._bus.publish(
                        f"instance:{owner}", encode_call_event(event)
                    )
                    if received == 0:
                        break
        except (ParleyError, TimeoutError) as exc:
            logger.warning("routing an event of call %s failed: %r", call_id, exc)
            return "unknown"
        return "forwarded" if received > 0 else "lost"

    async def _settle(self, call_id: str, held: _Held) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._hold_s
        found = "unowned"
        while loop.time() < deadline:
            await asyncio.sleep(self._poll_s)
            if self._held.get(call_id) is not held:
                return  # attached here meanwhile: the events were handed over
            found = await self._forward(call_id, held.events)
            if self._held.get(call_id) is not held:
                return
            if found in ("forwarded", "lost"):
                break
        self._held.pop(call_id, None)
        if found == "forwarded":
            self.outcomes["forwarded"] += len(held.events)
        elif found == "unknown":
            self.outcomes["undeliverable"] += len(held.events)
            logger.error(
                "call %s: %d event(s) undeliverable, the registry or bus is down",
                call_id,
                len(held.events),
            )
        else:
            self.outcomes["lost"] += len(held.events)
            await self._lost(call_id, held.events)

    async def _lost(self, call_id: str, events: list[CallEvent]) -> None:
        kinds = ", ".join(e.kind.value for e in events)
        if any(e.kind is CallEventKind.CALL_DISCONNECTED for e in events):
            logger.info("call %s has no live owner and is disconnected (%s)", call_id, kinds)
            return
        self.lost_calls += 1
        logger.error("call %s has no live owner; %s handled as a lost call", call_id, kinds)
        if self._call_control is None:
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._call_control.hang_up(call_id, for_everyone=True)
        except CallNotFoundError:
            pass
        except (ParleyError, TimeoutError):
            logger.warning("hang-up of lost call %s failed", call_id)

    # ------------------------------------------------------------------ background tasks

    async def _subscribe(self) -> Subscription:
        def log_retry(state: RetryCallState) -> None:
            if state.attempt_number == 1:
                logger.warning(
                    "call router: cannot subscribe to %s; retrying with backoff", self.channel
                )

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((ParleyError, TimeoutError)),
            wait=wait_exponential(multiplier=0.1, max=2.0),
            before_sleep=log_retry,
            reraise=True,
        ):
            with attempt:
                async with asyncio.timeout(self._timeout_s):
                    return await self._bus.subscribe(self.channel)
        raise AssertionError("unreachable: tenacity retries forever")  # pragma: no cover

    async def _listen(self) -> None:
        while True:
            self._subscription = await self._subscribe()
            self._subscribed.set()
            try:
                async for message in self._subscription:
                    await self._receive(message)
            except (ParleyError, TimeoutError) as exc:
                logger.warning("call router: bus subscription failed: %r", exc)
            finally:
                await self._close_subscription()
            # The subscription ended without aclose: the bus dropped us. Listen again.
            await asyncio.sleep(self._poll_s)

    async def _receive(self, message: JsonObject) -> None:
        try:
            event = decode_call_event(message)
        except ValueError:
            logger.warning("dropped a malformed call event from the bus")
            return
        local = self._local.get(event.call_connection_id)
        if local is not None:
            local.queue.put_nowait(event)
        elif self._ended_recently(event.call_connection_id):
            # Our claim outlived the call (its release failed): nothing left to do.
            self.outcomes["ended"] += 1
        else:
            # The publisher saw us as the owner, but the call has left this instance.
            ended = event.kind is CallEventKind.CALL_DISCONNECTED
            self.outcomes["ended" if ended else "lost"] += 1
            await self._lost(event.call_connection_id, [event])

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            for call_id in list(self._local):
                try:
                    async with asyncio.timeout(self._timeout_s):
                        await self._registry.claim(call_id, self.instance_id)
                except (ParleyError, TimeoutError):
                    logger.warning("heartbeat for call %s failed", call_id)
