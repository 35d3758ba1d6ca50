"""An in-process registry of this instance's live calls, for the operator console.

:class:`ObservedHandler` wraps the core's :class:`ports.CallHandler` (bootstrap applies it to
every channel: browser and ACS) and tees each call's :class:`ports.ConversationUpdate` values
into :class:`LiveCallRegistry`. The registry is per app instance (no module state), bounded per
call (the last ``max_events`` events) and keeps a few ended calls for the console's links.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ports import CallHandler, CallObserver, CallSummary, ConversationUpdate, InboundCall
from ports import UpdateKind as K

__all__ = ["LiveCall", "LiveCallRegistry", "ObservedHandler"]


@dataclass(slots=True)
class LiveCall:
    """What the console shows of one call.

    Attributes:
        call_id: The call's id.
        channel: ``"browser"``, ``"acs"``...
        caller: Caller label or number.
        started_at: Wall-clock start, s since the epoch.
        agent: Active agent, once known.
        turns: Finished caller turns (final transcripts).
        last_latency_ms: Last caller final transcript to the first clause of the agent's
            reply (clauses of a message begun before it do not count), ms.
        ended_at: Wall-clock end, s since the epoch (None while live).
        end_reason: How it ended.
        events: The last events, each ``{"seq", "t_ms", "type", ...}``.
        seq: Events seen so far (the next event's ``seq``).
    """

    call_id: str
    channel: str
    caller: str
    started_at: float
    agent: str | None = None
    turns: int = 0
    last_latency_ms: float | None = None
    ended_at: float | None = None
    end_reason: str = ""
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=500))
    seq: int = 0
    _final_at: float | None = None
    _speaking: bool = False
    _stale: bool = False

    def summary(self, now: float) -> dict[str, Any]:
        """The console's row: id, caller, agent, duration (s), turns, last latency (ms)."""
        end = self.ended_at if self.ended_at is not None else now
        return {
            "call_id": self.call_id,
            "channel": self.channel,
            "caller": self.caller,
            "agent": self.agent,
            "duration_s": round(end - self.started_at, 1),
            "turns": self.turns,
            "last_latency_ms": self.last_latency_ms,
            "live": self.ended_at is None,
            "end_reason": self.end_reason,
        }


class LiveCallRegistry:
    """Live calls of this instance, plus the last ``keep_ended`` ended ones.

    Args:
        clock: Wall clock, s since the epoch.
        monotonic: Monotonic clock for latencies, s.
        keep_ended: Ended calls kept for the console.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        keep_ended: int = 20,
    ) -> None:
        self._clock = clock
        self._mono = monotonic
        self._live: dict[str, LiveCall] = {}
        self._ended: deque[LiveCall] = deque(maxlen=keep_ended)

    def begin(self, call_id: str, channel: str, caller: str) -> LiveCall:
        """Register a call that has just arrived."""
        call = LiveCall(call_id, channel, caller, self._clock())
        self._live[call_id] = call
        return call

    def end(self, call_id: str, reason: str) -> None:
        """Move a call to the ended list."""
        call = self._live.pop(call_id, None)
        if call is not None:
            call.ended_at = self._clock()
            call.end_reason = call.end_reason or reason
            self._ended.appendleft(call)

    def record(self, call: LiveCall, update: ConversationUpdate) -> None:
        """Add one update to ``call``'s events and counters; never raises."""
        now = self._mono()
        if update.agent:
            call.agent = update.agent
        event: dict[str, Any] = {"type": str(update.kind), "text": update.text, **update.data}
        if update.agent:
            event["agent"] = update.agent
        if update.kind is K.TRANSCRIPT_FINAL:
            call.turns += 1
            call._final_at = now
            # Clauses of a message begun before this turn (a resumed greeting) are no reply.
            call._stale = call._speaking
        elif update.kind is K.AGENT_MESSAGE:
            call._speaking = call._stale = False
        elif update.kind is K.AGENT_TEXT:
            if call._final_at is not None and not call._stale:
                call.last_latency_ms = round((now - call._final_at) * 1000.0, 1)
                event["latency_ms"] = call.last_latency_ms
                call._final_at = None
            call._speaking = True
        elif update.kind is K.CALL_ENDED:
            call.end_reason = str(update.data.get("reason", update.text))
        event["seq"] = call.seq
        event["t_ms"] = round((self._clock() - call.started_at) * 1000.0)
        call.seq += 1
        call.events.append(event)

    def now(self) -> float:
        """The registry's wall clock, s since the epoch."""
        return self._clock()

    def get(self, call_id: str) -> LiveCall | None:
        """A live or recently ended call."""
        return self._live.get(call_id) or next(
            (c for c in self._ended if c.call_id == call_id), None
        )

    def calls(self) -> list[dict[str, Any]]:
        """Live calls (newest first), then recently ended ones."""
        now = self._clock()
        live = sorted(self._live.values(), key=lambda c: c.started_at, reverse=True)
        return [c.summary(now) for c in (*live, *self._ended)]


class _Tee:
    def __init__(
        self, registry: LiveCallRegistry, call: LiveCall, inner: CallObserver | None
    ) -> None:
        self._registry = registry
        self._call = call
        self._inner = inner

    def on_update(self, update: ConversationUpdate) -> None:
        try:
            self._registry.record(self._call, update)
        finally:
            if self._inner is not None:
                self._inner.on_update(update)


class ObservedHandler:
    """A :class:`ports.CallHandler` that registers each call it passes on.

    Args:
        inner: The core's handler.
        registry: Where calls are registered.
    """

    def __init__(self, inner: CallHandler, registry: LiveCallRegistry) -> None:
        self._inner = inner
        self.registry = registry

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Register ``call``, run it through the inner handler, then mark it ended."""
        info = call.info
        live = self.registry.begin(info.call_id, info.channel, info.caller)
        reason = "error"
        try:
            summary = await self._inner.handle_call(
                replace(call, observer=_Tee(self.registry, live, call.observer))
            )
            reason = summary.end_reason
            return summary
        finally:
            self.registry.end(info.call_id, reason)
