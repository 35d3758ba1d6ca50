"""A local Twilio emulator: the Calls REST subset, signed webhooks, TwiML and Media Streams.

Speaks the real wire protocol so the real ``twilio`` package and the real Parley server talk to
it unchanged (``docs/wire-protocols.md``, "Twilio"):

* REST (Starlette + uvicorn on 127.0.0.1), for ``Client`` with ``client.api.base_url`` pointed
  here: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (create: ``To``, ``From``,
  ``Twiml`` or ``Url``, ``StatusCallback``, repeated ``StatusCallbackEvent``),
  ``POST .../Calls/{CallSid}.json`` (update: ``Status=completed``, ``Twiml``, ``Url``,
  ``StatusCallback``) and ``GET`` of the same. HTTP Basic auth ``AccountSid:AuthToken`` is
  checked (401, Twilio error 20003); errors are Twilio's JSON (``code``, ``message``,
  ``more_info``, ``status``). Docs: "Call resource",
  https://www.twilio.com/docs/voice/api/call-resource.
* Webhooks: the Voice webhook of an offered call, status callbacks and TwiML callbacks, each
  form-encoded and signed with ``X-Twilio-Signature`` (the ``twilio`` package's
  ``RequestValidator.compute_signature``), as "Webhooks security" describes.
* TwiML: ``<Connect><Stream>`` (a :class:`~adapters.twilio_emulator.media_client.TwilioMediaClient`
  connects), ``<Dial><Number>`` (a transfer: the stream stops, the target answers or not, the
  ``action`` URL's TwiML follows) and ``<Hangup/>`` (:mod:`adapters.twilio_emulator.twiml_runner`).

Everything lives on a :class:`TwilioEmulator` instance (no module state); its tasks are owned
and cancelled by :meth:`TwilioEmulator.stop`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from adapters.acs_emulator.server import free_port
from adapters.twilio_emulator.calls import Answer, EmulatedTwilioCall, new_sid
from adapters.twilio_emulator.twiml_runner import TwimlRunner

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    """A Twilio REST error body (``TwilioRestException`` reads ``code`` and ``message``)."""
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


class TwilioEmulator:
    """The local Twilio: REST API, signed webhooks, TwiML execution and media clients.

    Args:
        account_sid: ``AC...``; random when omitted.
        auth_token: The REST password and webhook signing key; random when omitted.
        port: Port to listen on; 0 picks a free one.
        outcomes: How dialled numbers respond (outbound calls and transfer targets), by E.164
            number; others answer.
        ring_s: Ring time before a dialled number responds, seconds.
        transfer_talk_s: How long an answered transfer lasts before the dial ends, seconds.
        record_media: Keep the agent's played audio in each media client.
        keep_frame_times: Keep agent frame arrival times (benchmarks).
        sign_requests: Sign webhooks (off to test the server's refusal).
    """

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        port: int = 0,
        outcomes: Mapping[str, Answer] | None = None,
        ring_s: float = 0.05,
        transfer_talk_s: float = 0.2,
        record_media: bool = True,
        keep_frame_times: bool = False,
        sign_requests: bool = True,
    ) -> None:
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or new_sid("")
        self._port = port
        self.outcomes: dict[str, Answer] = dict(outcomes or {})
        self.ring_s = ring_s
        self.transfer_talk_s = transfer_talk_s
        self.record_media = record_media
        self.keep_frame_times = keep_frame_times
        self.sign_requests = sign_requests
        self.calls: dict[str, EmulatedTwilioCall] = {}
        self.requests: list[tuple[str, str]] = []
        self.rejected = 0
        self._fail_next: list[tuple[int, int]] = []
        self._signer = RequestValidator(self.auth_token)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self.http: httpx.AsyncClient | None = None
        self.runner = TwimlRunner(self)

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base_url(self) -> str:
        """``http://127.0.0.1:PORT``: give it to the ``twilio`` client as ``api.base_url``."""
        return f"http://127.0.0.1:{self._port}"

    def app(self) -> Starlette:
        """The REST app (routes only; :meth:`start` serves it)."""
        prefix = "/2010-04-01/Accounts/{account}/Calls"
        return Starlette(
            routes=[
                Route(prefix + ".json", self._create, methods=["POST"]),
                Route(prefix + "/{sid}.json", self._call, methods=["POST", "GET"]),
            ]
        )

    async def start(self) -> None:
        """Serve on 127.0.0.1 and return once listening."""
        if self._port == 0:
            self._port = free_port()
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self._port, log_level="warning",
            lifespan="off", access_log=False,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.create_task(self._server.serve(), name="twilio-emulator-http")
        self.http = httpx.AsyncClient(timeout=30.0)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
                raise RuntimeError("Twilio emulator failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("Twilio emulator did not start within 10 s")
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
        if self.http is not None:
            await self.http.aclose()
            self.http = None
        if self._server is not None:
            self._server.should_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve_task
            self._serve_task = None

    async def __aenter__(self) -> TwilioEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the emulator owns (cancelled at stop)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("Twilio emulator task %s failed: %r", task.get_name(), task.exception())

    def fail_next(self, status: int, *, code: int = 20500, times: int = 1) -> None:
        """Answer the next ``times`` REST requests with ``status`` (fault injection)."""
        self._fail_next.extend([(status, code)] * times)

    # ------------------------------------------------------------------ REST

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    async def _check(self, request: Request) -> tuple[Response | None, Any]:
        body = (await request.body()).decode("utf-8", "replace")
        self.requests.append((request.method, request.url.path))
        if not self._authorized(request) or request.path_params["account"] != self.account_sid:
            self.rejected += 1
            return twilio_error(401, 20003, "Authenticate"), None
        if self._fail_next:
            status, code = self._fail_next.pop(0)
            return twilio_error(status, code, "injected failure"), None
        return None, ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))

    async def _create(self, request: Request) -> Response:
        error, form = await self._check(request)
        if error is not None:
            return error
        to, from_ = form.get("To", ""), form.get("From", "")
        if not E164.match(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to[:32]}")
        if not E164.match(from_):
            return twilio_error(400, 21212, f"Invalid 'From' Phone Number: {from_[:32]}")
        twiml, url = form.get("Twiml", ""), form.get("Url", "")
        if not twiml and not url:
            return twilio_error(400, 21205, "Url or Twiml is required")
        call = self._new_call(from_, to, direction="outbound-api")
        call.status_callback = form.get("StatusCallback", "")
        call.status_events = tuple(form.getlist("StatusCallbackEvent"))
        call.requests.append("create")
        self.spawn(self.runner.dial_out(call, twiml, url), f"twilio-emulator-out-{call.call_sid}")
        return JSONResponse(call.resource(), status_code=201)

    async def _call(self, request: Request) -> Response:
        error, form = await self._check(request)
        if error is not None:
            return error
        call = self.calls.get(request.path_params["sid"])
        if call is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        if request.method == "GET":
            return JSONResponse(call.resource())
        if call.ended.is_set():
            return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
        call.requests.append("update")
        if form.get("StatusCallback"):
            call.status_callback = form["StatusCallback"]
        status = form.get("Status", "")
        if status in ("completed", "canceled"):
            self.spawn(self.runner.end(call, status), "twilio-emulator-end")
        elif form.get("Twiml") or form.get("Url"):
            self.runner.redirect(call, form.get("Twiml", ""), form.get("Url", ""))
        return JSONResponse(call.resource())

    # ------------------------------------------------------------------ calls

    def _new_call(self, from_: str, to: str, *, direction: str) -> EmulatedTwilioCall:
        call = EmulatedTwilioCall(new_sid("CA"), self.account_sid, from_, to, direction)
        self.calls[call.call_sid] = call
        return call

    def new_incoming_call(
        self, *, caller: str = "+14255550100", callee: str = "+14255550199"
    ) -> EmulatedTwilioCall:
        """A ringing inbound call whose webhook is not posted (answer it through REST)."""
        call = self._new_call(caller, callee, direction="inbound")
        call.status = "ringing"
        return call

    async def offer_call(
        self,
        voice_url: str,
        *,
        caller: str = "+14255550100",
        callee: str = "+14255550199",
        answer_timeout_s: float = 10.0,
    ) -> EmulatedTwilioCall:
        """A call comes in: post the Voice webhook, run its TwiML, wait for the first stream.

        Raises:
            RuntimeError: The webhook refused the call (its HTTP status is in the message).
            TimeoutError: No stream within ``answer_timeout_s``.
        """
        call = self.new_incoming_call(caller=caller, callee=callee)
        status, twiml = await self.post(call, voice_url, {}, "voice")
        if status != 200:
            call.status = "failed"
            call.ended.set()
            raise RuntimeError(f"Voice webhook refused the call: HTTP {status}")
        self.runner.redirect(call, twiml, "")
        await asyncio.wait_for(call.media_ready.wait(), timeout=answer_timeout_s)
        return call

    async def hang_up(self, call: EmulatedTwilioCall) -> None:
        """The caller hangs up: the stream stops and the call completes."""
        await self.runner.end(call, "completed")

    async def press(self, call: EmulatedTwilioCall, digits: str) -> None:
        """The caller presses keys: ``dtmf`` messages on the stream."""
        for digit in digits:
            if call.media is not None:
                await call.media.send_dtmf(digit)

    def call_params(self, call: EmulatedTwilioCall) -> dict[str, str]:
        """The parameters every voice request carries ("Twilio's request to your app")."""
        return {
            "AccountSid": call.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.call_sid,
            "CallStatus": call.status,
            "Direction": call.direction,
            "From": call.from_number,
            "To": call.to_number,
            "Caller": call.from_number,
            "Called": call.to_number,
        }

    async def post(
        self,
        call: EmulatedTwilioCall,
        url: str,
        extra: Mapping[str, str],
        name: str,
        *,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST a signed form to ``url`` as Twilio does; return (HTTP status, body text).

        Args:
            call: The call the request is about.
            url: Where to post (its query string is part of the signed URL).
            extra: Parameters besides :meth:`call_params`.
            name: Label for ``call.callbacks``.
            signature: Overrides ``X-Twilio-Signature`` (auth tests).
        """
        if not url or self.http is None:
            return 0, ""
        params = {**self.call_params(call), **extra}
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["x-twilio-signature"] = signature
        elif self.sign_requests:
            headers["x-twilio-signature"] = self._signer.compute_signature(url, params)
        try:
            response = await self.http.post(url, data=params, headers=headers)
            status, text = response.status_code, response.text
        except httpx.HTTPError as exc:
            logger.warning("Twilio webhook %s not delivered: %s", name, type(exc).__name__)
            status, text = 0, ""
        call.callbacks.append((name, status))
        return status, text

    async def post_status(self, call: EmulatedTwilioCall, event: str) -> None:
        """Post the status callback for ``event`` when the call asked for it (completed always)."""
        if not call.status_callback:
            return
        if event != "completed" and event not in call.status_events:
            return
        await self.post(call, call.status_callback, {}, f"status:{call.status}")

    def outcome_for(self, number: str) -> Answer:
        """How ``number`` responds when dialled."""
        return self.outcomes.get(number, Answer.ANSWER)
