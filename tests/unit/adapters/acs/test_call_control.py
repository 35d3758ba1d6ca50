"""AcsCallControl on the real SDK against the emulator: request shapes, errors, retries."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import pytest
from azure.core import exceptions as azure_errors
from azure.core.credentials import AzureKeyCredential
from azure.core.pipeline.transport import HttpResponse

from adapters.acs.call_control import (
    MAPPED_SDK_ERRORS,
    AcsCallControl,
    build_call_automation_client,
    map_sdk_error,
)
from adapters.acs_emulator.server import AcsEmulator
from ports import (
    PCM16_16K,
    PCM16_24K,
    AuthenticationError,
    CallNotFoundError,
    IncomingCall,
    MediaOptions,
    Participant,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

from .conftest import FAST_RETRY

MEDIA = MediaOptions("ws://127.0.0.1:9/ws/acs/media?session=abc", PCM16_16K)


@pytest.fixture
async def control(emulator: AcsEmulator) -> AsyncIterator[AcsCallControl]:
    emulator.connect_media = False
    client = build_call_automation_client(
        emulator.endpoint, AzureKeyCredential(emulator.access_key)
    )
    try:
        yield AcsCallControl(client, retry=FAST_RETRY)
    finally:
        await client.close()


def offered(emulator: AcsEmulator) -> IncomingCall:
    call = emulator._new_call(caller_raw_id="4:+14255550100", callee_raw_id="4:+14255550199")
    return IncomingCall(
        call.incoming_call_context, Participant.phone("+14255550100"), Participant.phone("+1999")
    )


class TestAnswer:
    async def test_answer_asks_for_bidirectional_mixed_pcm_with_dtmf(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        connection = await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        call = emulator.calls[connection.call_connection_id]
        assert call.media_options == {
            "transportType": "websocket",
            "transportUrl": MEDIA.transport_url,
            "contentType": "audio",
            "audioChannelType": "mixed",
            "startMediaStreaming": True,
            "enableBidirectional": True,
            "audioFormat": "pcm16KMono",
            "enableDtmfTones": True,
        }
        assert call.callback_uri == "http://cb"
        assert connection.server_call_id == call.server_call_id

    async def test_24k_media_is_requested_as_pcm24kmono(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        media = MediaOptions("ws://x/ws/acs/media", PCM16_24K)
        connection = await control.answer(offered(emulator), callback_url="http://cb", media=media)
        assert emulator.calls[connection.call_connection_id].media_options["audioFormat"] == (
            "pcm24KMono"
        )

    async def test_requests_use_the_sdk_default_api_version(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        assert emulator.requests[-1] == (
            "POST",
            "/calling/callConnections:answer?api-version=2026-03-12",
        )


class TestOperations:
    async def test_create_call_places_an_outbound_call_with_media(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        connection = await control.create_call(
            Participant.phone("+14255550123"),
            callback_url="http://cb",
            media=MEDIA,
            source_caller_id="+14255550000",
        )
        call = emulator.calls[connection.call_connection_id]
        assert call.caller_raw_id == "4:+14255550123"
        assert call.media_options["enableBidirectional"] is True

    async def test_transfer_to_a_phone_number_and_to_an_acs_user(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        first = await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        await control.transfer(first.call_connection_id, Participant.phone("+18005550100"))
        second = await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        await control.transfer(second.call_connection_id, Participant.user("8:acs:agent-7"))
        assert emulator.calls[first.call_connection_id].transfers == ["4:+18005550100"]
        assert emulator.calls[second.call_connection_id].transfers == ["8:acs:agent-7"]

    @pytest.mark.parametrize(("for_everyone", "how"), [(True, "terminate"), (False, "delete")])
    async def test_hang_up_terminates_or_leaves(
        self, control: AcsCallControl, emulator: AcsEmulator, for_everyone: bool, how: str
    ) -> None:
        connection = await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        await control.hang_up(connection.call_connection_id, for_everyone=for_everyone)
        assert emulator.calls[connection.call_connection_id].hang_ups == [how]

    async def test_dtmf_recognition_sends_tone_names(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        connection = await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        await control.start_dtmf_recognition(
            connection.call_connection_id,
            Participant.phone("+14255550100"),
            max_tones=4,
            stop_tones=("#", "*"),
            operation_context="pin",
        )
        request = emulator.calls[connection.call_connection_id].pending_recognize
        assert request is not None
        assert request["recognizeInputType"] == "dtmf"
        assert request["operationContext"] == "pin"
        assert request["recognizeOptions"]["dtmfOptions"] == {
            "interToneTimeoutInSeconds": 5,
            "maxTonesToCollect": 4,
            "stopTones": ["pound", "asterisk"],
        }


class TestErrors:
    async def test_an_ended_call_raises_call_not_found(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        with pytest.raises(CallNotFoundError):
            await control.hang_up("no-such-call")

    async def test_a_wrong_access_key_raises_authentication_error_without_retry(
        self, emulator: AcsEmulator
    ) -> None:
        client = build_call_automation_client(emulator.endpoint, AzureKeyCredential("d3Jvbmc="))
        try:
            with pytest.raises(AuthenticationError):
                await AcsCallControl(client, retry=FAST_RETRY).hang_up("x")
        finally:
            await client.close()
        assert emulator.rejected == ["bad_signature"]

    async def test_transient_5xx_is_retried_until_it_succeeds(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        emulator.fail_next(503, times=2)
        await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        assert len(emulator.requests) == 3

    async def test_retries_stop_at_the_attempt_limit(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        emulator.fail_next(500, times=5)
        with pytest.raises(ProviderUnavailableError):
            await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        assert len(emulator.requests) == FAST_RETRY.attempts

    async def test_429_maps_to_rate_limited_with_retry_after(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        emulator.fail_next(429, times=5, retry_after="7")
        with pytest.raises(RateLimitedError) as info:
            await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        assert info.value.retry_after_s == 7.0

    async def test_a_4xx_is_not_retried(
        self, control: AcsCallControl, emulator: AcsEmulator
    ) -> None:
        emulator.fail_next(400, times=5)
        with pytest.raises(ProviderError) as info:
            await control.answer(offered(emulator), callback_url="http://cb", media=MEDIA)
        assert type(info.value) is ProviderError
        assert len(emulator.requests) == 1

    async def test_an_unreachable_endpoint_is_unavailable(self) -> None:
        client = build_call_automation_client("http://127.0.0.1:9", AzureKeyCredential("a2V5"))
        try:
            with pytest.raises(ProviderUnavailableError):
                await AcsCallControl(client, retry=FAST_RETRY).hang_up("x")
        finally:
            await client.close()


def _sdk_error_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(azure_errors, inspect.isclass)
        if issubclass(cls, azure_errors.AzureError)
    ]


class _FakeResponse(HttpResponse):  # type: ignore[misc]
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(None, None)  # type: ignore[arg-type]
        self.status_code = status
        self.reason = "reason"
        self.headers = headers or {}

    def body(self) -> bytes:
        return b""


class TestErrorMapping:
    @pytest.mark.parametrize("sdk_error", _sdk_error_classes(), ids=lambda c: c.__name__)
    def test_every_sdk_error_has_an_explicit_mapping(self, sdk_error: type[BaseException]) -> None:
        assert sdk_error in MAPPED_SDK_ERRORS, f"{sdk_error.__name__} has no port error mapping"
        try:
            error = sdk_error("boom")
        except (AttributeError, TypeError):  # needs a response object: build it bare
            error = sdk_error.__new__(sdk_error)
            error.status_code = None  # type: ignore[attr-defined]
            error.reason = None  # type: ignore[attr-defined]
            error.response = None  # type: ignore[attr-defined]
        assert isinstance(map_sdk_error(error), ProviderError)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (401, AuthenticationError),
            (403, AuthenticationError),
            (404, CallNotFoundError),
            (408, ProviderTimeoutError),
            (429, RateLimitedError),
            (500, ProviderUnavailableError),
            (503, ProviderUnavailableError),
            (504, ProviderTimeoutError),
        ],
    )
    def test_http_status_maps_to_the_port_error(
        self, status: int, expected: type[ProviderError]
    ) -> None:
        error = map_sdk_error(azure_errors.HttpResponseError(response=_FakeResponse(status)))
        assert type(error) is expected
        assert error.port == "call_control"

    def test_timeouts_map_to_provider_timeout(self) -> None:
        assert isinstance(map_sdk_error(TimeoutError()), ProviderTimeoutError)
        assert isinstance(
            map_sdk_error(azure_errors.ServiceRequestTimeoutError("t")), ProviderTimeoutError
        )
