"""``ports.CallControl`` on the ACS Call Automation SDK's async client.

Built on ``azure.communication.callautomation.aio.CallAutomationClient`` (1.6.0). Wire facts:
docs/wire-protocols.md, "ACS Call Automation"; docs: "Call Automation overview"
(learn.microsoft.com/azure/communication-services/concepts/call-automation/call-automation),
"Audio streaming quickstart" and "Bidirectional audio streaming" (``MediaStreamingOptions``),
"Transfer a call" and "Gather user input" (DTMF ``recognize``).

Errors: every ``azure.core.exceptions`` error is translated by :func:`map_sdk_error` into a port
error (most specific first, ``raise ... from exc``); transient ones (timeouts, 429, 5xx,
connection failures) are retried with tenacity (exponential backoff with jitter, bounded by a
deadline; :class:`adapters.resilience.retry.TransientRetry`, shared with recording and Twilio).
The SDK's own retry policy is switched off by :func:`build_call_automation_client`
so the two do not multiply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from azure.communication.callautomation import (
    CommunicationIdentifier,
    CommunicationUserIdentifier,
    MediaStreamingOptions,
    PhoneNumberIdentifier,
)
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core import exceptions as azure_errors
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential

from adapters.acs.custom_context import headers_for
from adapters.acs.media_codec import ACS_AUDIO_FORMATS, DIGIT_DTMF_TONES
from adapters.resilience.retry import RetryConfig, TransientRetry
from ports import (
    AuthenticationError,
    CallConnection,
    CallNotFoundError,
    IncomingCall,
    MediaOptions,
    Participant,
    ParticipantKind,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

logger = logging.getLogger(__name__)

PORT: Final = "call_control"
"""Port name carried by every error raised here."""


# --------------------------------------------------------------------------- error mapping


def _status(exc: azure_errors.HttpResponseError) -> int:
    return int(exc.status_code or 0)


def _retry_after(exc: azure_errors.HttpResponseError) -> float | None:
    response = exc.response
    if response is None:
        return None
    value = getattr(response, "headers", {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _from_http(exc: azure_errors.HttpResponseError) -> ProviderError:
    status = _status(exc)
    message = f"ACS answered HTTP {status}: {exc.reason or type(exc).__name__}"
    if status in (401, 403):
        return AuthenticationError(message, port=PORT)
    if status == 404:
        return CallNotFoundError(message, port=PORT)
    if status == 429:
        return RateLimitedError(message, port=PORT, retry_after_s=_retry_after(exc))
    if status in (408, 504):
        return ProviderTimeoutError(message, port=PORT)
    if status >= 500 or status == 0:
        return ProviderUnavailableError(message, port=PORT)
    return ProviderError(message, port=PORT)


_SDK_ERROR_MAP: Final[tuple[tuple[type[BaseException], Callable[[Any], ProviderError]], ...]] = (
    # Most specific first: subclasses before their bases.
    (
        azure_errors.ClientAuthenticationError,
        lambda e: AuthenticationError(f"ACS refused the credentials: {e.reason}", port=PORT),
    ),
    (
        azure_errors.ResourceNotFoundError,
        lambda e: CallNotFoundError(f"ACS does not know the call: {e.reason}", port=PORT),
    ),
    (
        azure_errors.IncompleteReadError,
        lambda e: ProviderUnavailableError("ACS response was cut short", port=PORT),
    ),
    (
        azure_errors.DecodeError,
        lambda e: ProviderError("ACS response could not be decoded", port=PORT),
    ),
    (azure_errors.ResourceExistsError, _from_http),
    (azure_errors.ResourceModifiedError, _from_http),
    (azure_errors.ResourceNotModifiedError, _from_http),
    (azure_errors.TooManyRedirectsError, _from_http),
    (azure_errors.ODataV4Error, _from_http),
    (azure_errors.HttpResponseError, _from_http),
    (
        azure_errors.ServiceRequestTimeoutError,
        lambda e: ProviderTimeoutError("ACS request timed out", port=PORT),
    ),
    (
        azure_errors.ServiceResponseTimeoutError,
        lambda e: ProviderTimeoutError("ACS response timed out", port=PORT),
    ),
    (
        azure_errors.ServiceRequestError,
        lambda e: ProviderUnavailableError("ACS could not be reached", port=PORT),
    ),
    (
        azure_errors.ServiceResponseError,
        lambda e: ProviderUnavailableError("ACS connection failed mid-response", port=PORT),
    ),
    (
        azure_errors.ResponseNotReadError,
        lambda e: ProviderError("ACS response not read (SDK misuse)", port=PORT),
    ),
    (
        azure_errors.StreamConsumedError,
        lambda e: ProviderError("ACS response stream consumed twice (SDK misuse)", port=PORT),
    ),
    (
        azure_errors.StreamClosedError,
        lambda e: ProviderUnavailableError("ACS response stream closed", port=PORT),
    ),
    (azure_errors.AzureError, lambda e: ProviderError(f"ACS SDK error: {e}", port=PORT)),
    (TimeoutError, lambda e: ProviderTimeoutError("ACS operation deadline passed", port=PORT)),
)

MAPPED_SDK_ERRORS: Final = frozenset(t for t, _ in _SDK_ERROR_MAP)
"""SDK error classes with an explicit mapping (tests check every SDK error is here)."""


def map_sdk_error(exc: BaseException) -> ProviderError:
    """Translate an SDK (or timeout) exception into the port error it means.

    Args:
        exc: An ``azure.core.exceptions`` error or a ``TimeoutError``.

    Returns:
        :class:`~ports.AuthenticationError` (401/403, refused credential),
        :class:`~ports.CallNotFoundError` (404), :class:`~ports.RateLimitedError` (429, with
        ``retry-after``), :class:`~ports.ProviderTimeoutError` (408/504, request or response
        timeout), :class:`~ports.ProviderUnavailableError` (5xx, connection failures) or a
        plain :class:`~ports.ProviderError` (other 4xx, SDK misuse).
    """
    for sdk_type, factory in _SDK_ERROR_MAP:
        if isinstance(exc, sdk_type):
            return factory(exc)
    return ProviderError(f"unexpected error: {type(exc).__name__}", port=PORT)


# --------------------------------------------------------------------------- identifiers


def to_identifier(participant: Participant) -> CommunicationIdentifier:
    """The SDK identifier for ``participant``: a phone number or an ACS user.

    Raises:
        ProviderError: The participant kind is neither (ACS cannot transfer to it).
    """
    if participant.kind is ParticipantKind.PHONE_NUMBER:
        return PhoneNumberIdentifier(participant.value)
    if participant.kind is ParticipantKind.COMMUNICATION_USER:
        return CommunicationUserIdentifier(participant.value or participant.raw_id)
    if participant.raw_id.startswith("4:"):
        return PhoneNumberIdentifier(participant.raw_id[2:])
    if participant.raw_id.startswith("8:"):
        return CommunicationUserIdentifier(participant.raw_id)
    raise ProviderError(f"unsupported participant kind {participant.kind}", port=PORT)


def media_streaming_options(media: MediaOptions) -> MediaStreamingOptions:
    """``MediaStreamingOptions`` for bidirectional mixed PCM audio over a WebSocket.

    Raises:
        ProviderError: ``media.format`` is not one ACS streams (16 or 24 kHz PCM16 mono).
    """
    audio_format = next((k for k, v in ACS_AUDIO_FORMATS.items() if v == media.format), None)
    if audio_format is None:
        raise ProviderError(f"ACS cannot stream {media.format}", port=PORT)
    return MediaStreamingOptions(
        transport_url=media.transport_url,
        transport_type="websocket",
        content_type="audio",
        audio_channel_type="mixed",
        start_media_streaming=True,
        enable_bidirectional=media.bidirectional,
        audio_format=audio_format,
        enable_dtmf_tones=media.dtmf,
    )


# --------------------------------------------------------------------------- adapter


def build_call_automation_client(
    endpoint: str,
    credential: AzureKeyCredential | AsyncTokenCredential,
    *,
    api_version: str | None = None,
) -> CallAutomationClient:
    """An async ``CallAutomationClient`` with the SDK's retries off (tenacity retries instead).

    ``from_connection_string`` rewrites ``http`` endpoints to ``https``, so the emulator needs
    this constructor (docs/wire-protocols.md, "ACS Call Automation").
    """
    kwargs: dict[str, Any] = {"retry_total": 0}
    if api_version:
        kwargs["api_version"] = api_version
    return CallAutomationClient(endpoint, credential, **kwargs)


def acs_retry(config: RetryConfig, *, quiet_codes: tuple[str, ...] = ()) -> TransientRetry:
    """The retry of Call Automation operations: SDK errors translated by :func:`map_sdk_error`.

    Args:
        config: Tries, deadline, backoff and per-try timeout.
        quiet_codes: Port error codes logged at DEBUG (routine failures).
    """
    return TransientRetry(
        config,
        provider="ACS",
        sdk_errors=(azure_errors.AzureError, TimeoutError),
        translate=map_sdk_error,
        quiet_codes=quiet_codes,
    )


class AcsCallControl:
    """``ports.CallControl`` over ACS Call Automation.

    Args:
        client: The SDK's async client (owned by the caller, closed at shutdown).
        retry: Retry and timeout settings.
        enforce_https: False lets a token credential be used over plain http (the local
            emulator); the SDK refuses that by default (docs/wire-protocols.md, "ACS Call
            Automation"). Leave it True with an access key: only the bearer-token policy
            consumes the option.
        source_caller_id: Default caller id (E.164) for outbound PSTN calls.
    """

    def __init__(
        self,
        client: CallAutomationClient,
        *,
        retry: RetryConfig | None = None,
        enforce_https: bool = True,
        source_caller_id: str | None = None,
    ) -> None:
        self._client = client
        self._call = acs_retry(retry or RetryConfig())
        self._kwargs: dict[str, Any] = {} if enforce_https else {"enforce_https": False}
        self._source_caller_id = source_caller_id

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        """Answer an offered call with bidirectional media streaming.

        Sends ``POST /calling/callConnections:answer`` with ``mediaStreamingOptions``
        (websocket, audio, mixed, ``pcm16KMono``/``pcm24KMono``, started at once, bidirectional,
        DTMF tones on).

        Raises:
            ProviderError: A subclass naming the failure.
        """
        options = media_streaming_options(media)
        props = await self._call(
            "answer",
            lambda: self._client.answer_call(
                call.incoming_call_context,
                callback_url,
                media_streaming=options,
                operation_context="parley-answer",
                **self._kwargs,
            ),
        )
        return CallConnection(
            call_connection_id=str(props.call_connection_id),
            server_call_id=str(props.server_call_id or call.server_call_id),
            correlation_id=str(props.correlation_id or call.correlation_id),
        )

    async def create_call(
        self,
        target: Participant,
        *,
        callback_url: str,
        media: MediaOptions,
        source_caller_id: str | None = None,
    ) -> CallConnection:
        """Place an outbound call with the same media options (``POST /calling/callConnections``).

        Raises:
            ProviderError: A subclass naming the failure.
        """
        options = media_streaming_options(media)
        caller = source_caller_id or self._source_caller_id
        identifier = to_identifier(target)
        props = await self._call(
            "create_call",
            lambda: self._client.create_call(
                identifier,
                callback_url,
                source_caller_id_number=PhoneNumberIdentifier(caller) if caller else None,
                media_streaming=options,
                operation_context="parley-create",
                **self._kwargs,
            ),
        )
        return CallConnection(
            call_connection_id=str(props.call_connection_id),
            server_call_id=str(props.server_call_id or ""),
            correlation_id=str(props.correlation_id or ""),
        )

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool = True) -> None:
        """Leave (``DELETE``) or end for everyone (``:terminate``).

        Raises:
            CallNotFoundError: The call has already ended.
        """
        connection = self._client.get_call_connection(call_connection_id)
        await self._call(
            "hang_up", lambda: connection.hang_up(is_for_everyone=for_everyone, **self._kwargs)
        )

    async def transfer(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
    ) -> None:
        """Transfer the caller (``:transferToParticipant``); outcome arrives as a call event.

        ``custom_context`` travels as SIP ``X-MS-Custom-`` headers to a phone number, VoIP
        headers to a user (:mod:`adapters.acs.custom_context`).

        Raises:
            CallNotFoundError: The call has ended.
        """
        connection = self._client.get_call_connection(call_connection_id)
        identifier = to_identifier(target)
        sip, voip = headers_for(target, custom_context)
        await self._call(
            "transfer",
            lambda: connection.transfer_call_to_participant(
                identifier,
                operation_context=operation_context or None,
                sip_headers=sip,
                voip_headers=voip,
                **self._kwargs,
            ),
        )

    async def add_participant(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
        invitation_timeout_s: float = 30.0,
    ) -> None:
        """Invite ``target`` (``/participants:add``); ``AddParticipantSucceeded``/``Failed``.

        Docs: "Add participant" in "Call Automation overview"; custom context as in
        :meth:`transfer`.

        Raises:
            CallNotFoundError: The call has ended.
        """
        connection = self._client.get_call_connection(call_connection_id)
        identifier = to_identifier(target)
        sip, voip = headers_for(target, custom_context)
        caller = PhoneNumberIdentifier(self._source_caller_id) if self._source_caller_id else None
        await self._call(
            "add_participant",
            lambda: connection.add_participant(
                identifier,
                invitation_timeout=max(1, round(invitation_timeout_s)),
                operation_context=operation_context or None,
                source_caller_id_number=caller,
                sip_headers=sip,
                voip_headers=voip,
                **self._kwargs,
            ),
        )

    async def hold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Put ``target`` on hold (``:hold``; "Hold and unhold" how-to).

        Raises:
            CallNotFoundError: The call has ended.
        """
        connection = self._client.get_call_connection(call_connection_id)
        identifier = to_identifier(target)
        await self._call(
            "hold",
            lambda: connection.hold(
                identifier, operation_context=operation_context or None, **self._kwargs
            ),
        )

    async def unhold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Take ``target`` off hold (``:unhold``).

        Raises:
            CallNotFoundError: The call has ended.
        """
        connection = self._client.get_call_connection(call_connection_id)
        identifier = to_identifier(target)
        await self._call(
            "unhold",
            lambda: connection.unhold(
                identifier, operation_context=operation_context or None, **self._kwargs
            ),
        )

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
        """Collect DTMF tones (``:recognize`` with ``recognizeInputType: dtmf``).

        Tones arrive later as ``RECOGNIZE_COMPLETED`` with ``dtmfResult.tones``.

        Raises:
            CallNotFoundError: The call has ended.
            ProviderError: A stop tone is not a DTMF character.
        """
        try:
            tones = [DIGIT_DTMF_TONES[t.upper()] for t in stop_tones]
        except KeyError as exc:
            raise ProviderError(f"not a DTMF tone: {exc.args[0]!r}", port=PORT) from exc
        connection = self._client.get_call_connection(call_connection_id)
        identifier = to_identifier(target)
        await self._call(
            "start_dtmf_recognition",
            lambda: connection.start_recognizing_media(
                "dtmf",
                identifier,
                initial_silence_timeout=max(1, round(initial_silence_timeout_s)),
                dtmf_inter_tone_timeout=max(1, round(inter_tone_timeout_s)),
                dtmf_max_tones_to_collect=max_tones,
                dtmf_stop_tones=tones,
                operation_context=operation_context or None,
                **self._kwargs,
            ),
        )
