"""Optional telephony capabilities: consulting a person (warm transfer) and collecting keys.

Not every provider offers them, so they are separate protocols a ``CallControl`` adapter may
also implement; the runtime checks with ``isinstance`` (they are ``runtime_checkable``) and
falls back without them (a blind transfer; in-band DTMF only). Modelled on ACS Call Automation
("Add participant", "Hold and unhold", "Gather user input": ``recognize``); the outcomes arrive
as :class:`~ports.call_control.CallEvent` values (``AddParticipantSucceeded`` /
``AddParticipantFailed``, ``RecognizeCompleted`` / ``RecognizeFailed``).

Promise: every method returns once the provider accepted the operation and raises port errors
only (:class:`~ports.errors.CallNotFoundError` for an ended call, other
:class:`~ports.errors.ProviderError` subclasses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ports.call_control import Participant


@runtime_checkable
class ConsultingCallControl(Protocol):
    """Hold a participant and call another one into the call (warm transfer)."""

    async def hold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Put ``target`` on hold: they no longer hear the call, nor are heard in it."""
        ...

    async def unhold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Take ``target`` off hold."""
        ...

    async def add_participant(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
        invitation_timeout_s: float = 30.0,
    ) -> None:
        """Invite ``target`` into the call; ``AddParticipantSucceeded``/``Failed`` follows."""
        ...


@runtime_checkable
class DtmfCollector(Protocol):
    """Collect keys through the provider (ACS ``recognize`` with ``recognizeInputType: dtmf``)."""

    async def start_dtmf_recognition(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        max_tones: int = 1,
        inter_tone_timeout_s: float = 5.0,
        initial_silence_timeout_s: float = 15.0,
        stop_tones: tuple[str, ...] = ("#",),
        operation_context: str = "",
    ) -> None:
        """Collect up to ``max_tones`` keys from ``target``; ``RecognizeCompleted`` follows."""
        ...
