"""The ``CallControl`` port: telephony operations and the call events they cause.

Modelled on ACS Call Automation (docs/wire-protocols.md, "ACS Call Automation" and "Call
Automation callbacks"); the values are provider-neutral so a memory fake serves tests.

Promise:
    * Every method returns boundary values and raises port errors only:
      :class:`~ports.errors.CallNotFoundError` for an ended call,
      :class:`~ports.errors.AuthenticationError`, :class:`~ports.errors.RateLimitedError`,
      :class:`~ports.errors.ProviderTimeoutError`, :class:`~ports.errors.ProviderUnavailableError`.
    * Operations are accepted, not completed: completion arrives later as a :class:`CallEvent`
      (for example ``TRANSFER_ACCEPTED`` after ``transfer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ports.audio import AudioFormat

_PHONE_RAW_PREFIX = "4:"
"""Raw id prefix of a phone-number identifier (``4:+14255550123``)."""


class ParticipantKind(StrEnum):
    """Kinds of communication identifier (ACS ``CommunicationIdentifierModel.kind``)."""

    PHONE_NUMBER = "phoneNumber"
    COMMUNICATION_USER = "communicationUser"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Participant:
    """A party to a call.

    Attributes:
        raw_id: Provider raw id (``4:+14255550123`` for a phone, ``8:acs:...`` for a user).
        kind: Identifier kind.
        value: Phone number in E.164 or the user id.
    """

    raw_id: str
    kind: ParticipantKind = ParticipantKind.UNKNOWN
    value: str = ""

    @classmethod
    def phone(cls, number: str) -> Participant:
        """A PSTN participant from an E.164 number such as ``+14255550123``."""
        return cls(
            raw_id=f"{_PHONE_RAW_PREFIX}{number}", kind=ParticipantKind.PHONE_NUMBER, value=number
        )

    @classmethod
    def user(cls, user_id: str) -> Participant:
        """An ACS user participant from its id (``8:acs:...``)."""
        return cls(raw_id=user_id, kind=ParticipantKind.COMMUNICATION_USER, value=user_id)

    @classmethod
    def parse(cls, target: str) -> Participant:
        """A participant from an agent-file target: an E.164 number or a provider raw id.

        ``+14255550123`` and the raw id ``4:+14255550123`` are phone numbers; anything else
        (``8:acs:...``) is a communication user. Raw id prefixes are those of the
        ``CommunicationIdentifier`` raw id format ("Communication identifier types", ACS
        docs, https://learn.microsoft.com/azure/communication-services/concepts/identifiers).

        Args:
            target: The transfer target as written (surrounding spaces are ignored).

        Returns:
            The participant.

        Raises:
            ValueError: ``target`` is empty.
        """
        target = target.strip()
        if not target:
            raise ValueError("a participant needs a phone number or a raw id, got ''")
        if target.startswith(_PHONE_RAW_PREFIX + "+"):
            return cls.phone(target[len(_PHONE_RAW_PREFIX) :])
        if target.startswith("+"):
            return cls.phone(target)
        return cls.user(target)


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An offered call (Event Grid ``Microsoft.Communication.IncomingCall``).

    Attributes:
        incoming_call_context: Opaque token to pass back verbatim when answering.
        caller: Who is calling.
        callee: Who was called.
        server_call_id: Provider server call id.
        correlation_id: Provider correlation id, for logs.
        caller_display_name: Display name, when known.
        traceparent: W3C ``traceparent`` the offer arrived with ("" when none), so the call's
            trace continues the sender's.
    """

    incoming_call_context: str
    caller: Participant
    callee: Participant
    server_call_id: str = ""
    correlation_id: str = ""
    caller_display_name: str = ""
    traceparent: str = ""


@dataclass(frozen=True, slots=True)
class CallConnection:
    """A call we are a party to.

    Attributes:
        call_connection_id: Provider call connection id; the key of every later operation.
        server_call_id: Provider server call id.
        correlation_id: Provider correlation id.
    """

    call_connection_id: str
    server_call_id: str = ""
    correlation_id: str = ""


class CallEventKind(StrEnum):
    """Call Automation callback event names (``Microsoft.Communication.<Name>``)."""

    CALL_CONNECTED = "CallConnected"
    CALL_DISCONNECTED = "CallDisconnected"
    PARTICIPANTS_UPDATED = "ParticipantsUpdated"
    MEDIA_STREAMING_STARTED = "MediaStreamingStarted"
    MEDIA_STREAMING_STOPPED = "MediaStreamingStopped"
    MEDIA_STREAMING_FAILED = "MediaStreamingFailed"
    TRANSFER_ACCEPTED = "CallTransferAccepted"
    TRANSFER_FAILED = "CallTransferFailed"
    RECOGNIZE_COMPLETED = "RecognizeCompleted"
    RECOGNIZE_FAILED = "RecognizeFailed"
    PLAY_COMPLETED = "PlayCompleted"
    PLAY_FAILED = "PlayFailed"
    CREATE_CALL_FAILED = "CreateCallFailed"
    """An outbound call did not connect; ``result_code`` says why (486 busy, 408/480 no
    answer, 603 declined, 404 no such number)."""
    ADD_PARTICIPANT_SUCCEEDED = "AddParticipantSucceeded"
    ADD_PARTICIPANT_FAILED = "AddParticipantFailed"
    CALL_LOST = "CallLost"
    """Not an ACS event: the instance owning the call is gone (see the call registry)."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A telephony event about one call.

    Attributes:
        kind: What happened.
        call_connection_id: The call it concerns.
        operation_context: Context string given with the operation that caused it.
        result_code: Provider result code (ACS ``resultInformation.code``), 0 when absent.
        result_sub_code: Provider result sub-code.
        message: Provider message, for logs.
        tones: DTMF tones recognised (for ``RECOGNIZE_COMPLETED``), as single characters.
        participants: Raw ids of participants (for ``PARTICIPANTS_UPDATED``).
    """

    kind: CallEventKind
    call_connection_id: str
    operation_context: str = ""
    result_code: int = 0
    result_sub_code: int = 0
    message: str = ""
    tones: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """How the provider streams the call's audio to us.

    Attributes:
        transport_url: WebSocket URL the provider connects to (``wss://.../ws/acs/media``).
        format: Audio format both ways (16 or 24 kHz PCM16 mono for ACS).
        bidirectional: Whether we may send audio back.
        dtmf: Whether DTMF tones are forwarded on the stream.
    """

    transport_url: str
    format: AudioFormat
    bidirectional: bool = True
    dtmf: bool = True


class CallControl(Protocol):
    """Telephony operations for one provider account; one instance per process.

    Only operations something in Parley calls are here: ``answer`` (the ACS gateway),
    ``hang_up`` and ``transfer`` (the runtime, the call router), ``create_call`` (outbound
    calls). Provider extras such as ACS DTMF recognition stay on the adapter until a caller
    needs them.
    """

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        """Answer an offered call with bidirectional media streaming.

        Raises:
            ProviderError: A subclass naming the failure.
        """
        ...

    async def create_call(
        self,
        target: Participant,
        *,
        callback_url: str,
        media: MediaOptions,
        source_caller_id: str | None = None,
    ) -> CallConnection:
        """Place an outbound call to ``target``.

        Raises:
            ProviderError: A subclass naming the failure.
        """
        ...

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool = True) -> None:
        """Leave the call, or end it for every participant.

        Raises:
            CallNotFoundError: The call has already ended.
        """
        ...

    async def transfer(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
    ) -> None:
        """Transfer the caller to ``target``; the outcome arrives as a call event.

        ``custom_context`` (name -> value) travels with the transfer where the provider
        carries it (ACS: SIP ``X-MS-Custom-`` headers to a phone, VoIP headers to a user);
        providers that cannot carry it ignore it.

        Raises:
            CallNotFoundError: The call has ended.
        """
        ...
