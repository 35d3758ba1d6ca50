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
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
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
from adapters.acs.call_control import TRANSIENT_ERRORS
from adapters.acs.media_codec import tone_to_digit
from adapters.acs.media_stream import AcsMediaStream
from adapters.acs.router import CallEventRouter
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
    """Per-process call admission (the HTTP app's), seen structurally."""

    def acquire(self) -> None:
        """Take a call slot; raises when busy or draining."""
        ...

    def release(self) -> None:
        """Give the slot back."""
        ...


class TtlSet:
    """A bounded set of strings whose members expire (the Event Grid dedupe memory).

    Args:
        ttl_s: How long a member is remembered, seconds.
        max_size: Most members; the oldest go first.
        clock: Monotonic seconds.
    """

    def __init__(
        self, *, ttl_s: float, max_size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, float] = OrderedDict()
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock

    def _expire(self, now: float) -> None:
        while self._items:
            key, deadline = next(iter(self._items.items()))
            if deadline > now and len(self._items) <= self._max_size:
                break
            del self._items[key]

    def add(self, key: str) -> bool:
        """Remember ``key``; False when it was already there (a duplicate)."""
        now = self._clock()
        self._expire(now)
        if key in self._items:
            return False
        self._items[key] = now + self._ttl_s
        self._expire(now)
        return True

    def discard(self, key: str) -> None:
        """Forget ``key`` (so a redelivery is handled again)."""
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class _PendingCall:
    """A call we are answering: media may connect before the answer returns."""

    incoming: IncomingCall
    answered: asyncio.Future[str]
    deadline: float


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
        self._pending: OrderedDict[str, _PendingCall] = OrderedDict()
        self.answered_calls = 0
        self.active_media = 0

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
            return json.loads(body), None
        except (ValueError, RecursionError):
            return None, JSONResponse({"error": "body is not JSON"}, status_code=400)

    def _webhook_key_ok(self, request: Request) -> bool:
        expected = self.config.webhook_key
        if not expected:
            return True
        given = request.query_params.get("code") or request.headers.get("x-parley-webhook-key", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def _expire_pending(self) -> None:
        now = self._clock()
        while self._pending:
            token, pending = next(iter(self._pending.items()))
            if pending.deadline > now and len(self._pending) <= self.config.dedupe_max:
                break
            del self._pending[token]
            if not pending.answered.done():
                pending.answered.cancel()

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
        status = 200
        for item in items:
            try:
                event = EventGridEvent.model_validate(item)
            except ValidationError as exc:
                logger.warning("Event Grid event ignored: %d shape errors", exc.error_count())
                continue
            if event.event_type == VALIDATION_EVENT:
                code = event.data.get("validationCode")
                if not isinstance(code, str):
                    return JSONResponse({"error": "no validationCode"}, status_code=400)
                logger.info("Event Grid subscription validated")
                return JSONResponse({"validationResponse": code})
            if event.event_type == INCOMING_CALL_EVENT:
                status = max(
                    status, await self._incoming_call(event, _traceparent(request.headers))
                )
            else:
                logger.info("Event Grid event %s acknowledged, not handled", event.event_type)
        if status >= 500:
            return JSONResponse({"error": "answer failed, retry"}, status_code=status)
        return Response(status_code=200)

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
        token = secrets.token_urlsafe(18)
        loop = asyncio.get_running_loop()
        self._expire_pending()
        pending = _PendingCall(
            incoming, loop.create_future(), self._clock() + self.config.dedupe_ttl_s
        )
        self._pending[token] = pending
        query = urlencode({"session": token})
        base = self.config.public_base_url.rstrip("/")
        media = MediaOptions(
            transport_url=f"{self.config.media_base_url}{MEDIA_PATH}?{query}",
            format=self.config.media_format,
            bidirectional=True,
            dtmf=True,
        )
        try:
            connection = await self._call_control.answer(
                incoming, callback_url=f"{base}{CALLBACKS_PATH}?{query}", media=media
            )
        except ProviderError as exc:
            self._pending.pop(token, None)
            pending.answered.cancel()
            logger.error("answering call %s failed: %s", data.correlation_id, exc.code)
            if isinstance(exc, TRANSIENT_ERRORS):
                self._seen.discard(event.id)  # let Event Grid's redelivery try again
                return 503
            return 200
        pending.answered.set_result(connection.call_connection_id)
        self.answered_calls += 1
        logger.info(
            "answered call %s (correlation %s)",
            connection.call_connection_id,
            connection.correlation_id,
        )
        return 200

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

    async def _call_id_for(self, websocket: WebSocket) -> tuple[str, IncomingCall | None] | None:
        header_id = websocket.headers.get("x-ms-call-connection-id", "")
        token = websocket.query_params.get("session", "")
        pending = self._pending.get(token) if token else None
        if pending is None:
            # Answered by another instance, or an unknown session: the ACS header still names
            # the call (the token check above already proved the peer is ACS).
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
        found = await self._call_id_for(websocket)
        if found is None:
            await self._reject_socket(websocket, "unknown call")
            return
        call_id, incoming = found
        if self._admission is not None:
            try:
                self._admission.acquire()
            except Exception as exc:
                logger.warning("ACS call %s refused: %s", call_id, exc)
                await websocket.accept()
                await websocket.close(code=1013, reason="server busy")
                return
        try:
            await self._run_media(websocket, call_id, incoming)
        finally:
            if self._admission is not None:
                self._admission.release()

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
        info = CallInfo(
            call_id=call_id,
            channel="acs",
            caller=incoming.caller.value or incoming.caller.raw_id if incoming else "",
            callee=incoming.callee.value or incoming.callee.raw_id if incoming else "",
            correlation_id=websocket.headers.get("x-ms-call-correlation-id", "")
            or (incoming.correlation_id if incoming else ""),
            telephony=True,
            traceparent=_traceparent(websocket.headers)
            or (incoming.traceparent if incoming else ""),
        )
        self.active_media += 1
        try:
            summary = await self._handler.handle_call(
                InboundCall(info=info, media=stream, call_events=aiter(feed), observer=None)
            )
            logger.info("call %s ended: %s", call_id, summary.end_reason)
        except Exception:
            logger.exception("call %s failed in the core", call_id)
        finally:
            self.active_media -= 1
            await feed.aclose()
            with contextlib.suppress(Exception):
                await stream.close()
            for token, pending in list(self._pending.items()):
                answered = pending.answered
                if answered.done() and not answered.cancelled() and answered.result() == call_id:
                    del self._pending[token]


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
