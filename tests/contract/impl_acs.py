"""The ACS CallControl under contract: the real SDK against the local ACS emulator.

Callback events travel the production path: the emulator posts signed CloudEvents to an
``AcsGateway`` on uvicorn, whose router feeds each call's event stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parley.contract import CallControlCase, Failing
from ports import (
    PCM16_16K,
    AuthenticationError,
    CallEvent,
    CallSummary,
    InboundCall,
    IncomingCall,
    MediaOptions,
    Participant,
    ProviderUnavailableError,
    RateLimitedError,
)


class _NoCalls:
    async def handle_call(self, call: InboundCall) -> CallSummary:
        raise AssertionError("the contract suite opens no media")


@pytest.fixture
async def acs_call_control() -> AsyncIterator[CallControlCase]:
    from azure.core.credentials import AzureKeyCredential
    from starlette.applications import Starlette

    from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator
    from adapters.acs.call_control import AcsCallControl, build_call_automation_client
    from adapters.acs.gateway import AcsGateway, AcsGatewayConfig
    from adapters.acs.router import LocalCallEventRouter
    from adapters.acs_emulator.server import AcsEmulator, free_port
    from adapters.acs_emulator.serving import serve_app
    from adapters.resilience.retry import RetryConfig

    retry = RetryConfig(attempts=2, deadline_s=1.0, initial_backoff_s=0.01, max_backoff_s=0.02)
    async with AcsEmulator(connect_media=False) as emulator, AcsEmulator() as busy:
        busy.fail_next(429, times=100, retry_after="1")
        clients = [
            build_call_automation_client(
                emulator.endpoint, AzureKeyCredential(emulator.access_key)
            ),
            build_call_automation_client(emulator.endpoint, AzureKeyCredential("d3Jvbmcta2V5")),
            build_call_automation_client(busy.endpoint, AzureKeyCredential(busy.access_key)),
            build_call_automation_client("http://127.0.0.1:9", AzureKeyCredential("a2V5")),
        ]
        control, wrong_key, rate_limited, unreachable = (
            AcsCallControl(c, retry=retry) for c in clients
        )
        router = LocalCallEventRouter()
        port = free_port()
        gateway = AcsGateway(
            AcsGatewayConfig(public_base_url=f"http://127.0.0.1:{port}"),
            call_control=control,
            handler=_NoCalls(),
            router=router,
            validator=AcsTokenValidator(
                AcsAuthConfig(audience=emulator.resource_id, jwks_url=emulator.jwks_url)
            ),
        )
        token = gateway.call_tokens.issue()
        offered = emulator.new_incoming_call(caller="+14255550123", callee="+14255550100")

        async def events(call_connection_id: str) -> AsyncIterator[CallEvent]:
            feed = await router.open(call_connection_id)
            try:
                async for event in feed:
                    yield event
            finally:
                await feed.aclose()

        try:
            async with serve_app(Starlette(routes=gateway.routes()), port=port) as base:
                yield CallControlCase(
                    control=control,
                    incoming=IncomingCall(
                        incoming_call_context=offered.incoming_call_context,
                        caller=Participant.phone("+14255550123"),
                        callee=Participant.phone("+14255550100"),
                    ),
                    # As the gateway's own answers do: both URLs carry a call token it issued.
                    media=MediaOptions(
                        base.replace("http", "ws") + f"/ws/acs/media?call_token={token}", PCM16_16K
                    ),
                    callback_url=base + f"/api/acs/callbacks?call_token={token}",
                    transfer_target=Participant.phone("+14255550199"),
                    events=events,
                    failures=[
                        Failing(AuthenticationError, wrong_key, "wrong access key"),
                        Failing(RateLimitedError, rate_limited, "HTTP 429"),
                        Failing(ProviderUnavailableError, unreachable, "nothing listening"),
                    ],
                )
        finally:
            for client in clients:
                await client.close()
