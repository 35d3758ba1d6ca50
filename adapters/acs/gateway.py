"""The ACS driving adapter: Event Grid webhook, Call Automation callbacks and the media socket.

Three endpoints, returned by :meth:`AcsGateway.routes` for the HTTP app's ``extra_routes``:

* ``POST /api/acs/events``: Event Grid (docs: "Webhook event delivery", "Azure Communication
  Services - voice and video events"). Answers the ``SubscriptionValidation`` handshake with
  ``{"validationResponse": code}``, takes arrays of events, answers each
  ``Microsoft.Communication.IncomingCall`` through ``ports.CallControl`` once per event id
  (delivery is at least once; a bounded TTL'd seen-set owned by this instance dedupes).
* ``POST /api/acs/callbacks``: Call Automation callbacks, a CloudEvents 1.0 array (docs:
  "Call Automation overview", "Handle Call Automation events"), parsed with
  ``azure.core.messaging.CloudEvent.from_dict`` and pydantic, mapped to ``ports.CallEvent`` and
  routed by ``callConnectionId`` through a :class:`~adapters.acs.router.CallEventRouter`.
* ``WS /ws/acs/media``: the media streaming WebSocket (docs: "Audio streaming quickstart",
  "Bidirectional audio streaming"); the call is handed to the core through
  ``ports.CallHandler.handle_call``.

Callbacks and the media upgrade carry ACS's RS256 JWT (docs: "How to secure webhook endpoint",
learn.microsoft.com/azure/communication-services/how-tos/call-automation/secure-webhook-endpoint),
checked by :class:`~adapters.acs.auth.AcsTokenValidator`: 401 on a bad callback token; on the
WebSocket a 401 denial response where the server supports it, else close 1008.

Both URLs given to ``answer_call`` also carry a per-call token (:mod:`adapters.acs.call_tokens`):
a callback without a token this deployment issued gets 403 and never reaches the router (so it
can neither end a live call nor make the router hang up a call at ACS), a callback whose token
was bound here to another call is ignored, and a media socket without one is refused like a bad
JWT. Boundaries (all in ``docs/acs.md``):

* Event Grid: at most ``max_events_per_delivery`` events per POST (413 beyond, JSON body
  ``{"error": "too_many_events", "max_events": N}``; Event Grid does not retry a 413 and
  retries a 503, docs: "Event Grid message delivery and retry",
  learn.microsoft.com/azure/event-grid/delivery-and-retry); IncomingCalls of one delivery are
  answered concurrently, at most ``answer_concurrency`` at a time; while the instance drains,
  a delivery holding an IncomingCall gets 503 and nothing is answered (Event Grid retries,
  reaching another instance).
* Media socket refusals, after the upgrade is accepted: close **1013** (Try Again Later) with
  reason ``server busy: ...`` or ``server draining: ...`` (counted in
  ``parley_calls_refused_total`` as ``busy``/``draining``), close
  **1008** (Policy Violation) with reason ``call already has a media stream`` for a second
  socket of a live call (counted as ``duplicate_media``).
* Drain timeout: the calls still live here are hung up through Call Automation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol
from urllib.parse import urlencode

from azure.core.messaging import CloudEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from adapters.acs.auth import AcsTokenValidator, TokenRejectedError, bearer_token
from adapters.acs.call_tokens import TOKEN_PARAM, CallTokens
from adapters.acs.media_codec import tone_to_digit
from adapters.acs.media_stream import AcsMediaStream
from adapters.acs.router import CallEventRouter
from adapters.outbound.calls import DialRequest, DialResult, OutboundTracker
from adapters.resilience.retry import TRANSIENT_ERRORS
from adapters.routing.expiring import TtlMap, TtlSet
from ports import (
    PCM16_16K,
    AudioFormat,
    CallControl,
    CallEvent,
    CallEventKind,
    CallHandler,
    CallInfo,
    CallMetrics,
    InboundCall,
    IncomingCall,
    MediaOptions,
    Participant,
    ParticipantKind,
    ProviderError,
)

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER: Final = 1013
"""Media socket refused: the instance is at its call limit or draining (RFC 6455 1013)."""

CLOSE_POLICY_VIOLATION: Final = 1008
"""Media socket refused: the call already has one (RFC 6455 1008, Policy Violation)."""

DUPLICATE_MEDIA_REASON: Final = "call already has a media stream"
"""Close reason sent with :data:`CLOSE_POLICY_VIOLATION` to a second socket of one call."""

_PARSE_ON_LOOP_BYTES: Final = 64 * 1024
_YIELD_EVERY: Final = 100

EVENTS_PATH: Final = "/api/acs/events"
CALLBACKS_PATH: Final = "/api/acs/callbacks"
MEDIA_PATH: Final = "/ws/acs/media"

VALIDATION_EVENT: Final = "Microsoft.EventGrid.SubscriptionValidationEvent"
INCOMING_CALL_EVENT: Final = "Microsoft.Communication.IncomingCall"

CALLBACK_KINDS: Final[Mapping[str, CallEventKind]] = MappingProxyType(
    {
        f"Microsoft.Communication.{kind.value}": kind
        for kind in CallEventKind
        if kind is not CallEventKind.CALL_LOST
    }
)
"""CloudEvent ``type`` -> call event kind, for every Call Automation event Parley acts on."""


# --------------------------------------------------------------------------- payload models


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PhoneNumberModel(_Model):
    """``phoneNumber`` of a ``CommunicationIdentifierModel``."""

    value: str = ""


class CommunicationUserModel(_Model):
    """``communicationUser`` of a ``CommunicationIdentifierModel``."""

    id: str = ""


class IdentifierModel(_Model):
    """``CommunicationIdentifierModel`` (``to``/``from`` of IncomingCall, participants)."""

    kind: str = ""
    raw_id: str = Field(default="", alias="rawId")
    phone_number: PhoneNumberModel | None = Field(default=None, alias="phoneNumber")
    communication_user: CommunicationUserModel | None = Field(
        default=None, alias="communicationUser"
    )

    def to_participant(self) -> Participant:
        """The port value for this identifier."""
        if self.phone_number is not None or self.kind == "phoneNumber":
            number = self.phone_number.value if self.phone_number else self.raw_id[2:]
            return Participant(self.raw_id or f"4:{number}", ParticipantKind.PHONE_NUMBER, number)
        if self.communication_user is not None or self.kind == "communicationUser":
            user = self.communication_user.id if self.communication_user else self.raw_id
            return Participant(self.raw_id or user, ParticipantKind.COMMUNICATION_USER, user)
        return Participant(self.raw_id)


class EventGridEvent(_Model):
    """One Event Grid schema event (docs: "Event Grid event schema")."""

    id: str
    event_type: str = Field(alias="eventType")
    subject: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class CloudEventEnvelope(_Model):
    """The CloudEvents 1.0 attributes a callback must have (checked before ``from_dict``)."""

    id: str
    source: str
    type: str
    specversion: str = "1.0"


class IncomingCallData(_Model):
    """``data`` of ``Microsoft.Communication.IncomingCall``."""

    to: IdentifierModel
    from_: IdentifierModel = Field(alias="from")
    server_call_id: str = Field(default="", alias="serverCallId")
    caller_display_name: str = Field(default="", alias="callerDisplayName")
    incoming_call_context: str = Field(alias="incomingCallContext", min_length=1)
    correlation_id: str = Field(default="", alias="correlationId")


class ResultInformationModel(_Model):
    """``resultInformation`` of a callback."""

    code: int = 0
    sub_code: int = Field(default=0, alias="subCode")
    message: str = ""


class DtmfResultModel(_Model):
    """``dtmfResult`` of ``RecognizeCompleted`` (tone names such as ``"nine"``)."""

    tones: list[str] = Field(default_factory=list)


class ParticipantModel(_Model):
    """One entry of ``ParticipantsUpdated.participants``."""

    identifier: IdentifierModel | None = None


class CallbackData(_Model):
    """``data`` of a Call Automation CloudEvent (the fields Parley reads)."""

    call_connection_id: str = Field(alias="callConnectionId", min_length=1)
    server_call_id: str = Field(default="", alias="serverCallId")
    correlation_id: str = Field(default="", alias="correlationId")
    operation_context: str | None = Field(default=None, alias="operationContext")
    result_information: ResultInformationModel | None = Field(
        default=None, alias="resultInformation"
    )
    dtmf_result: DtmfResultModel | None = Field(default=None, alias="dtmfResult")
    participants: list[ParticipantModel] = Field(default_factory=list)


def callback_to_event(event_type: str, data: Any) -> CallEvent | None:
    """Map one callback CloudEvent to a :class:`~ports.CallEvent`.

    Args:
        event_type: CloudEvent ``type`` (``Microsoft.Communication.CallConnected``...).
        data: CloudEvent ``data``.

    Returns:
        The call event, or ``None`` for an event type Parley does not act on.

    Raises:
        ValidationError: ``data`` lacks ``callConnectionId`` or has the wrong shape.
    """
    kind = CALLBACK_KINDS.get(event_type)
    if kind is None:
        return None
    parsed = CallbackData.model_validate(data)
    result = parsed.result_information or ResultInformationModel()
    tones: tuple[str, ...] = ()
    if parsed.dtmf_result is not None:
        tones = tuple(d for d in (tone_to_digit(t) for t in parsed.dtmf_result.tones) if d)
    participants = tuple(
        p.identifier.raw_id for p in parsed.participants if p.identifier is not None
    )
    return CallEvent(
        kind=kind,
        call_connection_id=parsed.call_connection_id,
        operation_context=parsed.operation_context or "",
        result_code=result.code,
        result_sub_code=result.sub_code,
        message=result.message,
        tones=tones,
        participants=participants,
    )


# --------------------------------------------------------------------------- small parts


class CallAdmission(Protocol):
    """Per-process call admission (the HTTP app's), seen structurally.

    Optional members, used when present: ``draining`` (bool), ``on_drain_timeout(hook)``
    (register an async hook run when the drain times out). A refusal raised by ``acquire``
    may carry ``reason`` (metric label) and ``detail`` (close reason).
    """

    def acquire(self) -> None:
        """Take a call slot; raises when busy or draining."""
        ...

    def release(self) -> None:
        """Give the slot back."""
        ...


@dataclass(slots=True)
class _PendingCall:
    """A call we are answering: media may connect before the answer returns."""

    incoming: IncomingCall
    answered: asyncio.Future[str]


def _stop_waiting(token: str, pending: _PendingCall) -> None:
    """A pending call forgotten before its answer: media sockets waiting on it give up."""
    if not pending.answered.done():
        pending.answered.cancel()


@dataclass(frozen=True, slots=True)
class AcsGatewayConfig:
    """How the ACS endpoints behave.

    Attributes:
        public_base_url: Base URL ACS reaches us at (``https://parley.example.com``); the
            callback URL and the media ``transportUrl`` (``wss://...``) are built from it.
        media_format: Negotiated audio format (``pcm16KMono`` = 16 kHz, ``pcm24KMono`` = 24 kHz).
        verify_tokens: Check ACS JWTs on callbacks and the media upgrade.
        webhook_key: When set, Event Grid posts must carry it (``?code=`` query parameter or
            ``x-parley-webhook-key`` header); the subscription URL includes it.
        dedupe_ttl_s: How long an Event Grid event id is remembered, seconds.
        dedupe_max: Most event ids remembered.
        answer_wait_s: How long the media socket waits for the answer of its call, seconds.
        idle_timeout_s: Close a media socket silent for this long, seconds.
        max_body_bytes: Largest webhook/callback body accepted, bytes.
        call_token_key: HMAC key of the per-call URL tokens, shared by the deployment's
            instances; None for a random key (callbacks bound to this process).
        max_events_per_delivery: Most Event Grid events in one POST; more gets 413. Keep the
            subscription's ``maxEventsPerBatch`` at or below it.
        answer_concurrency: Most IncomingCalls of one instance being answered at once.
        hang_up_timeout_s: Deadline of each Call Automation hang-up at drain timeout, s.
    """

    public_base_url: str
    media_format: AudioFormat = PCM16_16K
    verify_tokens: bool = True
    webhook_key: str | None = None
    dedupe_ttl_s: float = 600.0
    dedupe_max: int = 10_000
    answer_wait_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_body_bytes: int = 1024 * 1024
    call_token_key: bytes | None = None
    max_events_per_delivery: int = 1000
    answer_concurrency: int = 16
    hang_up_timeout_s: float = 5.0

    @property
    def media_base_url(self) -> str:
        """``ws(s)://`` form of :attr:`public_base_url`."""
        base = self.public_base_url.rstrip("/")
        if base.startswith("https://"):
            return "wss://" + base[len("https://") :]
        if base.startswith("http://"):
            return "ws://" + base[len("http://") :]
        return base


class AcsGateway:
    """The three ACS endpoints of one app instance, with their state (no module state).

    Args:
        config: Endpoint behaviour.
        call_control: Answers offered calls.
        handler: The core's driving port; runs each call.
        router: Routes callback events to live calls.
        validator: Checks ACS JWTs; required when ``config.verify_tokens``.
        metrics: Counts dropped media frames; optional.
        admission: Shared per-process call admission (``acquire()`` raising when busy or
            draining, ``release()``); optional. A refused media socket is closed with 1013.
        clock: Monotonic seconds (dedupe TTL).

    Raises:
        ValueError: ``verify_tokens`` is on and no validator was given.
    """

    def __init__(
        self,
        config: AcsGatewayConfig,
        *,
        call_control: CallControl,
        handler: CallHandler,
        router: CallEventRouter,
        validator: AcsTokenValidator | None = None,
        metrics: CallMetrics | None = None,
        admission: CallAdmission | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.verify_tokens and validator is None:
            raise ValueError("ACS token verification is on but no validator was configured")
        self.config = config
        self._call_control = call_control
        self._handler = handler
        self.router = router
        self._validator = validator if config.verify_tokens else None
        self._metrics = metrics
        self._admission = admission
        self._clock = clock
        self._seen = TtlSet(ttl_s=config.dedupe_ttl_s, max_size=config.dedupe_max, clock=clock)
        # Calls being answered, by call token; one forgotten unanswered stops its waiters.
        self._pending: TtlMap[_PendingCall] = TtlMap(
            ttl_s=config.dedupe_ttl_s,
            max_size=config.dedupe_max,
            clock=clock,
            on_evict=_stop_waiting,
        )
        self.call_tokens = CallTokens(config.call_token_key, max_bound=config.dedupe_max)
        self._answer_slots = asyncio.Semaphore(config.answer_concurrency)
        self._media_calls: set[str] = set()
        self.outbound = OutboundTracker(max_calls=config.dedupe_max)
        self.answered_calls = 0
        self.active_media = 0
        register = getattr(admission, "on_drain_timeout", None)
        if callable(register):
            register(self.hang_up_live_calls)

    def routes(self) -> list[BaseRoute]:
        """Starlette routes: POST /api/acs/events, POST /api/acs/callbacks, WS /ws/acs/media."""
        return [
            Route(EVENTS_PATH, self.handle_events, methods=["POST"]),
            Route(CALLBACKS_PATH, self.handle_callbacks, methods=["POST"]),
            WebSocketRoute(MEDIA_PATH, self.handle_media),
        ]

    # ------------------------------------------------------------------ helpers

    async def _json_body(self, request: Request) -> tuple[Any, Response | None]:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.config.max_body_bytes:
            return None, JSONResponse({"error": "body too large"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.config.max_body_bytes:
                return None, JSONResponse({"error": "body too large"}, status_code=413)
        try:
            if len(body) > _PARSE_ON_LOOP_BYTES:
                # A 1 MiB body takes milliseconds to parse: not on the loop.
                return await asyncio.to_thread(json.loads, bytes(body)), None
            return json.loads(body), None
        except (ValueError, RecursionError):
            return None, JSONResponse({"error": "body is not JSON"}, status_code=400)

    def _draining(self) -> bool:
        return bool(getattr(self._admission, "draining", False))

    def _count_refused(self, reason: str) -> None:
        count = getattr(self._metrics, "call_refused", None)
        if callable(count):
            count(reason)

    def _webhook_key_ok(self, request: Request) -> bool:
        expected = self.config.webhook_key
        if not expected:
            return True
        given = request.query_params.get("code") or request.headers.get("x-parley-webhook-key", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    # ------------------------------------------------------------------ Event Grid

    async def handle_events(self, request: Request) -> Response:
        """``POST /api/acs/events``: Event Grid validation and ``IncomingCall``."""
        if not self._webhook_key_ok(request):
            logger.warning("Event Grid post refused: bad or missing webhook key")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body, error = await self._json_body(request)
        if error is not None:
            return error
        items = body if isinstance(body, list) else [body]
        cap = self.config.max_events_per_delivery
        if len(items) > cap:
            logger.warning("Event Grid post refused: %d events, at most %d", len(items), cap)
            return JSONResponse(
                {
                    "error": "too_many_events",
                    "detail": f"at most {cap} events per delivery; set the subscription's"
                    f" maxEventsPerBatch to {cap} or less",
                    "max_events": cap,
                },
                status_code=413,
            )
        events: list[EventGridEvent] = []
        shape_errors = 0
        for index, item in enumerate(items):
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let other calls' frames through on a big delivery
            try:
                events.append(EventGridEvent.model_validate(item))
            except ValidationError:
                shape_errors += 1
        if shape_errors:
            logger.warning("Event Grid delivery: %d event(s) ignored (shape errors)", shape_errors)
        incoming: list[EventGridEvent] = []
        others: Counter[str] = Counter()
        for event in events:
            if event.event_type == VALIDATION_EVENT:
                code = event.data.get("validationCode")
                if not isinstance(code, str):
                    return JSONResponse({"error": "no validationCode"}, status_code=400)
                logger.info("Event Grid subscription validated")
                return JSONResponse({"validationResponse": code})
            if event.event_type == INCOMING_CALL_EVENT:
                incoming.append(event)
            else:
                others[event.event_type] += 1
        for event_type, count in others.items():
            logger.info("Event Grid: %d %s event(s) acknowledged, not handled", count, event_type)
        if incoming and self._draining():
            # Not answered: Event Grid retries the delivery, which reaches another instance.
            logger.warning(
                "Event Grid delivery with %d IncomingCall(s) refused: draining", len(incoming)
            )
            return JSONResponse(
                {"error": "draining", "detail": "this instance is shutting down; retry"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        status = await self._answer_all(incoming, _traceparent(request.headers))
        if status >= 500:
            return JSONResponse({"error": "answer failed, retry"}, status_code=status)
        return Response(status_code=200)

    async def _answer_all(self, incoming: list[EventGridEvent], traceparent: str = "") -> int:
        """Answer a delivery's IncomingCalls, at most ``answer_concurrency`` at once.

        A few workers take the events in order (not one task per event); the slots are shared
        by concurrent deliveries. Returns the worst HTTP status (503 when a retry is needed).
        """
        pending = iter(incoming)
        worst = 200

        async def worker() -> None:
            nonlocal worst
            for event in pending:
                async with self._answer_slots:
                    worst = max(worst, await self._incoming_call(event, traceparent))

        workers = min(len(incoming), self.config.answer_concurrency)
        await asyncio.gather(*(worker() for _ in range(workers)))
        return worst

    async def _incoming_call(self, event: EventGridEvent, traceparent: str = "") -> int:
        if not self._seen.add(event.id):
            logger.info("duplicate IncomingCall delivery %s ignored", event.id)
            return 200
        try:
            data = IncomingCallData.model_validate(event.data)
        except ValidationError as exc:
            logger.warning("IncomingCall ignored: %d shape errors", exc.error_count())
            return 200
        incoming = IncomingCall(
            incoming_call_context=data.incoming_call_context,
            caller=data.from_.to_participant(),
            callee=data.to.to_participant(),
            server_call_id=data.server_call_id,
            correlation_id=data.correlation_id,
            caller_display_name=data.caller_display_name,
            traceparent=traceparent,
        )
        token = self.call_tokens.issue()
        loop = asyncio.get_running_loop()
        pending = _PendingCall(incoming, loop.create_future())
        self._pending.put(token, pending)
        callback_url, media = self._call_urls(token)
        try:
            connection = await self._call_control.answer(
                incoming, callback_url=callback_url, media=media
            )
        except ProviderError as exc:
            self._pending.pop(token)
            pending.answered.cancel()
            logger.error("answering call %s failed: %s", data.correlation_id, exc.code)
            if isinstance(exc, TRANSIENT_ERRORS):
                self._seen.discard(event.id)  # let Event Grid's redelivery try again
                return 503
            return 200
        pending.answered.set_result(connection.call_connection_id)
        self.call_tokens.bind(token, connection.call_connection_id)
        self.answered_calls += 1
        logger.info(
            "answered call %s (correlation %s)",
            connection.call_connection_id,
            connection.correlation_id,
        )
        return 200

    async def place_call(self, request: DialRequest) -> asyncio.Future[DialResult]:
        """Place an outbound call (``create_call``) whose media comes to this gateway.

        The callback and media URLs carry a call token as an answer's do. The future resolves
        with the call's result (:class:`~adapters.outbound.OutboundTracker`): busy, no answer
        and the like from ``CreateCallFailed``; completed or voicemail when its conversation
        ends here.

        Raises:
            ProviderError: ``create_call`` was refused (``InvalidTargetError`` for a number
                ACS refused).
        """
        target = Participant.parse(request.to)
        source = Participant.phone(request.caller_id) if request.caller_id else Participant("")
        token = self.call_tokens.issue()
        pending = _PendingCall(
            IncomingCall("outbound", caller=target, callee=source),
            asyncio.get_running_loop().create_future(),
        )
        self._pending.put(token, pending)
        callback_url, media = self._call_urls(token)
        try:
            connection = await self._call_control.create_call(
                target,
                callback_url=callback_url,
                media=media,
                source_caller_id=request.caller_id or None,
            )
        except ProviderError:
            self._pending.pop(token)
            pending.answered.cancel()
            raise
        call_id = connection.call_connection_id
        result = self.outbound.expect(call_id, request)
        pending.answered.set_result(call_id)
        self.call_tokens.bind(token, call_id)
        logger.info("placed outbound call %s (request %s)", call_id, request.id)
        return result

    def _call_urls(self, token: str) -> tuple[str, MediaOptions]:
        """The callback URL and media options of a call answered or placed with ``token``."""
        query = urlencode({TOKEN_PARAM: token})
        base = self.config.public_base_url.rstrip("/")
        media = MediaOptions(
            transport_url=f"{self.config.media_base_url}{MEDIA_PATH}?{query}",
            format=self.config.media_format,
            bidirectional=True,
            dtmf=True,
        )
        return f"{base}{CALLBACKS_PATH}?{query}", media

    # ------------------------------------------------------------------ callbacks

    async def _authorized(self, headers: Any) -> str | None:
        """None when the request's ACS token is good (or checks are off), else the reason."""
        if self._validator is None:
            return None
        try:
            await self._validator.validate(bearer_token(headers))
        except TokenRejectedError as exc:
            return exc.reason
        return None

    async def handle_callbacks(self, request: Request) -> Response:
        """``POST /api/acs/callbacks``: CloudEvents to call events, routed by call id."""
        reason = await self._authorized(request.headers)
        if reason is not None:
            logger.warning("ACS callback refused: token %s", reason)
            return JSONResponse({"error": "unauthorized", "reason": reason}, status_code=401)
        token = request.query_params.get(TOKEN_PARAM, "")
        if not self.call_tokens.verify(token):
            # Not a URL this deployment gave to answer_call: nothing in it may reach a call.
            logger.warning("ACS callback refused: no call token issued by this deployment")
            return JSONResponse(
                {"error": "unknown_call", "detail": "callback URL not issued by this deployment"},
                status_code=403,
            )
        bound = self.call_tokens.call_for(token)
        body, error = await self._json_body(request)
        if error is not None:
            return error
        items = body if isinstance(body, list) else [body]
        for item in items:
            if not isinstance(item, dict):
                logger.warning("ACS callback item is not an object; ignored")
                continue
            try:
                CloudEventEnvelope.model_validate(item)
                cloud_event: CloudEvent[Any] = CloudEvent.from_dict(item)
            except (ValidationError, ValueError, KeyError, TypeError) as exc:
                logger.warning("ACS callback is not a CloudEvent (%s); ignored", type(exc).__name__)
                continue
            try:
                event = callback_to_event(cloud_event.type, cloud_event.data)
            except ValidationError as exc:
                logger.warning(
                    "ACS callback %s ignored: %d shape errors", cloud_event.type, exc.error_count()
                )
                continue
            if event is None:
                logger.info("ACS callback %s acknowledged, not handled", cloud_event.type)
                continue
            if bound is not None and event.call_connection_id != bound:
                logger.warning(
                    "ACS callback %s names call %s but its token is call %s's; ignored",
                    cloud_event.type,
                    event.call_connection_id,
                    bound,
                )
                continue
            self.outbound.observe(event)
            outcome = await self.router.deliver(event)
            logger.debug(
                "callback %s for %s: %s",
                event.kind,
                event.call_connection_id,
                outcome if isinstance(outcome, str) else ("delivered" if outcome else "held"),
            )
        return Response(status_code=200)

    # ------------------------------------------------------------------ media

    async def _reject_socket(self, websocket: WebSocket, reason: str) -> None:
        logger.warning("ACS media connection refused: %s", reason)
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(
                JSONResponse({"error": "unauthorized", "reason": reason}, status_code=401)
            )
        else:
            await websocket.close(code=1008, reason=reason[:100])

    async def _call_id_for(
        self, websocket: WebSocket, token: str
    ) -> tuple[str, IncomingCall | None] | None:
        header_id = websocket.headers.get("x-ms-call-connection-id", "")
        pending = self._pending.get(token)
        if pending is None:
            bound = self.call_tokens.call_for(token)
            if bound is not None:
                return bound, None  # answered here; the token names the call, not the header
            # Answered by another instance of this deployment (the token's MAC is ours): the
            # ACS header names the call.
            return (header_id, None) if header_id else None
        try:
            async with asyncio.timeout(self.config.answer_wait_s):
                call_id = await asyncio.shield(pending.answered)
        except (TimeoutError, asyncio.CancelledError):
            return (header_id, pending.incoming) if header_id else None
        return call_id, pending.incoming

    async def handle_media(self, websocket: WebSocket) -> None:
        """``WS /ws/acs/media``: authenticate, find the call, hand it to the core."""
        reason = await self._authorized(websocket.headers)
        if reason is not None:
            await self._reject_socket(websocket, f"token {reason}")
            return
        token = websocket.query_params.get(TOKEN_PARAM, "")
        if not self.call_tokens.verify(token):
            await self._reject_socket(websocket, "unknown call")
            return
        # The slot is taken before waiting for the answer or the first metadata message, so
        # sockets that have not started yet count against the concurrent-call limit too.
        if self._admission is not None:
            try:
                self._admission.acquire()
            except Exception as exc:
                await self._refuse_busy(websocket, exc)
                return
        try:
            await self._media_for(websocket, token)
        finally:
            if self._admission is not None:
                self._admission.release()

    async def _refuse_busy(self, websocket: WebSocket, exc: Exception) -> None:
        label = str(getattr(exc, "reason", "busy"))
        detail = str(getattr(exc, "detail", exc))
        logger.warning("ACS media connection refused: %s", detail)
        self._count_refused(label)
        await websocket.accept()
        await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=detail[:120])

    async def _media_for(self, websocket: WebSocket, token: str) -> None:
        found = await self._call_id_for(websocket, token)
        if found is None:
            await self._reject_socket(websocket, "unknown call")
            return
        call_id, incoming = found
        if call_id in self._media_calls:
            logger.warning("second ACS media socket for call %s refused", call_id)
            self._count_refused("duplicate_media")
            await websocket.accept()
            await websocket.close(code=CLOSE_POLICY_VIOLATION, reason=DUPLICATE_MEDIA_REASON)
            return
        self._media_calls.add(call_id)
        try:
            await self._run_media(websocket, call_id, incoming)
        finally:
            self._media_calls.discard(call_id)

    @property
    def live_calls(self) -> frozenset[str]:
        """Call connection ids with a media socket open on this instance."""
        return frozenset(self._media_calls)

    async def hang_up_live_calls(self) -> None:
        """Hang up, through Call Automation, every call with media here (drain timeout).

        Each hang-up has a ``hang_up_timeout_s`` deadline; failures are logged, never raised.
        Only calls this deployment answered have a media socket here (their URL token).
        """
        calls = sorted(self._media_calls)
        if calls:
            logger.warning("drain timeout: hanging up %d ACS call(s) at ACS", len(calls))

        async def hang_up(call_id: str) -> None:
            try:
                async with asyncio.timeout(self.config.hang_up_timeout_s):
                    await self._call_control.hang_up(call_id, for_everyone=True)
            except (ProviderError, TimeoutError) as exc:
                logger.warning("hang-up of call %s at drain timeout failed: %r", call_id, exc)

        await asyncio.gather(*(hang_up(c) for c in calls))

    async def _run_media(
        self, websocket: WebSocket, call_id: str, incoming: IncomingCall | None
    ) -> None:
        await websocket.accept()
        stream = AcsMediaStream(
            websocket,
            call_id=call_id,
            default_format=self.config.media_format,
            metrics=self._metrics,
            idle_timeout_s=self.config.idle_timeout_s,
        )
        feed = await self.router.open(call_id)
        placed = self.outbound.request_for(call_id)
        info = CallInfo(
            call_id=call_id,
            channel="acs",
            direction="outbound" if placed is not None else "inbound",
            start_agent=placed.agent if placed is not None else "",
            variables=placed.variables if placed is not None else (),
            caller=incoming.caller.value or incoming.caller.raw_id if incoming else "",
            callee=incoming.callee.value or incoming.callee.raw_id if incoming else "",
            correlation_id=websocket.headers.get("x-ms-call-correlation-id", "")
            or (incoming.correlation_id if incoming else ""),
            telephony=True,
            traceparent=_traceparent(websocket.headers)
            or (incoming.traceparent if incoming else ""),
        )
        self.active_media += 1
        end_reason = "error"
        try:
            summary = await self._handler.handle_call(
                InboundCall(info=info, media=stream, call_events=aiter(feed), observer=None)
            )
            end_reason = summary.end_reason
            logger.info("call %s ended: %s", call_id, summary.end_reason)
        except Exception:
            logger.exception("call %s failed in the core", call_id)
        finally:
            self.outbound.finished(call_id, end_reason)
            self.active_media -= 1
            await feed.aclose()
            with contextlib.suppress(Exception):
                await stream.close()
            for token, pending in self._pending.items():
                answered = pending.answered
                if answered.done() and not answered.cancelled() and answered.result() == call_id:
                    self._pending.pop(token)


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def _traceparent(headers: Any) -> str:
    """A well-formed W3C ``traceparent`` header value, else "".

    Format: "Trace Context", https://www.w3.org/TR/trace-context/#traceparent-header .
    """
    value = str(headers.get("traceparent", "")).strip().lower()
    return value if _TRACEPARENT.match(value) else ""


def acs_routes(gateway: AcsGateway) -> Sequence[BaseRoute]:
    """The ACS routes for ``adapters.http.build_app(extra_routes=...)``."""
    return gateway.routes()
