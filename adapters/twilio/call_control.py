"""``ports.CallControl`` on the Twilio REST API through the ``twilio`` package (async client).

Operations ("Call resource", https://www.twilio.com/docs/voice/api/call-resource):

* ``answer``: a ringing call's TwiML is replaced (``POST .../Calls/{CallSid}.json`` with
  ``Twiml``) by ``<Connect><Stream>``; calls that reach Parley's Voice webhook are answered by
  the webhook's own TwiML instead (:mod:`adapters.twilio.gateway`).
* ``create_call``: ``POST .../Calls.json`` with ``To``, ``From``, ``Twiml`` (the same
  ``<Connect><Stream>``), ``StatusCallback`` and ``StatusCallbackEvent`` initiated, ringing,
  answered, completed.
* ``hang_up``: update with ``Status=completed``.
* ``transfer``: update with ``<Dial><Number>`` TwiML (:func:`adapters.twilio.twiml.dial`);
  the target's answer and the dial's end come back to ``/api/twilio/transfer``.

Errors: :func:`map_twilio_error` translates every exception the client raises into a port
error (most specific first, ``raise ... from exc``); transient ones (timeouts, 429, 5xx,
connection failures) are retried with tenacity (exponential backoff with jitter, bounded by a
deadline; :class:`adapters.resilience.retry.TransientRetry`, shared with the ACS adapters).
Twilio's REST error codes ("Twilio Error and Warning Dictionary",
https://www.twilio.com/docs/api/errors): 20003 authentication, 20404 not found, 21210/21211/
21212/21214/21215/21217 an unusable ``To``/``From`` number, 21220 a call that is not in progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from adapters.resilience.retry import RetryConfig, TransientRetry
from adapters.twilio.http_client import TwilioAsyncHttpClient
from adapters.twilio.paths import TRANSFER_PATH, http_url
from adapters.twilio.stream_tokens import TOKEN_PARAMETER, StreamTokens
from adapters.twilio.twiml import connect_stream, dial
from ports import (
    AuthenticationError,
    CallConnection,
    CallNotFoundError,
    IncomingCall,
    InvalidTargetError,
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

INVALID_NUMBER_CODES: Final = frozenset({21210, 21211, 21212, 21214, 21215, 21217})
"""Twilio error codes meaning the ``To`` or ``From`` number cannot be used."""

NOT_IN_PROGRESS_CODES: Final = frozenset({20404, 21220})
"""Twilio error codes meaning the call is gone (not found, not in progress)."""

STATUS_EVENTS: Final = ("initiated", "ringing", "answered", "completed")
"""``StatusCallbackEvent`` values asked for on outbound calls."""


def _from_rest(exc: TwilioRestException) -> ProviderError:
    status, code = int(exc.status or 0), exc.code
    message = f"Twilio answered HTTP {status} (code {code})"
    if status in (401, 403) or code == 20003:
        return AuthenticationError(message, port=PORT)
    if status == 404 or code in NOT_IN_PROGRESS_CODES:
        return CallNotFoundError(message, port=PORT)
    if code in INVALID_NUMBER_CODES:
        return InvalidTargetError(message, port=PORT)
    if status == 429:
        return RateLimitedError(message, port=PORT)
    if status in (408, 504):
        return ProviderTimeoutError(message, port=PORT)
    if status >= 500 or status == 0:
        return ProviderUnavailableError(message, port=PORT)
    return ProviderError(message, port=PORT)


_ERROR_MAP: Final[tuple[tuple[type[BaseException], Callable[[Any], ProviderError]], ...]] = (
    # Most specific first: subclasses before their bases.
    (TwilioRestException, _from_rest),
    (TwilioException, lambda e: ProviderError(f"Twilio client error: {e}", port=PORT)),
    (
        aiohttp.ServerTimeoutError,
        lambda e: ProviderTimeoutError("Twilio request timed out", port=PORT),
    ),
    (
        aiohttp.ClientConnectionError,
        lambda e: ProviderUnavailableError("Twilio could not be reached", port=PORT),
    ),
    (
        aiohttp.ClientResponseError,
        lambda e: ProviderUnavailableError(f"Twilio response failed: {e.status}", port=PORT),
    ),
    (
        aiohttp.ClientError,
        lambda e: ProviderUnavailableError("Twilio request failed", port=PORT),
    ),
    (TimeoutError, lambda e: ProviderTimeoutError("Twilio operation deadline passed", port=PORT)),
    (ValueError, lambda e: ProviderError("Twilio response could not be decoded", port=PORT)),
)

MAPPED_ERRORS: Final = frozenset(t for t, _ in _ERROR_MAP)
"""Exception classes with an explicit mapping (tests check the client's errors are here)."""


def map_twilio_error(exc: BaseException) -> ProviderError:
    """Translate an exception of the ``twilio`` client (or aiohttp, or a timeout).

    Returns:
        :class:`~ports.AuthenticationError` (401/403, code 20003),
        :class:`~ports.CallNotFoundError` (404, codes 20404 and 21220),
        :class:`~ports.InvalidTargetError` (an unusable number),
        :class:`~ports.RateLimitedError` (429), :class:`~ports.ProviderTimeoutError`
        (408/504, timeouts), :class:`~ports.ProviderUnavailableError` (5xx, connection
        failures) or a plain :class:`~ports.ProviderError`.
    """
    for error_type, factory in _ERROR_MAP:
        if isinstance(exc, error_type):
            return factory(exc)
    return ProviderError(f"unexpected error: {type(exc).__name__}", port=PORT)


def build_twilio_client(
    account_sid: str, auth_token: str, *, api_base_url: str = "", timeout_s: float = 10.0
) -> tuple[Client, TwilioAsyncHttpClient]:
    """A ``twilio`` REST client on the async HTTP client; call inside a running loop.

    Args:
        account_sid: ``AC...``.
        auth_token: The account's auth token (also the webhook signing key).
        api_base_url: ``http://127.0.0.1:PORT`` for the local emulator; empty for
            ``https://api.twilio.com``.
        timeout_s: Socket timeout of one request.

    Returns:
        The client and its HTTP client (close it with ``await http.close()``).
    """
    http = TwilioAsyncHttpClient(timeout_s)
    # An explicit environment: TWILIO_REGION/TWILIO_EDGE in os.environ would rewrite the host.
    client = Client(
        account_sid,
        auth_token,
        http_client=http,
        environment={"TWILIO_ACCOUNT_SID": account_sid},
    )
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")
    return client, http


def _phone(participant: Participant) -> str:
    if participant.kind is ParticipantKind.PHONE_NUMBER and participant.value:
        return participant.value
    if participant.raw_id.startswith("4:"):
        return participant.raw_id[2:]
    raise InvalidTargetError(
        f"Twilio calls phone numbers; {participant.kind.value} is not one", port=PORT
    )


class TwilioCallControl:
    """``ports.CallControl`` over the Twilio REST API.

    Args:
        client: The ``twilio`` client (built by :func:`build_twilio_client`).
        public_base_url: Base URL Twilio reaches Parley at (transfer callbacks).
        tokens: Issues the ``call_token`` stream parameter of every ``<Stream>``.
        from_number: Default caller id (E.164, a Twilio number) for outbound calls.
        retry: Retry and timeout settings.
        transfer_timeout_s: Ring time of a transfer target before ``no-answer``.
    """

    def __init__(
        self,
        client: Client,
        *,
        public_base_url: str,
        tokens: StreamTokens,
        from_number: str = "",
        retry: RetryConfig | None = None,
        transfer_timeout_s: int = 20,
    ) -> None:
        self._client = client
        self._base = public_base_url
        self._tokens = tokens
        self._from = from_number
        self._call = TransientRetry(
            retry or RetryConfig(),
            provider="Twilio",
            sdk_errors=(TwilioException, aiohttp.ClientError, TimeoutError, ValueError),
            translate=map_twilio_error,
        )
        self._transfer_timeout_s = transfer_timeout_s

    def _stream_twiml(self, media: MediaOptions) -> str:
        if not media.bidirectional:
            raise ProviderError("Parley streams bidirectionally (<Connect><Stream>)", port=PORT)
        return connect_stream(media.transport_url, {TOKEN_PARAMETER: self._tokens.issue()})

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        """Connect a ringing call to the media WebSocket (its TwiML becomes ``<Connect><Stream>``).

        ``call.incoming_call_context`` is the ``CallSid``.

        Raises:
            ProviderError: A subclass naming the failure.
        """
        call_sid = call.incoming_call_context
        twiml = self._stream_twiml(media)
        instance = await self._call(
            "answer",
            lambda: self._client.calls(call_sid).update_async(
                twiml=twiml, status_callback=callback_url
            ),
        )
        return CallConnection(str(instance.sid or call_sid), server_call_id=call.server_call_id)

    async def create_call(
        self,
        target: Participant,
        *,
        callback_url: str,
        media: MediaOptions,
        source_caller_id: str | None = None,
    ) -> CallConnection:
        """Place an outbound call whose TwiML is ``<Connect><Stream>``.

        Raises:
            InvalidTargetError: ``target`` is not a phone number, or Twilio refused it.
            ProviderError: A subclass naming the failure.
        """
        to = _phone(target)
        caller = source_caller_id or self._from
        if not caller:
            raise ProviderError("an outbound Twilio call needs a From number", port=PORT)
        twiml = self._stream_twiml(media)
        instance = await self._call(
            "create_call",
            lambda: self._client.calls.create_async(
                to=to,
                from_=caller,
                twiml=twiml,
                status_callback=callback_url,
                status_callback_event=list(STATUS_EVENTS),
                status_callback_method="POST",
            ),
        )
        return CallConnection(str(instance.sid))

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool = True) -> None:
        """End the call (``Status=completed``); Twilio has no "leave" for a two-party call.

        Raises:
            CallNotFoundError: The call has already ended.
        """
        await self._call(
            "hang_up",
            lambda: self._client.calls(call_connection_id).update_async(status="completed"),
        )

    async def transfer(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
    ) -> None:
        """Connect the caller to ``target`` with ``<Dial>`` (our media stream ends).

        The target's answer arrives as ``CallTransferAccepted``; a busy, unanswered or failed
        dial as ``CallTransferFailed``, after which the caller is streamed back to Parley.
        ``custom_context`` is not carried: a ``<Dial><Number>`` to the phone network has no
        custom headers (``<Dial><Sip>`` would).

        Raises:
            CallNotFoundError: The call has ended.
            InvalidTargetError: ``target`` is not a phone number.
        """
        to = _phone(target)
        context = operation_context or "transfer"
        twiml = dial(
            to,
            action=http_url(self._base, TRANSFER_PATH, event="ended", op=context),
            answered_callback=http_url(self._base, TRANSFER_PATH, event="answered", op=context),
            timeout_s=self._transfer_timeout_s,
        )
        await self._call(
            "transfer", lambda: self._client.calls(call_connection_id).update_async(twiml=twiml)
        )
