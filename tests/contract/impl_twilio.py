"""The Twilio CallControl under contract: the real ``twilio`` client against the Twilio emulator.

Events travel the production path: the emulator posts signed status and transfer callbacks to a
``TwilioGateway`` on uvicorn, and runs the ``<Connect><Stream>`` TwiML of an answer against the
gateway's media socket (whose ``start`` is the call's ``CallConnected``). The suite reads every
event the gateway routes (a tee in front of the router).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from parley.contract import CallControlCase, Failing
from ports import (
    AuthenticationError,
    CallEvent,
    CallEventKind,
    CallSummary,
    InboundCall,
    IncomingCall,
    MediaOptions,
    Participant,
    ProviderUnavailableError,
    RateLimitedError,
    StreamClosed,
)


class _DrainMedia:
    """A core that listens to each call until its stream closes."""

    async def handle_call(self, call: InboundCall) -> CallSummary:
        async for event in call.media.events():
            if isinstance(event, StreamClosed):
                break
        return CallSummary(call.info.call_id, "remote_closed")


class TeeRouter:
    """The gateway's router, with a copy of every delivered event kept per call for the suite."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._queues: dict[str, asyncio.Queue[CallEvent]] = defaultdict(asyncio.Queue)

    async def open(self, call_id: str) -> object:
        return await self._inner.open(call_id)  # type: ignore[attr-defined]

    async def deliver(self, event: CallEvent) -> bool | str:
        self._queues[event.call_connection_id].put_nowait(event)
        return await self._inner.deliver(event)  # type: ignore[attr-defined,no-any-return]

    async def events(self, call_id: str) -> AsyncIterator[CallEvent]:
        queue = self._queues[call_id]
        while True:
            event = await queue.get()
            yield event
            if event.kind is CallEventKind.CALL_DISCONNECTED:
                return


@pytest.fixture
async def twilio_call_control() -> AsyncIterator[CallControlCase]:
    from starlette.applications import Starlette

    from adapters.acs_emulator.server import free_port
    from adapters.acs_emulator.serving import serve_app
    from adapters.routing.local import LocalCallEventRouter
    from adapters.twilio import (
        TWILIO_PCM_FORMAT,
        RetryConfig,
        StreamTokens,
        TwilioCallControl,
        TwilioGateway,
        TwilioGatewayConfig,
        build_twilio_client,
    )
    from adapters.twilio.paths import STATUS_PATH
    from adapters.twilio_emulator import TwilioEmulator

    retry = RetryConfig(attempts=2, deadline_s=1.0, initial_backoff_s=0.01, max_backoff_s=0.02)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tokens = StreamTokens()
    async with TwilioEmulator() as emulator, TwilioEmulator() as busy:
        busy.fail_next(429, code=20429, times=100)
        built = [
            build_twilio_client(emulator.account_sid, emulator.auth_token,
                                api_base_url=emulator.api_base_url),
            build_twilio_client(emulator.account_sid, "wrong-token",
                                api_base_url=emulator.api_base_url),
            build_twilio_client(busy.account_sid, busy.auth_token, api_base_url=busy.api_base_url),
            build_twilio_client(emulator.account_sid, "x", api_base_url="http://127.0.0.1:9"),
        ]  # fmt: skip
        control, wrong_token, rate_limited, unreachable = (
            TwilioCallControl(client, public_base_url=base, tokens=tokens, retry=retry)
            for client, _http in built
        )
        router = TeeRouter(LocalCallEventRouter())
        gateway = TwilioGateway(
            TwilioGatewayConfig(public_base_url=base, auth_token=emulator.auth_token),
            call_control=control,
            handler=_DrainMedia(),
            router=router,
            tokens=tokens,
        )
        offered = emulator.new_incoming_call(caller="+14255550123", callee="+14255550100")
        try:
            async with serve_app(Starlette(routes=gateway.routes()), port=port):
                yield CallControlCase(
                    control=control,
                    incoming=IncomingCall(
                        incoming_call_context=offered.call_sid,
                        caller=Participant.phone("+14255550123"),
                        callee=Participant.phone("+14255550100"),
                    ),
                    media=MediaOptions(gateway.media_url, TWILIO_PCM_FORMAT),
                    callback_url=base + STATUS_PATH,
                    transfer_target=Participant.phone("+14255550199"),
                    events=router.events,
                    failures=[
                        Failing(AuthenticationError, wrong_token, "wrong auth token"),
                        Failing(RateLimitedError, rate_limited, "HTTP 429"),
                        Failing(ProviderUnavailableError, unreachable, "nothing listening"),
                    ],
                )
        finally:
            for _client, http in built:
                await http.close()
