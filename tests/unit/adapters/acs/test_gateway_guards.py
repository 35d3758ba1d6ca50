"""The ACS boundary's guards (issue 12): forged callbacks, duplicate media, caps, draining."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.acs.gateway import (
    CLOSE_POLICY_VIOLATION,
    DUPLICATE_MEDIA_REASON,
    AcsGateway,
    AcsGatewayConfig,
)
from adapters.acs.media_codec import encode_audio_metadata
from adapters.acs.router import LocalCallEventRouter
from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.server import free_port
from adapters.acs_emulator.serving import serve_app
from adapters.http.limits import CallAdmission
from adapters.memory import FakeCallControl, MemoryCallRegistry, MemoryEventBus
from adapters.routing import CallEventRouter
from adapters.system.clock import SystemClock
from ports import (
    PCM16_16K,
    PCM16_24K,
    CallConnection,
    CallEventKind,
    IncomingCall,
    MediaOptions,
    StreamStarted,
)

from .conftest import AcsStack, EchoHandler
from .test_gateway import connected_call, until


def callback(name: str, call_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "source": f"calling/callConnections/{call_id}",
            "type": f"Microsoft.Communication.{name}",
            "specversion": "1.0",
            "data": {"callConnectionId": call_id, "serverCallId": "s", "correlationId": "c"},
        }
    ]


def incoming_events(count: int, prefix: str = "e") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i}",
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
                "incomingCallContext": f"ctx{i}",
                "correlationId": f"corr{i}",
            },
        }
        for i in range(count)
    ]


def disconnects(stack: AcsStack) -> list[str]:
    """Call ids whose event feed delivered a CallDisconnected to the core."""
    return [
        e.call_connection_id
        for e in stack.handler.call_events
        if e.kind is CallEventKind.CALL_DISCONNECTED
    ]


class TestForgedCallbacks:
    async def test_a_signed_callback_without_our_call_token_cannot_end_a_live_call(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        router = acs_stack.gateway.router
        assert router.is_live(call.call_connection_id)  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {acs_stack.emulator.mint_token()}"}
        async with httpx.AsyncClient() as http:
            for url in (
                acs_stack.base_url + "/api/acs/callbacks",
                acs_stack.base_url + "/api/acs/callbacks?call_token=forged.AAAAAAAAAAAAAAAAAAAAAA",
            ):
                response = await http.post(
                    url, json=callback("CallDisconnected", call.call_connection_id), headers=headers
                )
                assert response.status_code == 403
                assert response.json()["error"] == "unknown_call"
        await asyncio.sleep(0.05)
        assert router.is_live(call.call_connection_id)  # type: ignore[attr-defined]
        assert disconnects(acs_stack) == []

    async def test_a_callback_on_one_calls_url_naming_another_call_is_ignored(
        self, acs_stack: AcsStack
    ) -> None:
        first = await connected_call(acs_stack)
        second = await connected_call(acs_stack)
        headers = {"Authorization": f"Bearer {acs_stack.emulator.mint_token()}"}
        async with httpx.AsyncClient() as http:
            response = await http.post(
                first.callback_uri,
                json=callback("CallDisconnected", second.call_connection_id),
                headers=headers,
            )
        assert response.status_code == 200
        await asyncio.sleep(0.05)
        assert disconnects(acs_stack) == []

    async def test_the_emulator_posts_to_the_url_it_was_given_and_it_is_accepted(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        assert "call_token=" in call.callback_uri
        assert "call_token=" in str(call.media_options["transportUrl"])
        assert all(status == 200 for _, status in call.callbacks)


async def test_a_callback_for_a_call_never_answered_is_never_hung_up_at_acs() -> None:
    port = free_port()
    control = FakeCallControl()
    router = CallEventRouter(
        instance_id="a",
        registry=MemoryCallRegistry(SystemClock(), ttl_ms=10_000),
        bus=MemoryEventBus(),
        call_control=control,
        hold_ms=50.0,
        poll_ms=10.0,
    )
    await router.start()
    gateway = AcsGateway(
        AcsGatewayConfig(public_base_url=f"http://127.0.0.1:{port}", verify_tokens=False),
        call_control=control,
        handler=EchoHandler(),
        router=router,  # type: ignore[arg-type]
    )
    try:
        async with (
            serve_app(Starlette(routes=gateway.routes()), port=port) as base,
            httpx.AsyncClient() as http,
        ):
            response = await http.post(
                base + "/api/acs/callbacks", json=callback("ParticipantsUpdated", "someone-else")
            )
            await asyncio.sleep(0.3)  # several hold periods: a held event would be "lost" now
    finally:
        await router.aclose()
    assert response.status_code == 403
    assert [op.name for op in control.operations if op.name == "hang_up"] == []


class TestMediaSockets:
    async def test_a_second_media_socket_for_a_live_call_is_refused_with_1008(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        second = MediaClient(
            str(call.media_options["transportUrl"]),
            token=acs_stack.emulator.mint_token(),
            call_connection_id=call.call_connection_id,
            correlation_id=call.correlation_id,
            fmt=PCM16_16K,
        )
        await second.connect()
        await asyncio.wait_for(second.closed.wait(), 5)
        assert (second.close_code, second.close_reason) == (
            CLOSE_POLICY_VIOLATION,
            DUPLICATE_MEDIA_REASON,
        )
        assert len(acs_stack.handler.calls) == 1
        assert call.media is not None and not call.media.closed.is_set()

    async def test_a_media_socket_without_a_call_token_is_refused(
        self, acs_stack: AcsStack
    ) -> None:
        client = MediaClient(
            acs_stack.base_url.replace("http://", "ws://") + "/ws/acs/media",
            token=acs_stack.emulator.mint_token(),
            call_connection_id="c-unknown",
            correlation_id="x",
            fmt=PCM16_16K,
        )
        with pytest.raises(Exception, match="401"):
            await client.connect()
        assert acs_stack.handler.calls == []

    @pytest.mark.parametrize("rate", [2, 24000])
    async def test_a_metadata_announcing_another_format_keeps_the_negotiated_one(
        self, acs_stack: AcsStack, rate: int
    ) -> None:
        client = MediaClient(
            acs_stack.media_url,
            token=acs_stack.emulator.mint_token(),
            call_connection_id=f"c-{rate}",
            correlation_id="x",
            fmt=PCM16_16K,
        )
        await client.connect()
        metadata = json.loads(encode_audio_metadata(PCM16_24K))
        metadata["audioMetadata"]["sampleRate"] = rate
        await client.send_raw(json.dumps(metadata))
        await client.send_audio(bytes(640))
        await until(lambda: client.stats.frames_received >= 1)
        started = [e for e in acs_stack.handler.media_events if isinstance(e, StreamStarted)]
        assert [s.format for s in started] == [PCM16_16K]
        assert acs_stack.metrics.dropped == {"unsupported_format": 1}
        await client.close()


# --------------------------------------------------------------------------- Event Grid


@dataclass
class SlowCallControl(FakeCallControl):
    """Answers only when released; records how many answers were in flight at once."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.release.wait()
            return await super().answer(call, callback_url=callback_url, media=media)
        finally:
            self.in_flight -= 1


@dataclass
class Refusals:
    """Metrics that record refusals and drops (the Prometheus adapter's two methods)."""

    refused: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def call_refused(self, reason: str) -> None:
        self.refused.append(reason)

    def frame_dropped(self, reason: str) -> None:
        self.dropped.append(reason)


@pytest.fixture
async def gateway_on() -> AsyncIterator[Any]:
    async def start(
        control: FakeCallControl, admission: CallAdmission | None = None, **config: Any
    ) -> tuple[str, AcsGateway]:
        port = free_port()
        gateway = AcsGateway(
            AcsGatewayConfig(
                public_base_url=f"http://127.0.0.1:{port}", verify_tokens=False, **config
            ),
            call_control=control,
            handler=EchoHandler(),
            router=LocalCallEventRouter(),
            admission=admission,
            metrics=metrics,  # type: ignore[arg-type]
        )
        base = await stack.enter_async_context(
            serve_app(Starlette(routes=gateway.routes()), port=port)
        )
        return base, gateway

    metrics = Refusals()
    async with contextlib.AsyncExitStack() as stack:
        start.metrics = metrics  # type: ignore[attr-defined]
        yield start


class TestEventGrid:
    async def test_a_delivery_over_the_cap_gets_413_and_nothing_is_answered(
        self, gateway_on: Any
    ) -> None:
        control = FakeCallControl()
        base, _ = await gateway_on(control, max_events_per_delivery=10)
        async with httpx.AsyncClient() as http:
            response = await http.post(base + "/api/acs/events", json=incoming_events(11))
        assert response.status_code == 413
        assert response.json()["error"] == "too_many_events"
        assert response.json()["max_events"] == 10
        assert control.operations == []

    async def test_incoming_calls_of_one_delivery_are_answered_concurrently_but_bounded(
        self, gateway_on: Any
    ) -> None:
        control = SlowCallControl()
        base, gateway = await gateway_on(control, answer_concurrency=3)
        async with httpx.AsyncClient(timeout=10) as http:
            post = asyncio.create_task(http.post(base + "/api/acs/events", json=incoming_events(8)))
            await until(lambda: control.in_flight == 3)
            await asyncio.sleep(0.05)
            assert control.in_flight == 3
            control.release.set()
            response = await post
        assert response.status_code == 200
        assert control.most_in_flight == 3
        assert gateway.answered_calls == 8

    async def test_while_draining_incoming_calls_get_503_and_are_not_answered(
        self, gateway_on: Any
    ) -> None:
        control = FakeCallControl()
        admission = CallAdmission(5)
        base, _ = await gateway_on(control, admission)
        admission.begin_drain()
        async with httpx.AsyncClient() as http:
            response = await http.post(base + "/api/acs/events", json=incoming_events(1))
        assert response.status_code == 503
        assert response.json()["error"] == "draining"
        assert control.operations == []


class TestAdmission:
    async def test_a_refused_media_socket_is_counted_and_says_draining(
        self, gateway_on: Any
    ) -> None:
        control = FakeCallControl()
        admission = CallAdmission(5)
        base, gateway = await gateway_on(control, admission)
        async with httpx.AsyncClient() as http:
            await http.post(base + "/api/acs/events", json=incoming_events(1))
        admission.begin_drain()
        client = MediaClient(
            control.operations[-1].args["media"].transport_url,
            token=None,
            call_connection_id="c1",
            correlation_id="x",
            fmt=PCM16_16K,
        )
        await client.connect()
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == 1013
        assert client.close_reason.startswith("server draining")
        assert gateway_on.metrics.refused == ["draining"]

    async def test_a_socket_waiting_for_its_answer_already_holds_a_call_slot(
        self, gateway_on: Any
    ) -> None:
        control = SlowCallControl()
        admission = CallAdmission(1)
        base, gateway = await gateway_on(control, admission)
        async with httpx.AsyncClient(timeout=10) as http:
            post = asyncio.create_task(http.post(base + "/api/acs/events", json=incoming_events(1)))
            await until(lambda: control.in_flight == 1)
            # ACS may connect the media socket before the answer returns.
            url = gateway.config.media_base_url + "/ws/acs/media?call_token="
            token = next(iter(gateway._pending))  # noqa: SLF001 (the issued token, read-only)
            client = MediaClient(
                url + token, token=None, call_connection_id="c1", correlation_id="x", fmt=PCM16_16K
            )
            # The upgrade completes only once the answer is known: connect in the background.
            connecting = asyncio.create_task(client.connect())
            await until(lambda: admission.active == 1)
            other = MediaClient(
                url + gateway.call_tokens.issue(),
                token=None,
                call_connection_id="c2",
                correlation_id="y",
                fmt=PCM16_16K,
            )
            await other.connect()
            await asyncio.wait_for(other.closed.wait(), 5)
            assert other.close_code == 1013
            assert gateway_on.metrics.refused == ["busy"]
            control.release.set()
            await post
            await connecting
            await client.close()

    async def test_drain_timeout_hangs_up_the_live_calls_at_acs(self, gateway_on: Any) -> None:
        control = FakeCallControl()
        admission = CallAdmission(5)
        base, gateway = await gateway_on(control, admission)
        async with httpx.AsyncClient() as http:
            await http.post(base + "/api/acs/events", json=incoming_events(1))
        answered = control.operations[-1]
        client = MediaClient(
            answered.args["media"].transport_url,
            token=None,
            call_connection_id="ignored",
            correlation_id="x",
            fmt=PCM16_16K,
        )
        await client.connect()
        await client.send_raw(encode_audio_metadata(PCM16_16K))
        await until(lambda: len(gateway.live_calls) == 1)
        await admission.drain_timed_out()
        hang_ups = [op for op in control.operations if op.name == "hang_up"]
        assert [op.call_connection_id for op in hang_ups] == list(gateway.live_calls)
        await client.close()
