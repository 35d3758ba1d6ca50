"""Gateway options: Event Grid webhook key, call admission, token checks switched off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from adapters.acs.gateway import AcsGateway, AcsGatewayConfig
from adapters.acs.router import LocalCallEventRouter
from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.server import free_port
from adapters.acs_emulator.serving import serve_app
from adapters.memory import FakeCallControl
from ports import PCM16_16K

from .conftest import EchoHandler


class Busy:
    def __init__(self) -> None:
        self.released = 0

    def acquire(self) -> None:
        raise RuntimeError("busy")

    def release(self) -> None:
        self.released += 1


@pytest.fixture
async def open_gateway() -> AsyncIterator[tuple[str, EchoHandler, FakeCallControl]]:
    port = free_port()
    handler = EchoHandler()
    control = FakeCallControl()
    gateway = AcsGateway(
        AcsGatewayConfig(
            public_base_url=f"http://127.0.0.1:{port}", verify_tokens=False, webhook_key="s3cret"
        ),
        call_control=control,
        handler=handler,
        router=LocalCallEventRouter(),
        admission=Busy(),
    )
    async with serve_app(Starlette(routes=gateway.routes()), port=port) as base:
        yield base, handler, control


def incoming(event_id: str = "e1") -> list[dict[str, object]]:
    return [
        {
            "id": event_id,
            "eventType": "Microsoft.Communication.IncomingCall",
            "data": {
                "to": {
                    "kind": "phoneNumber",
                    "rawId": "4:+1200",
                    "phoneNumber": {"value": "+1200"},
                },
                "from": {
                    "kind": "phoneNumber",
                    "rawId": "4:+1100",
                    "phoneNumber": {"value": "+1100"},
                },
                "incomingCallContext": "ctx",
                "correlationId": "corr",
            },
        }
    ]


async def test_event_grid_posts_need_the_webhook_key(open_gateway) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = open_gateway
    async with httpx.AsyncClient() as http:
        refused = await http.post(base + "/api/acs/events", json=incoming())
        wrong = await http.post(base + "/api/acs/events?code=nope", json=incoming())
        accepted = await http.post(base + "/api/acs/events?code=s3cret", json=incoming())
    assert (refused.status_code, wrong.status_code, accepted.status_code) == (401, 401, 200)


async def test_answer_uses_a_transport_url_that_finds_the_call(open_gateway) -> None:  # type: ignore[no-untyped-def]
    base, _, control = open_gateway
    async with httpx.AsyncClient() as http:
        await http.post(
            base + "/api/acs/events", json=incoming(), headers={"x-parley-webhook-key": "s3cret"}
        )
    operation = control.operations[-1]
    media = operation.args["media"]
    assert media.transport_url.startswith(base.replace("http", "ws") + "/ws/acs/media?call_token=")
    assert operation.args["callback_url"].startswith(base + "/api/acs/callbacks?call_token=")
    assert (media.bidirectional, media.dtmf, media.format) == (True, True, PCM16_16K)


async def test_a_busy_server_refuses_the_media_socket_with_1013(open_gateway) -> None:  # type: ignore[no-untyped-def]
    base, handler, control = open_gateway
    async with httpx.AsyncClient() as http:
        await http.post(base + "/api/acs/events?code=s3cret", json=incoming())
    client = MediaClient(
        control.operations[-1].args["media"].transport_url,
        token=None,
        call_connection_id="c1",
        correlation_id="x",
        fmt=PCM16_16K,
    )
    await client.connect()
    await client.closed.wait()
    assert client.close_code == 1013
    assert handler.calls == []
    await client.close()


def test_token_checks_need_a_validator() -> None:
    with pytest.raises(ValueError, match="validator"):
        AcsGateway(
            AcsGatewayConfig(public_base_url="http://x"),
            call_control=FakeCallControl(),
            handler=EchoHandler(),
            router=LocalCallEventRouter(),
        )
