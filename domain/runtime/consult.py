"""Warm transfer and provider key collection, on the telephony provider's optional capabilities.

``StartConsult`` (domain.conversation.consult): the caller is put on hold, the person is invited
into the call with the custom calling context, and, when the conversation sent its messages, a
summary is written by the language model while their phone rings (bounded by
``summary_timeout_ms``; the agent's template is spoken when it fails or is late). The provider's
``AddParticipantSucceeded``/``Failed`` (or the invitation deadline) becomes ``ConsultResult``;
when nobody answered the caller is taken off hold first. ``CompleteTransfer`` takes the caller
off hold and leaves the call. Without the consult capability (``ports.ConsultingCallControl``)
the telephony side transfers blind instead (:meth:`Consults.available`).

``CollectDtmf`` starts the provider's key collection (``ports.DtmfCollector``: ACS
``recognize``) for the caller; without it, or when it fails, ``DtmfCollected`` is fed at once
so the conversation takes in-band keys again.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from typing import Protocol

from domain import commands as cmds
from domain import events as ev
from domain.runtime.errors import error_code
from ports import (
    CallControl,
    CallEvent,
    CallEventKind,
    CallMetrics,
    ChatMessage,
    Clock,
    ConsultingCallControl,
    DtmfCollector,
    LanguageModel,
    ModelOptions,
    Participant,
    Role,
    TextDelta,
)

logger = logging.getLogger(__name__)

SUMMARY_PROMPT = (
    "You are handing a phone caller over to a human colleague who has just picked up. In one "
    "or two short sentences, spoken to the colleague, say what the caller needs and anything "
    "they already gave (names, numbers). No greeting, no lists."
)
"""System message of a model-written consult summary."""


class ConsultListener(Protocol):
    """What the consult reports to its call (synchronously, on the loop)."""

    def feed(self, event: ev.Event) -> None:
        """Give an event to the conversation."""
        ...

    def end(self, reason: str) -> None:
        """End the call with ``reason``."""
        ...


def transcript_of(messages: tuple[ChatMessage, ...]) -> str:
    """The conversation as ``Caller: ...`` / ``Agent: ...`` lines (tools left out)."""
    lines = []
    for message in messages:
        if message.role is Role.USER and message.text:
            lines.append(f"Caller: {message.text}")
        elif message.role is Role.ASSISTANT and message.text:
            lines.append(f"Agent: {message.text}")
    return "\n".join(lines[-40:])


class Consults:
    """Warm transfers and key collection of one call.

    Args:
        control: The call's ``CallControl`` (None for calls without telephony).
        call_id: The call connection id.
        caller: The caller's phone number or raw id ("" when unknown: no hold).
        llm: Writes model summaries; None for template summaries only.
        clock: The call's clock.
        metrics: Counts failed provider operations.
        timeout_s: Deadline of each provider operation, seconds.
        invitation_timeout_s: How long the person consulted may take to answer, seconds.
        summary_timeout_s: Longest wait for a model summary, seconds.
        listener: The call.
    """

    def __init__(
        self,
        *,
        control: CallControl | None,
        call_id: str,
        caller: str,
        llm: LanguageModel | None,
        clock: Clock,
        metrics: CallMetrics,
        timeout_s: float,
        invitation_timeout_s: float,
        summary_timeout_s: float,
        listener: ConsultListener,
    ) -> None:
        self._control = control
        self._call_id = call_id
        self._caller = _participant(caller)
        self._llm = llm
        self._clock = clock
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._invitation_timeout_s = invitation_timeout_s
        self._summary_timeout_s = summary_timeout_s
        self._listener = listener
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[bool]] = {}

    def on_event(self, event: CallEvent) -> bool:
        """Take an ``AddParticipant*`` event of a consult; True when it was one."""
        future = self._waiting.get(event.operation_context)
        if future is None or future.done():
            return False
        future.set_result(event.kind is CallEventKind.ADD_PARTICIPANT_SUCCEEDED)
        return True

    async def _op(self, what: str, operation: Awaitable[None]) -> bool:
        try:
            async with asyncio.timeout(self._timeout_s):
                await operation
        except Exception as exc:  # noqa: BLE001 (a failed operation is an outcome)
            logger.warning("call %s: %s failed: %r", self._call_id, what, exc)
            self._metrics.provider_error("call_control", error_code(exc))
            return False
        return True

    @property
    def available(self) -> bool:
        """True when the call's provider can consult (else the transfer is blind)."""
        return isinstance(self._control, ConsultingCallControl)

    async def consult(self, command: cmds.StartConsult) -> None:
        """Hold the caller, invite the person, feed ``ConsultResult``."""
        control = self._control
        if not isinstance(control, ConsultingCallControl):
            self._listener.end("transfer")
            return
        context = f"consult:{next(self._ids)}"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[context] = future
        summary = (
            asyncio.ensure_future(self._summary(command.messages)) if command.messages else None
        )
        answered = False
        try:
            if self._caller is not None:
                await self._op("hold", control.hold(self._call_id, self._caller))
            invited = await self._op(
                "add participant",
                control.add_participant(
                    self._call_id,
                    Participant.parse(command.target),
                    operation_context=context,
                    custom_context=dict(command.context),
                    invitation_timeout_s=self._invitation_timeout_s,
                ),
            )
            if invited:
                async with asyncio.timeout(self._invitation_timeout_s + self._timeout_s):
                    answered = await future
        except TimeoutError:
            logger.warning("call %s: the person consulted never answered", self._call_id)
        finally:
            self._waiting.pop(context, None)
        text = ""
        if summary is not None:
            if answered:
                text = await summary
            else:
                summary.cancel()
        if not answered and self._caller is not None:
            await self._op("unhold", control.unhold(self._call_id, self._caller))
        self._listener.feed(ev.ConsultResult(self._clock.now_ms(), answered, text))

    async def _summary(self, messages: tuple[ChatMessage, ...]) -> str:
        """A model-written summary, or "" (the template is spoken) on failure or deadline."""
        if self._llm is None:
            return ""
        prompt = (
            ChatMessage(Role.SYSTEM, SUMMARY_PROMPT),
            ChatMessage(Role.USER, transcript_of(messages)),
        )
        parts: list[str] = []
        try:
            async with asyncio.timeout(self._summary_timeout_s):
                async for item in self._llm.stream(prompt, [], ModelOptions(max_tokens=120)):
                    if isinstance(item, TextDelta):
                        parts.append(item.text)
        except Exception as exc:  # noqa: BLE001 (the template is the fallback)
            logger.warning("call %s: consult summary failed: %r", self._call_id, exc)
            self._metrics.provider_error("llm", error_code(exc))
            return ""
        return " ".join("".join(parts).split())

    async def complete(self) -> None:
        """The summary played: take the caller off hold and leave them with the person."""
        control = self._control
        if isinstance(control, ConsultingCallControl) and self._caller is not None:
            await self._op("unhold", control.unhold(self._call_id, self._caller))
        if control is not None:
            await self._op("leave", control.hang_up(self._call_id, for_everyone=False))
        self._listener.end("transfer")

    async def collect_dtmf(self, command: cmds.CollectDtmf) -> None:
        """Start the provider's key collection; ``DtmfCollected`` at once when it cannot."""
        control = self._control
        started = False
        if isinstance(control, DtmfCollector) and self._caller is not None:
            started = await self._op(
                "DTMF recognition",
                control.start_dtmf_recognition(
                    self._call_id,
                    self._caller,
                    max_tones=max(1, command.max_digits),
                    inter_tone_timeout_s=max(1.0, command.inter_digit_timeout_ms / 1000.0),
                    stop_tones=(command.stop_key,),
                    operation_context="parley-dtmf",
                ),
            )
        if not started:
            self._listener.feed(ev.DtmfCollected(self._clock.now_ms()))


def _participant(caller: str) -> Participant | None:
    try:
        return Participant.parse(caller) if caller else None
    except ValueError:
        return None
