"""The Twilio driving adapter: the Voice webhook, call status callbacks and the media socket.

Four endpoints, returned by :meth:`TwilioGateway.routes` for the HTTP app's ``extra_routes``:

* ``POST /api/twilio/voice``: the phone number's Voice webhook ("A call comes in"). Answers
  with ``<Connect><Stream url="wss://.../ws/twilio/media">`` carrying a ``call_token``
  ``<Parameter>`` ("TwiML Voice: <Stream>", https://www.twilio.com/docs/voice/twiml/stream).
* ``POST /api/twilio/status``: call status callbacks ("Call resource", ``StatusCallback``:
  https://www.twilio.com/docs/voice/api/call-resource#statuscallback), mapped to
  ``ports.CallEvent`` (:func:`status_to_event`) and routed by ``CallSid``.
* ``POST /api/twilio/transfer``: a transfer's ``<Number statusCallback>`` (``event=answered``)
  and ``<Dial action>`` (``event=ended``, with ``DialCallStatus``; "TwiML Voice: <Dial>",
  https://www.twilio.com/docs/voice/twiml/dial). A failed dial is answered with
  ``<Connect><Stream>`` again, so the caller comes back to the agent (the call's session
  resumes on the new stream).
* ``WS /ws/twilio/media``: the Media Streams socket ("Media Streams - WebSocket Messages",
  https://www.twilio.com/docs/voice/media-streams/websocket-messages); once ``start`` names the
  call and carries a token we issued, the call is handed to the core through
  ``ports.CallHandler.handle_call``.

Every webhook and callback must carry a valid ``X-Twilio-Signature`` ("Webhooks security",
https://www.twilio.com/docs/usage/webhooks/webhooks-security), checked with the ``twilio``
package's ``RequestValidator`` over the public URL Twilio requested and the form fields: 403
otherwise. Signature checks are on by default; turning them off is for offline use only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from twilio.request_validator import RequestValidator

from adapters.outbound.calls import DialRequest, DialResult, OutboundTracker
from adapters.twilio.media_stream import TWILIO_PCM_FORMAT, TwilioMediaStream
from adapters.twilio.paths import (
    MEDIA_PATH,
    STATUS_PATH,
    TRANSFER_PATH,
    VOICE_PATH,
    http_url,
    media_url,
)
from adapters.twilio.stream_tokens import TOKEN_PARAMETER, StreamTokens
from adapters.twilio.twiml import connect_stream, hang_up
from ports import (
    CallControl,
    CallEvent,
    CallEventKind,
    CallHandler,
    CallInfo,
    CallMetrics,
    InboundCall,
    MediaOptions,
    Participant,
    ProviderError,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "x-twilio-signature"
TWIML: Final = "application/xml"

CLOSE_TRY_AGAIN_LATER: Final = 1013
"""Media socket refused: the instance is at its call limit or draining (RFC 6455 1013)."""

CLOSE_POLICY_VIOLATION: Final = 1008
"""Media socket refused: no valid stream token, or a second socket for a live call."""

CALL_STATUS_RESULTS: Final[Mapping[str, tuple[CallEventKind, int]]] = MappingProxyType(
    {
        "in-progress": (CallEventKind.CALL_CONNECTED, 200),
        "completed": (CallEventKind.CALL_DISCONNECTED, 200),
        "busy": (CallEventKind.CALL_DISCONNECTED, 486),
        "no-answer": (CallEventKind.CALL_DISCONNECTED, 480),
        "failed": (CallEventKind.CALL_DISCONNECTED, 500),
        "canceled": (CallEventKind.CALL_DISCONNECTED, 487),
    }
)
"""``CallStatus`` -> (event, result code). A call that never connected ends with a SIP-style
code naming why (486 busy, 480 no answer, 487 canceled, 500 failed); ``message`` carries the
status itself. ``queued``, ``initiated`` and ``ringing`` are acknowledged and not routed."""


def status_to_event(form: Mapping[str, str]) -> CallEvent | None:
    """The call event of one status callback (``CallSid``, ``CallStatus``), or None.

    ``AnsweredBy`` (Twilio's own answering-machine detection, when asked for) is kept in
    ``operation_context`` as ``answered_by:<value>``.
    """
    call_sid = form.get("CallSid", "")
    status = form.get("CallStatus", "")
    mapped = CALL_STATUS_RESULTS.get(status)
    if not call_sid or mapped is None:
        return None
    kind, code = mapped
    answered_by = form.get("AnsweredBy", "")
    return CallEvent(
        kind=kind,
        call_connection_id=call_sid,
        operation_context=f"answered_by:{answered_by}" if answered_by else "",
        result_code=code,
        message=status,
    )


class CallAdmission(Protocol):
    """Per-process call admission (the HTTP app's), seen structurally (as in the ACS gateway)."""

    def acquire(self) -> None:
        """Take a call slot; raises when busy or draining."""
        ...

    def release(self) -> None:
        """Give the slot back."""
        ...


class CallEventRouter(Protocol):
    """The process's call event router (``adapters.routing.CallEventRouter``)."""

    async def open(self, call_id: str) -> Any:
        """Register ``call_id`` as live here; its feed (async iterable, ``aclose()``)."""
        ...

    async def deliver(self, event: CallEvent) -> bool | str:
        """Route ``event`` to the instance owning its call."""
        ...


@dataclass(frozen=True, slots=True)
class TwilioGatewayConfig:
    """How the Twilio endpoints behave.

    Attributes:
        public_base_url: Base URL Twilio reaches us at (``https://parley.example.com``): the
            webhook URLs configured at Twilio start with it, signatures are checked against
            it, and the media URL (``wss://...``) is built from it.
        auth_token: The account's auth token: the key of ``X-Twilio-Signature``.
        validate_signatures: Check ``X-Twilio-Signature`` (off only offline, with a warning).
        idle_timeout_s: Close a media socket silent for this long, seconds.
        handshake_timeout_s: Longest wait for a media socket's ``start`` message, seconds.
        max_body_bytes: Largest webhook body accepted, bytes.
        max_calls_remembered: Webhook call details (caller, callee) kept for media sockets.
        hang_up_timeout_s: Deadline of each REST hang-up at drain timeout, seconds.
        playout_lead_ms: Agent audio a media stream counts as heard before Twilio's mark echo
            confirms it played, ms (``TwilioMediaStream``'s ``max_unplayed_ms``).
    """

    public_base_url: str
    auth_token: str
    validate_signatures: bool = True
    idle_timeout_s: float = 30.0
    handshake_timeout_s: float = 10.0
    max_body_bytes: int = 64 * 1024
    max_calls_remembered: int = 10_000
    hang_up_timeout_s: float = 5.0
    playout_lead_ms: float = 20.0


@dataclass(frozen=True, slots=True)
class _CallDetails:
    caller: str
    callee: str
    direction: str


class TwilioGateway:
    """The Twilio endpoints of one app instance, with their state (no module state).

    Args:
        config: Endpoint behaviour.
        call_control: Hangs up live calls at drain timeout.
        handler: The core's driving port; runs each call.
        router: Routes status callbacks to live calls.
        tokens: Issues and checks the ``call_token`` stream parameter.
        metrics: Counts dropped media messages and refused calls; optional.
        admission: Shared per-process call admission; optional.
    """

    def __init__(
        self,
        config: TwilioGatewayConfig,
        *,
        call_control: CallControl,
        handler: CallHandler,
        router: CallEventRouter,
        tokens: StreamTokens,
        metrics: CallMetrics | None = None,
        admission: CallAdmission | None = None,
    ) -> None:
        self.config = config
        self._call_control = call_control
        self._handler = handler
        self.router = router
        self.tokens = tokens
        self._metrics = metrics
        self._admission = admission
        self._validator = RequestValidator(config.auth_token)
        self._calls: OrderedDict[str, _CallDetails] = OrderedDict()
        self._media_calls: set[str] = set()
        self.media_url = media_url(config.public_base_url)
        self.outbound = OutboundTracker(max_calls=config.max_calls_remembered)
        self.refused_signatures = 0
        register = getattr(admission, "on_drain_timeout", None)
        if callable(register):
            register(self.hang_up_live_calls)

    def routes(self) -> list[BaseRoute]:
        """Starlette routes: the three webhooks and the media socket."""
        return [
            Route(VOICE_PATH, self.handle_voice, methods=["POST"]),
            Route(STATUS_PATH, self.handle_status, methods=["POST"]),
            Route(TRANSFER_PATH, self.handle_transfer, methods=["POST"]),
            WebSocketRoute(MEDIA_PATH, self.handle_media),
        ]

    # ------------------------------------------------------------------ webhooks

    async def _signed_form(
        self, request: Request
    ) -> tuple[ImmutableMultiDict[str, str], Response | None]:
        """The request's form fields, or the response refusing it (413, 403)."""
        empty: ImmutableMultiDict[str, str] = ImmutableMultiDict()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.config.max_body_bytes:
                return empty, JSONResponse({"error": "body too large"}, status_code=413)
        form = ImmutableMultiDict(
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        if not self.config.validate_signatures:
            return form, None
        url = self.config.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature or not self._validator.validate(url, form, signature):
            self.refused_signatures += 1
            logger.warning("Twilio webhook %s refused: bad X-Twilio-Signature", request.url.path)
            return form, JSONResponse({"error": "invalid signature"}, status_code=403)
        return form, None

    def _stream_twiml(self) -> Response:
        twiml = connect_stream(self.media_url, {TOKEN_PARAMETER: self.tokens.issue()})
        return Response(twiml, media_type=TWIML)

    def _remember(self, call_sid: str, details: _CallDetails) -> None:
        self._calls[call_sid] = details
        self._calls.move_to_end(call_sid)
        while len(self._calls) > self.config.max_calls_remembered:
            self._calls.popitem(last=False)

    async def handle_voice(self, request: Request) -> Response:
        """``POST /api/twilio/voice``: answer with ``<Connect><Stream>``."""
        form, refused = await self._signed_form(request)
        if refused is not None:
            return refused
        call_sid = form.get("CallSid", "")
        if not call_sid:
            return JSONResponse({"error": "no CallSid"}, status_code=400)
        self._remember(
            call_sid,
            _CallDetails(form.get("From", ""), form.get("To", ""), form.get("Direction", "")),
        )
        logger.info("Twilio call %s offered (%s)", call_sid, form.get("Direction", "inbound"))
        return self._stream_twiml()

    async def handle_status(self, request: Request) -> Response:
        """``POST /api/twilio/status``: a call status callback, routed by ``CallSid``."""
        form, refused = await self._signed_form(request)
        if refused is not None:
            return refused
        event = status_to_event(form)
        if event is None:
            return Response(status_code=204)
        self.outbound.observe(event)
        outcome = await self.router.deliver(event)
        logger.debug(
            "Twilio status %s for %s: %s", event.message, event.call_connection_id, outcome
        )
        return Response(status_code=204)

    async def handle_transfer(self, request: Request) -> Response:
        """``POST /api/twilio/transfer``: a transfer target answered, or the dial ended."""
        form, refused = await self._signed_form(request)
        if refused is not None:
            return refused
        call_sid = form.get("CallSid", "")
        context = request.query_params.get("op", "")
        if not call_sid:
            return JSONResponse({"error": "no CallSid"}, status_code=400)
        if request.query_params.get("event") == "answered":
            # The <Number> callback is about the dialled leg; its parent is the caller's call.
            parent = form.get("ParentCallSid", "") or call_sid
            await self.router.deliver(
                CallEvent(CallEventKind.TRANSFER_ACCEPTED, parent, operation_context=context)
            )
            return Response(status_code=204)
        status = form.get("DialCallStatus", "")
        if status in ("completed", "answered"):
            return Response(hang_up(), media_type=TWIML)
        await self.router.deliver(
            CallEvent(
                CallEventKind.TRANSFER_FAILED,
                call_sid,
                operation_context=context,
                result_code=CALL_STATUS_RESULTS.get(status, (None, 500))[1],
                message=status or "dial failed",
            )
        )
        logger.info("Twilio transfer of %s failed (%s): back to the agent", call_sid, status)
        return self._stream_twiml()

    async def place_call(self, request: DialRequest) -> asyncio.Future[DialResult]:
        """Place an outbound call whose TwiML streams it to this gateway.

        Status callbacks (``busy``, ``no-answer``...) decide calls that never connect; the
        conversation's end decides the others (:class:`~adapters.outbound.OutboundTracker`).

        Raises:
            ProviderError: Twilio refused the call (``InvalidTargetError`` for the number).
        """
        connection = await self._call_control.create_call(
            Participant.parse(request.to),
            callback_url=http_url(self.config.public_base_url, STATUS_PATH),
            media=MediaOptions(self.media_url, TWILIO_PCM_FORMAT),
            source_caller_id=request.caller_id or None,
        )
        call_sid = connection.call_connection_id
        self._remember(call_sid, _CallDetails(request.caller_id, request.to, "outbound-api"))
        logger.info("placed outbound Twilio call %s (request %s)", call_sid, request.id)
        return self.outbound.expect(call_sid, request)

    # ------------------------------------------------------------------ media

    def _count_refused(self, reason: str) -> None:
        count = getattr(self._metrics, "call_refused", None)
        if callable(count):
            count(reason)

    async def handle_media(self, websocket: WebSocket) -> None:
        """``WS /ws/twilio/media``: read ``start``, check its token, hand the call to the core."""
        await websocket.accept()
        stream = TwilioMediaStream(
            websocket,
            metrics=self._metrics,
            idle_timeout_s=self.config.idle_timeout_s,
            max_unplayed_ms=self.config.playout_lead_ms,
        )
        start = await stream.handshake(self.config.handshake_timeout_s)
        if start is None:
            await stream.close()
            return
        token = start.custom_parameters.get(TOKEN_PARAMETER, "")
        if not self.tokens.verify(token):
            logger.warning("Twilio media socket refused: no stream token issued here")
            self._count_refused("unknown_call")
            await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="unknown stream")
            return
        call_sid = start.call_sid
        if call_sid in self._media_calls:
            self._count_refused("duplicate_media")
            await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="call already has a stream")
            return
        if self._admission is not None:
            try:
                self._admission.acquire()
            except Exception as exc:
                self._count_refused(str(getattr(exc, "reason", "busy")))
                detail = str(getattr(exc, "detail", exc))
                await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=detail[:120])
                return
        self._media_calls.add(call_sid)
        try:
            await self._run(stream, call_sid)
        finally:
            self._media_calls.discard(call_sid)
            if self._admission is not None:
                self._admission.release()

    async def _run(self, stream: TwilioMediaStream, call_sid: str) -> None:
        feed = await self.router.open(call_sid)
        # Executing <Connect><Stream> answered the call: the stream's start says so.
        await self.router.deliver(CallEvent(CallEventKind.CALL_CONNECTED, call_sid))
        details = self._calls.get(call_sid)
        placed = self.outbound.request_for(call_sid)
        # An outbound call's remote party is the number called (``To``).
        remote = (details.callee if placed else details.caller) if details else ""
        info = CallInfo(
            call_id=call_sid,
            channel="twilio",
            caller=remote,
            callee=(details.caller if placed else details.callee) if details else "",
            telephony=True,
            direction="outbound" if placed is not None else "inbound",
            start_agent=placed.agent if placed is not None else "",
            variables=placed.variables if placed is not None else (),
        )
        end_reason = "error"
        try:
            summary = await self._handler.handle_call(
                InboundCall(info=info, media=stream, call_events=aiter(feed), observer=None)
            )
            end_reason = summary.end_reason
            logger.info("Twilio call %s ended: %s", call_sid, summary.end_reason)
        except Exception:
            logger.exception("Twilio call %s failed in the core", call_sid)
        finally:
            self.outbound.finished(call_sid, end_reason)
            await feed.aclose()
            with contextlib.suppress(Exception):
                await stream.close()

    @property
    def live_calls(self) -> frozenset[str]:
        """Call SIDs with a media socket open on this instance."""
        return frozenset(self._media_calls)

    async def hang_up_live_calls(self) -> None:
        """Hang up, through the REST API, every call with media here (drain timeout)."""
        calls = sorted(self._media_calls)
        if calls:
            logger.warning("drain timeout: hanging up %d Twilio call(s)", len(calls))

        async def one(call_sid: str) -> None:
            try:
                async with asyncio.timeout(self.config.hang_up_timeout_s):
                    await self._call_control.hang_up(call_sid)
            except (ProviderError, TimeoutError) as exc:
                logger.warning("hang-up of Twilio call %s failed: %r", call_sid, exc)

        await asyncio.gather(*(one(c) for c in calls))
