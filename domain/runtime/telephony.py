"""One call's telephony: provider call events in, hang-up and transfer out (``CallControl``).

Warm transfers and provider key collection are in :mod:`domain.runtime.consult`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from domain import commands as cmds
from domain import events as ev
from domain.runtime.config import RuntimeConfig
from domain.runtime.consult import Consults
from domain.runtime.errors import error_code
from ports import (
    CallControl,
    CallEvent,
    CallEventKind,
    CallMetrics,
    Clock,
    LanguageModel,
    Participant,
)
from ports.tracing import NO_CALL_TRACE, CallTrace

logger = logging.getLogger(__name__)

_CONSULT_EVENTS = frozenset(
    {CallEventKind.ADD_PARTICIPANT_SUCCEEDED, CallEventKind.ADD_PARTICIPANT_FAILED}
)


class TelephonyListener(Protocol):
    """What telephony reports to its call (synchronously, on the loop)."""

    def feed(self, event: ev.Event) -> None:
        """Give an event to the conversation."""
        ...

    def end(self, reason: str) -> None:
        """End the call with ``reason``."""
        ...


class Telephony:
    """Hang-ups, transfers and the provider's call events of one call.

    Args:
        control: Call control for a telephony call; ``None`` (browser, text and test calls):
            a hang-up or transfer just ends the call.
        call_id: The call (its call connection id on telephony).
        config: Runtime tuning (port timeout).
        clock: The call's clock (event times).
        metrics: Gets ``provider_error("call_control", code)`` per failed operation.
        drain: Waits for queued speech to play (bounded by the caller).
        listener: The call.
        caller: The caller's number or raw id (held during a consult, asked for keys).
        llm: Writes consult summaries (None: the agent's template).
    """

    def __init__(
        self,
        *,
        control: CallControl | None,
        call_id: str,
        config: RuntimeConfig,
        clock: Clock,
        metrics: CallMetrics,
        drain: Callable[[], Awaitable[None]],
        listener: TelephonyListener,
        caller: str = "",
        llm: LanguageModel | None = None,
    ) -> None:
        self._control = control
        self._call_id = call_id
        self._timeout_s = config.port_timeout_ms / 1000.0
        self._clock = clock
        self._metrics = metrics
        self._drain = drain
        self._listener = listener
        self._transferred = False
        self.consults = Consults(
            control=control,
            call_id=call_id,
            caller=caller,
            llm=llm,
            clock=clock,
            metrics=metrics,
            timeout_s=self._timeout_s,
            invitation_timeout_s=config.consult_timeout_ms / 1000.0,
            summary_timeout_s=config.first_token_timeout_ms / 1000.0,
            listener=listener,
        )
        self.trace: CallTrace = NO_CALL_TRACE
        """The call's trace (set when the call starts)."""

    async def read(self, events: AsyncIterator[CallEvent]) -> None:
        """Turn the provider's call events into conversation events until the call ends."""
        clock, listener = self._clock, self._listener
        try:
            async for event in events:
                kind = event.kind
                if kind in (CallEventKind.CALL_DISCONNECTED, CallEventKind.CALL_LOST):
                    listener.end("transfer" if self._transferred else kind.value)
                    return
                if kind is CallEventKind.TRANSFER_ACCEPTED:
                    self._transferred = True
                    self.trace.transfer_result(True, clock.now_ms())
                    listener.feed(ev.TransferResult(clock.now_ms(), accepted=True))
                elif kind is CallEventKind.TRANSFER_FAILED:
                    self.trace.transfer_result(False, clock.now_ms())
                    listener.feed(ev.TransferResult(clock.now_ms(), accepted=False))
                elif kind is CallEventKind.RECOGNIZE_COMPLETED:
                    for tone in event.tones:
                        listener.feed(ev.DtmfDigit(clock.now_ms(), tone, "recognize"))
                    listener.feed(ev.DtmfCollected(clock.now_ms()))
                elif kind is CallEventKind.RECOGNIZE_FAILED:
                    listener.feed(ev.DtmfCollected(clock.now_ms()))
                elif kind in _CONSULT_EVENTS:
                    self.consults.on_event(event)
        except Exception as exc:  # noqa: BLE001 (adapter failure must not end the call)
            logger.warning("call %s: call events failed: %r", self._call_id, exc)

    async def hang_up(self, reason: str = "") -> None:
        """Let queued speech play, hang up for everyone, end the call (even if that failed).

        The call's end reason is ``hang_up``, or ``voicemail`` after a voicemail message.
        """
        await self._drain()
        if self._control is not None:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._control.hang_up(self._call_id, for_everyone=True)
            except Exception as exc:  # noqa: BLE001 (the call ends either way)
                logger.warning("call %s: hang-up failed: %r", self._call_id, exc)
                self._metrics.provider_error("call_control", error_code(exc))
        self._listener.end("voicemail" if reason == "voicemail" else "hang_up")

    async def transfer(self, command: cmds.TransferCall) -> None:
        """Let queued speech play, then transfer; a failure is fed as ``TransferResult``."""
        await self._drain()
        if self._control is None:
            self._listener.end("transfer")
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._control.transfer(
                    self._call_id,
                    Participant.parse(command.target),
                    operation_context=f"transfer:{command.reason}"[:64],
                    custom_context=dict(command.context),
                )
        except Exception as exc:  # noqa: BLE001 (a failed transfer is an event)
            logger.warning("call %s: transfer failed: %r", self._call_id, exc)
            self._metrics.provider_error("call_control", error_code(exc))
            self.trace.transfer_result(False, self._clock.now_ms())
            self._listener.feed(ev.TransferResult(self._clock.now_ms(), accepted=False))

    async def run(self, command: cmds.Command) -> None:
        """A consult, its completion or a key collection (after queued speech has played)."""
        if isinstance(command, cmds.StartConsult):
            if self._control is not None and not self.consults.available:
                logger.info("call %s: no consult capability; transferring blind", self._call_id)
                await self.transfer(
                    cmds.TransferCall(command.target, command.reason, command.context)
                )
                return
            await self._drain()
            await self.consults.consult(command)
        elif isinstance(command, cmds.CompleteTransfer):
            await self._drain()
            await self.consults.complete()
        elif isinstance(command, cmds.CollectDtmf):
            await self.consults.collect_dtmf(command)
