"""A local ACS emulator: the Call Automation REST subset, callbacks, Event Grid and media.

Speaks the real wire protocol so the real ``azure-communication-callautomation`` SDK and the
real Parley server talk to it unchanged (docs/wire-protocols.md, "ACS Call Automation",
"Event Grid", "Call Automation callbacks", "ACS media streaming WebSocket"):

* REST (Starlette + uvicorn on 127.0.0.1): ``POST /calling/callConnections:answer``,
  ``POST /calling/callConnections`` (create), ``POST /calling/callConnections/{id}:terminate``,
  ``DELETE /calling/callConnections/{id}``, ``:transferToParticipant``, ``:recognize``; any
  ``api-version`` (the SDK's default is ``2026-03-12``). Every request's HMAC-SHA256 signature
  is checked (401 when wrong). Docs: "Call Automation REST API reference".
* ``/calling/.well-known/acsopenidconfiguration`` and ``/calling/keys``: the emulator's own
  signing key, so the server validates callback and media JWTs as in production.
* Event Grid: the ``SubscriptionValidation`` handshake, then ``IncomingCall`` (docs: "Webhook
  event delivery", "Azure Communication Services - voice and video events").
* Callbacks: CloudEvents 1.0 arrays posted to the ``callbackUri`` (CallConnected,
  MediaStreamingStarted, CallDisconnected, CallTransferAccepted, RecognizeCompleted...).
* Media: on answer, a :class:`~adapters.acs_emulator.media_client.MediaClient` connects to the
  ``transportUrl`` with a signed JWT.

Everything lives on an :class:`AcsEmulator` instance (no module state); its tasks are owned and
cancelled by :meth:`AcsEmulator.stop`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.acs.media_codec import ACS_AUDIO_FORMATS, DIGIT_DTMF_TONES, tone_to_digit
from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.recording import RecordingService
from adapters.acs_emulator.signing import EmulatorSigner, verify_hmac_request
from adapters.acs_emulator.telephony import Telephony
from ports import PCM16_16K, AudioFormat

logger = logging.getLogger(__name__)

DEFAULT_RESOURCE_ID = "00000000-0000-4000-8000-00000000acs0"
"""Resource id (JWT audience) the emulator signs for unless told otherwise."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_access_key() -> str:
    """A random ACS-style access key (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _identifier_model(raw_id: str) -> dict[str, Any]:
    if raw_id.startswith("4:"):
        return {"kind": "phoneNumber", "rawId": raw_id, "phoneNumber": {"value": raw_id[2:]}}
    return {"kind": "communicationUser", "rawId": raw_id, "communicationUser": {"id": raw_id}}


@dataclass(slots=True)
class EmulatedCall:
    """One call as the emulator sees it.

    Attributes:
        call_connection_id: ACS call connection id.
        server_call_id: ACS server call id.
        correlation_id: ACS correlation id.
        incoming_call_context: Context handed out in ``IncomingCall``.
        caller_raw_id: The (emulated) caller.
        callee_raw_id: The number that was called (the agent).
        callback_uri: Where callbacks go (set at answer/create).
        media_options: ``mediaStreamingOptions`` of the answer/create request.
        answered: Set when answered (or, outbound, when created).
        ended: Set when the call ended.
        media: The media client, once connected.
        media_ready: Set when the media socket is up (or failed; see ``media_error``).
        media_error: Why the media connection failed, if it did.
        transfers: Transfer targets requested, raw ids.
        hang_ups: ``"terminate"`` / ``"delete"`` per hang-up request.
        pending_recognize: The ``:recognize`` request body waiting for tones.
        tones: Tones collected for the pending recognize (characters).
        callbacks: Every CloudEvent type posted, in order, with the HTTP status it got.
    """

    call_connection_id: str
    server_call_id: str
    correlation_id: str
    incoming_call_context: str
    caller_raw_id: str
    callee_raw_id: str
    callback_uri: str = ""
    media_options: dict[str, Any] = field(default_factory=dict)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    media: MediaClient | None = None
    media_ready: asyncio.Event = field(default_factory=asyncio.Event)
    media_error: str | None = None
    transfers: list[str] = field(default_factory=list)
    hang_ups: list[str] = field(default_factory=list)
    pending_recognize: dict[str, Any] | None = None
    tones: list[str] = field(default_factory=list)
    callbacks: list[tuple[str, int]] = field(default_factory=list)

    @property
    def format(self) -> AudioFormat:
        """The negotiated media format (``audioFormat`` of the request)."""
        name = str(self.media_options.get("audioFormat") or "pcm16KMono")
        for key, fmt in ACS_AUDIO_FORMATS.items():
            if key.lower() == name.lower():
                return fmt
        return PCM16_16K


class AcsEmulator:
    """The local ACS: REST API, signing keys, Event Grid, callbacks and media clients.

    Args:
        access_key: Base64 access key the SDK signs with; random when omitted.
        resource_id: ACS resource id: the audience of every minted JWT.
        port: Port to listen on; 0 picks a free one.
        connect_media: Connect a media client on answer (off for REST-only tests).
        record_media: Keep the agent's played audio in each media client.
        keep_frame_times: Keep agent frame arrival times (benchmarks).
        sign_requests: Put a JWT on callbacks and the media upgrade.
        token_factory: Overrides the media upgrade token (auth tests): call -> token or None.
        signing_key_path: Keep the signing key in this PEM file across runs (for a
            long-running server that caches the JWKS); a fresh key per run when omitted.
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        resource_id: str = DEFAULT_RESOURCE_ID,
        port: int = 0,
        connect_media: bool = True,
        record_media: bool = True,
        keep_frame_times: bool = False,
        sign_requests: bool = True,
        token_factory: Callable[[EmulatedCall], str | None] | None = None,
        signing_key_path: Path | None = None,
    ) -> None:
        self.access_key = access_key or new_access_key()
        self.resource_id = resource_id
        self.signer = EmulatorSigner(key_path=signing_key_path)
        self._port = port
        self.connect_media = connect_media
        self.record_media = record_media
        self.keep_frame_times = keep_frame_times
        self.sign_requests = sign_requests
        self.token_factory = token_factory
        self.calls: dict[str, EmulatedCall] = {}
        self._by_context: dict[str, EmulatedCall] = {}
        self.requests: list[tuple[str, str]] = []
        self.rejected: list[str] = []
        self._fail_next: list[tuple[int, dict[str, str]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self.recording = RecordingService(self)
        """Call Recording (``POST /calling/recordings`` ...; :mod:`.recording`)."""
        # Outbound callees, participants, hold (adapters.acs_emulator.telephony).
        self.telephony = Telephony(self)

    # ------------------------------------------------------------------ lifecycle

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the ACS endpoint for ``CallAutomationClient``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def openid_config_url(self) -> str:
        """The emulator's ``acsopenidconfiguration`` URL (give it to the server's validator)."""
        return f"{self.endpoint}/calling/.well-known/acsopenidconfiguration"

    @property
    def jwks_url(self) -> str:
        """The emulator's JWKS URL."""
        return f"{self.endpoint}/calling/keys"

    @property
    def connection_string(self) -> str:
        """An ACS connection string for this emulator."""
        return f"endpoint={self.endpoint}/;accesskey={self.access_key}"

    def app(self) -> Starlette:
        """The REST app (routes only; :meth:`start` serves it)."""
        prefix = "/calling/callConnections"
        return Starlette(
            routes=[
                Route("/calling/.well-known/acsopenidconfiguration", self._openid, methods=["GET"]),
                Route("/calling/keys", self._keys, methods=["GET"]),
                Route(prefix + ":answer", self._answer, methods=["POST"]),
                Route(prefix, self._create, methods=["POST"]),
                Route(
                    prefix + "/{call_id}/participants:{action}",
                    self.telephony.participants,
                    methods=["POST"],
                ),
                Route(prefix + "/{op}", self._call_op, methods=["POST", "DELETE", "GET"]),
                *self.recording.routes(),
            ]
        )

    async def start(self) -> None:
        """Serve on 127.0.0.1 and return once listening."""
        if self._port == 0:
            self._port = free_port()
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self._port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.create_task(self._server.serve(), name="acs-emulator-http")
        self._http = httpx.AsyncClient(timeout=30.0)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
                raise RuntimeError("ACS emulator failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("ACS emulator did not start within 10 s")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close media clients, cancel owned tasks and stop serving. Idempotent."""
        for call in self.calls.values():
            if call.media is not None:
                await call.media.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._server is not None:
            self._server.should_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve_task
            self._serve_task = None

    async def __aenter__(self) -> AcsEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("ACS emulator task %s failed: %r", task.get_name(), task.exception())

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next ``times`` REST operations with ``status`` (fault injection)."""
        headers = {"retry-after": retry_after} if retry_after else {}
        self._fail_next.extend([(status, headers)] * times)

    def mint_token(self, **kwargs: Any) -> str:
        """A JWT from the emulator's key; ``audience`` defaults to the resource id."""
        kwargs.setdefault("audience", self.resource_id)
        return self.signer.mint(**kwargs)

    # ------------------------------------------------------------------ REST helpers

    async def _check(self, request: Request) -> tuple[Response | None, dict[str, Any]]:
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.requests.append((request.method, path))
        reason = verify_hmac_request(
            access_key_b64=self.access_key,
            method=request.method,
            path_and_query=path,
            headers=request.headers,
            body=body,
        )
        if reason is not None:
            self.rejected.append(reason)
            return _error(401, "Unauthorized", f"HMAC check failed: {reason}"), {}
        if self._fail_next:
            status, headers = self._fail_next.pop(0)
            return _error(status, "Injected", "injected failure", headers), {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "BadRequest", "body is not JSON"), {}
        if not isinstance(data, dict):
            return _error(400, "BadRequest", "body is not an object"), {}
        return None, data

    def _properties(self, call: EmulatedCall, state: str) -> dict[str, Any]:
        return {
            "callConnectionId": call.call_connection_id,
            "serverCallId": call.server_call_id,
            "callbackUri": call.callback_uri,
            "callConnectionState": state,
            "correlationId": call.correlation_id,
            "targets": [_identifier_model(call.caller_raw_id)],
            "source": _identifier_model(call.callee_raw_id),
            "mediaStreamingSubscription": {
                "id": str(uuid.uuid4()),
                "state": "active" if call.media_options.get("startMediaStreaming") else "inactive",
                "subscribedContentTypes": ["audio"],
            },
        }

    # ------------------------------------------------------------------ REST routes

    async def _openid(self, request: Request) -> Response:
        return JSONResponse(self.signer.openid_configuration(self.endpoint))

    async def _keys(self, request: Request) -> Response:
        return JSONResponse(self.signer.jwks())

    async def _answer(self, request: Request) -> Response:
        error, body = await self._check(request)
        if error is not None:
            return error
        call = self._by_context.get(str(body.get("incomingCallContext", "")))
        if call is None:
            return _error(404, "NotFound", "unknown incomingCallContext")
        if call.answered.is_set():
            return _error(400, "BadRequest", "call already answered")
        call.callback_uri = str(body.get("callbackUri", ""))
        call.media_options = dict(body.get("mediaStreamingOptions") or {})
        call.answered.set()
        self._spawn(self._connect(call), f"acs-emulator-connect-{call.call_connection_id}")
        return JSONResponse(self._properties(call, "connecting"), status_code=200)

    async def _create(self, request: Request) -> Response:
        error, body = await self._check(request)
        if error is not None:
            return error
        targets = body.get("targets") or [{}]
        target_raw = str(targets[0].get("rawId", "4:+10000000000"))
        call = self._new_call(caller_raw_id=target_raw, callee_raw_id="8:acs:parley-agent")
        call.callback_uri = str(body.get("callbackUri", ""))
        call.media_options = dict(body.get("mediaStreamingOptions") or {})
        call.answered.set()
        self._spawn(
            self.telephony.connect_outbound(call), f"acs-emulator-connect-{call.call_connection_id}"
        )
        return JSONResponse(self._properties(call, "connecting"), status_code=201)

    async def _call_op(self, request: Request) -> Response:
        error, body = await self._check(request)
        if error is not None:
            return error
        call_id, _, action = request.path_params["op"].partition(":")
        call = self.calls.get(call_id)
        if call is None or call.ended.is_set():
            return _error(404, "NotFound", f"call {call_id} not found")
        if request.method == "DELETE" and not action:
            call.hang_ups.append("delete")
            self._spawn(self._end(call, "hang_up"), "acs-emulator-end")
            return Response(status_code=204)
        if request.method == "GET" and not action:
            return JSONResponse(self._properties(call, "connected"))
        if action == "terminate":
            call.hang_ups.append("terminate")
            self._spawn(self._end(call, "terminate"), "acs-emulator-end")
            return Response(status_code=204)
        if action == "transferToParticipant":
            target = body.get("targetParticipant") or {}
            call.transfers.append(str(target.get("rawId", "")))
            self.telephony.on_transfer(call, body)
            context = str(body.get("operationContext") or "")
            self._spawn(self._transfer(call, context), "acs-emulator-transfer")
            return JSONResponse({"operationContext": context}, status_code=202)
        if action in ("hold", "unhold"):
            return self.telephony.hold(call, action, body)
        if action == "recognize":
            call.pending_recognize = body
            call.tones.clear()
            return Response(status_code=202)
        if action in (
            "play",
            "startMediaStreaming",
            "stopMediaStreaming",
            "cancelAllMediaOperations",
        ):
            return Response(status_code=202)
        return _error(400, "BadRequest", f"unsupported operation {action!r}")

    # ------------------------------------------------------------------ call flow

    def _new_call(self, *, caller_raw_id: str, callee_raw_id: str) -> EmulatedCall:
        call = EmulatedCall(
            call_connection_id=str(uuid.uuid4()),
            server_call_id=base64.urlsafe_b64encode(secrets.token_bytes(24)).decode(),
            correlation_id=str(uuid.uuid4()),
            incoming_call_context="emulated." + secrets.token_urlsafe(24),
            caller_raw_id=caller_raw_id,
            callee_raw_id=callee_raw_id,
        )
        self.calls[call.call_connection_id] = call
        self._by_context[call.incoming_call_context] = call
        return call

    def new_incoming_call(
        self, *, caller: str = "+14255550100", callee: str = "+14255550199"
    ) -> EmulatedCall:
        """Register an offered call without posting ``IncomingCall`` (answer it directly)."""
        return self._new_call(caller_raw_id=f"4:{caller}", callee_raw_id=f"4:{callee}")

    def _event_grid_headers(self, kind: str) -> dict[str, str]:
        return {"aeg-event-type": kind, "content-type": "application/json"}

    async def validate_subscription(self, events_url: str) -> str:
        """Run the Event Grid ``SubscriptionValidation`` handshake against ``events_url``.

        Returns:
            The ``validationResponse`` the endpoint returned.

        Raises:
            RuntimeError: The endpoint did not echo the validation code.
        """
        assert self._http is not None  # noqa: S101 (started)
        code = secrets.token_hex(16)
        event = {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/emulated/resourceGroups/emulated",
            "subject": "",
            "data": {"validationCode": code, "validationUrl": f"{self.endpoint}/validate"},
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": _iso_now(),
            "metadataVersion": "1",
            "dataVersion": "2",
        }
        response = await self._http.post(
            events_url, json=[event], headers=self._event_grid_headers("SubscriptionValidation")
        )
        answer = response.json().get("validationResponse") if response.status_code == 200 else None
        if answer != code:
            raise RuntimeError(
                f"Event Grid validation failed: HTTP {response.status_code}, got {answer!r}"
            )
        return str(answer)

    async def offer_call(
        self,
        events_url: str,
        *,
        caller: str = "+14255550100",
        callee: str = "+14255550199",
        deliveries: int = 1,
        answer_timeout_s: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> EmulatedCall:
        """Post an ``IncomingCall`` and wait until it is answered.

        Args:
            events_url: The agent's Event Grid webhook (``.../api/acs/events``).
            caller: Caller phone number (E.164).
            callee: Called number (E.164).
            deliveries: How many times the same event (same id) is delivered.
            answer_timeout_s: How long to wait for the answer request.
            headers: Extra headers on the webhook post (webhook auth).

        Returns:
            The call, answered (its media connects in the background: await ``media_ready``).

        Raises:
            TimeoutError: Not answered in time.
        """
        assert self._http is not None  # noqa: S101 (started)
        call = self._new_call(caller_raw_id=f"4:{caller}", callee_raw_id=f"4:{callee}")
        event = {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/emulated/resourcegroups/emulated/providers/"
            "microsoft.communication/communicationservices/emulated",
            "subject": f"/caller/4:{caller}/recipient/4:{callee}",
            "data": {
                "to": _identifier_model(call.callee_raw_id),
                "from": _identifier_model(call.caller_raw_id),
                "serverCallId": call.server_call_id,
                "callerDisplayName": "Emulated Caller",
                "incomingCallContext": call.incoming_call_context,
                "correlationId": call.correlation_id,
            },
            "eventType": "Microsoft.Communication.IncomingCall",
            "eventTime": _iso_now(),
            "metadataVersion": "1",
            "dataVersion": "1.0",
        }
        post_headers = self._event_grid_headers("Notification") | (headers or {})
        if self.recording.events_url is None:
            self.recording.events_url = events_url.replace(
                "/api/acs/events", "/api/acs/recording-events", 1
            )
        for _ in range(deliveries):
            response = await self._http.post(events_url, json=[event], headers=post_headers)
            if response.status_code >= 300:
                raise RuntimeError(f"IncomingCall delivery refused: HTTP {response.status_code}")
        await asyncio.wait_for(call.answered.wait(), timeout=answer_timeout_s)
        return call

    def _media_token(self, call: EmulatedCall) -> str | None:
        if self.token_factory is not None:
            return self.token_factory(call)
        if not self.sign_requests:
            return None
        return self.mint_token(lifetime_s=24 * 3600.0)

    async def _connect(self, call: EmulatedCall) -> None:
        await self.post_callback(call, "CallConnected")
        options = call.media_options
        if not (self.connect_media and options.get("startMediaStreaming")):
            call.media_ready.set()
            return
        client = MediaClient(
            str(options.get("transportUrl", "")),
            token=self._media_token(call),
            call_connection_id=call.call_connection_id,
            correlation_id=call.correlation_id,
            fmt=call.format,
            participant_raw_id=call.caller_raw_id,
            record=self.record_media,
            keep_frame_times=self.keep_frame_times,
        )
        try:
            await client.connect()
        except Exception as exc:
            call.media_error = f"{type(exc).__name__}: {exc}"
            logger.warning("emulated media connection failed: %s", call.media_error)
            call.media_ready.set()
            await self.post_callback(
                call,
                "MediaStreamingFailed",
                extra={
                    "mediaStreamingUpdate": {
                        "contentType": "Audio",
                        "mediaStreamingStatus": "mediaStreamingFailed",
                        "mediaStreamingStatusDetails": "streamConnectionUnsuccessful",
                    }
                },
                code=500,
            )
            return
        call.media = client
        call.media_ready.set()
        await self.post_callback(
            call,
            "MediaStreamingStarted",
            extra={
                "mediaStreamingUpdate": {
                    "contentType": "Audio",
                    "mediaStreamingStatus": "mediaStreamingStarted",
                    "mediaStreamingStatusDetails": "subscriptionStarted",
                }
            },
        )

    async def _end(self, call: EmulatedCall, why: str) -> None:
        if call.ended.is_set():
            return
        call.ended.set()
        await self.recording.call_ended(call)
        if call.media is not None:
            await call.media.close()
        await self.post_callback(call, "CallDisconnected", message=f"call ended ({why})")

    async def _transfer(self, call: EmulatedCall, context: str) -> None:
        await self.post_callback(call, "CallTransferAccepted", operation_context=context)
        await self._end(call, "transferred")

    async def hang_up(self, call: EmulatedCall) -> None:
        """The caller hangs up: media closes and ``CallDisconnected`` is posted."""
        await self._end(call, "caller_hung_up")

    async def press(self, call: EmulatedCall, digits: str) -> None:
        """The caller presses keys: ``DtmfData`` on the media stream.

        When a ``:recognize`` is pending, ``RecognizeCompleted`` is posted once its stop tone or
        its tone count is reached.
        """
        for digit in digits:
            if call.media is not None:
                await call.media.send_dtmf(digit)
            request = call.pending_recognize
            if request is None:
                continue
            options = request.get("recognizeOptions") or {}
            dtmf = options.get("dtmfOptions") or {}
            stop = {tone_to_digit(str(t)) for t in dtmf.get("stopTones") or []}
            max_tones = int(dtmf.get("maxTonesToCollect") or 1)
            if digit in stop:
                await self._recognized(call, request, "stopToneDetected")
                continue
            call.tones.append(digit)
            if len(call.tones) >= max_tones:
                await self._recognized(call, request, "maxTonesReached")

    async def _recognized(self, call: EmulatedCall, request: dict[str, Any], why: str) -> None:
        call.pending_recognize = None
        tones = [DIGIT_DTMF_TONES[t] for t in call.tones]
        call.tones = []
        await self.post_callback(
            call,
            "RecognizeCompleted",
            operation_context=str(request.get("operationContext") or ""),
            extra={"recognitionType": "dtmf", "dtmfResult": {"tones": tones}},
            code=200,
            sub_code=8514 if why == "stopToneDetected" else 8531,
            message=f"Action completed, {why}.",
        )

    async def post_callback(
        self,
        call: EmulatedCall,
        name: str,
        *,
        operation_context: str = "",
        extra: dict[str, Any] | None = None,
        code: int = 200,
        sub_code: int = 0,
        message: str = "",
        token: str | None = None,
        uri: str | None = None,
    ) -> int:
        """POST one CloudEvent ``Microsoft.Communication.<name>`` to the call's callback URI.

        ``uri`` overrides the callback URI (a recording's ``recordingStateCallbackUri``).

        Returns:
            The HTTP status the agent answered (0 when unreachable).
        """
        target = uri or call.callback_uri
        if not target or self._http is None:
            return 0
        data: dict[str, Any] = {
            "callConnectionId": call.call_connection_id,
            "serverCallId": call.server_call_id,
            "correlationId": call.correlation_id,
            "operationContext": operation_context,
            "resultInformation": {"code": code, "subCode": sub_code, "message": message},
        }
        data.update(extra or {})
        event = {
            "id": str(uuid.uuid4()),
            "source": f"calling/callConnections/{call.call_connection_id}",
            "type": f"Microsoft.Communication.{name}",
            "data": data,
            "time": _iso_now(),
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "subject": f"calling/callConnections/{call.call_connection_id}",
        }
        headers = {"content-type": "application/json"}
        bearer = (
            token
            if token is not None
            else (self.mint_token(lifetime_s=300.0) if self.sign_requests else None)
        )
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = await self._http.post(target, json=[event], headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            logger.warning("callback %s not delivered: %s", name, type(exc).__name__)
            status = 0
        call.callbacks.append((name, status))
        return status


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )
