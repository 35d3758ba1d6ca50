"""Fixtures for the ACS adapter tests: the emulator and a gateway served by uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from azure.core.credentials import AzureKeyCredential
from starlette.applications import Starlette

from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator
from adapters.acs.call_control import AcsCallControl, build_call_automation_client
from adapters.acs.gateway import AcsGateway, AcsGatewayConfig
from adapters.acs.router import LocalCallEventRouter
from adapters.acs_emulator.server import AcsEmulator, free_port
from adapters.acs_emulator.serving import serve_app
from adapters.http.media_socket import MediaSocketProtocol
from adapters.memory import RecordingMetrics
from adapters.resilience.retry import RetryConfig
from ports import AudioReceived, CallEvent, CallSummary, DtmfReceived, InboundCall, MediaEvent

FAST_RETRY = RetryConfig(attempts=3, deadline_s=2.0, initial_backoff_s=0.01, max_backoff_s=0.05)


@dataclass
class EchoHandler:
    """A CallHandler that echoes caller audio and records what it saw."""

    media_events: list[MediaEvent] = field(default_factory=list)
    call_events: list[CallEvent] = field(default_factory=list)
    calls: list[InboundCall] = field(default_factory=list)
    stop_on_dtmf: bool = True
    echo: bool = True

    async def handle_call(self, call: InboundCall) -> CallSummary:
        self.calls.append(call)

        async def read_events() -> None:
            assert call.call_events is not None
            async for event in call.call_events:
                self.call_events.append(event)

        reader = asyncio.create_task(read_events())
        try:
            async for event in call.media.events():
                self.media_events.append(event)
                if isinstance(event, AudioReceived) and self.echo:
                    await call.media.send_audio(event.frame)
                elif isinstance(event, DtmfReceived) and self.stop_on_dtmf:
                    await call.media.stop_audio()
        finally:
            reader.cancel()
        return CallSummary(call.info.call_id, "remote_closed")


@dataclass
class AcsStack:
    emulator: AcsEmulator
    gateway: AcsGateway
    handler: EchoHandler
    metrics: RecordingMetrics
    base_url: str

    @property
    def events_url(self) -> str:
        return self.base_url + "/api/acs/events"

    @property
    def callbacks_url(self) -> str:
        """The callback URL with a call token this gateway issued (bound to no call yet)."""
        return self.base_url + f"/api/acs/callbacks?call_token={self.gateway.call_tokens.issue()}"

    @property
    def media_url(self) -> str:
        """The media URL with a call token this gateway issued (bound to no call yet)."""
        token = self.gateway.call_tokens.issue()
        return self.base_url.replace("http://", "ws://") + f"/ws/acs/media?call_token={token}"


@pytest.fixture
async def emulator() -> AsyncIterator[AcsEmulator]:
    async with AcsEmulator() as emu:
        yield emu


@pytest.fixture(params=["media-channel", "plain-asgi"])
async def acs_stack(
    emulator: AcsEmulator, request: pytest.FixtureRequest
) -> AsyncIterator[AcsStack]:
    port = free_port()
    client = build_call_automation_client(
        emulator.endpoint, AzureKeyCredential(emulator.access_key)
    )
    handler = EchoHandler()
    metrics = RecordingMetrics()
    gateway = AcsGateway(
        AcsGatewayConfig(public_base_url=f"http://127.0.0.1:{port}", idle_timeout_s=5.0),
        call_control=AcsCallControl(client, retry=FAST_RETRY),
        handler=handler,
        router=LocalCallEventRouter(),
        validator=AcsTokenValidator(
            AcsAuthConfig(audience=emulator.resource_id, jwks_url=emulator.jwks_url)
        ),
        metrics=metrics,
    )
    try:
        # parley serve's media channel, and plain uvicorn (the stream's ASGI-only path).
        ws = "websockets-sansio" if request.param == "plain-asgi" else MediaSocketProtocol
        async with serve_app(Starlette(routes=gateway.routes()), port=port, ws=ws) as base:
            yield AcsStack(emulator, gateway, handler, metrics, base)
    finally:
        await client.close()
