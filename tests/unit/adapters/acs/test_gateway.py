"""The ACS endpoints on a real uvicorn: Event Grid, callbacks, media socket and their auth."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.acs.gateway import callback_to_event
from adapters.acs.media_codec import encode_audio_metadata, encode_inbound_audio
from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.server import EmulatedCall
from adapters.acs_emulator.signing import EmulatorSigner
from ports import (
    PCM16_16K,
    AudioReceived,
    CallEventKind,
    DtmfReceived,
    StreamClosed,
    StreamStarted,
)

from .conftest import AcsStack


async def until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def connected_call(stack: AcsStack) -> EmulatedCall:
    call = await stack.emulator.offer_call(stack.events_url)
    await asyncio.wait_for(call.media_ready.wait(), 5)
    assert call.media_error is None
    return call


class TestEventGrid:
    async def test_subscription_validation_echoes_the_code(self, acs_stack: AcsStack) -> None:
        assert len(await acs_stack.emulator.validate_subscription(acs_stack.events_url)) == 32

    async def test_duplicate_incoming_call_deliveries_are_answered_once(
        self, acs_stack: AcsStack
    ) -> None:
        await acs_stack.emulator.offer_call(acs_stack.events_url, deliveries=3)
        answers = [r for r in acs_stack.emulator.requests if ":answer" in r[1]]
        assert len(answers) == 1
        assert acs_stack.gateway.answered_calls == 1

    async def test_an_array_of_unknown_events_is_acknowledged(self, acs_stack: AcsStack) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                acs_stack.events_url,
                json=[{"id": "1", "eventType": "Microsoft.Storage.BlobCreated", "data": {}}, 7],
            )
        assert response.status_code == 200

    async def test_malformed_json_is_a_400(self, acs_stack: AcsStack) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(acs_stack.events_url, content=b"{nope")
        assert response.status_code == 400


class TestMedia:
    async def test_answered_call_streams_audio_both_ways(self, acs_stack: AcsStack) -> None:
        call = await connected_call(acs_stack)
        assert call.media is not None
        await call.media.send_audio(bytes(640 * 10), speed=10)
        await until(lambda: call.media is not None and call.media.stats.frames_received == 10)
        events = acs_stack.handler.media_events
        assert events[0] == StreamStarted(PCM16_16K, call.call_connection_id)
        audio = [e for e in events if isinstance(e, AudioReceived)]
        assert [a.frame.timestamp_ms for a in audio[:3]] == [0.0, 20.0, 40.0]
        assert audio[0].participant == call.caller_raw_id
        info = acs_stack.handler.calls[0].info
        assert (info.channel, info.telephony, info.call_id) == (
            "acs",
            True,
            call.call_connection_id,
        )

    async def test_dtmf_on_the_stream_reaches_the_call(self, acs_stack: AcsStack) -> None:
        call = await connected_call(acs_stack)
        await acs_stack.emulator.press(call, "42#")
        await until(
            lambda: (
                len([e for e in acs_stack.handler.media_events if isinstance(e, DtmfReceived)]) == 3
            )
        )

    async def test_stop_audio_discards_what_the_far_end_buffered(self, acs_stack: AcsStack) -> None:
        call = await connected_call(acs_stack)
        assert call.media is not None
        await call.media.send_audio(bytes(640 * 100), speed=20)  # 2 s of echo arrives in 0.1 s
        await until(lambda: call.media is not None and call.media.stats.frames_received == 100)
        await acs_stack.emulator.press(call, "1")  # the echo handler answers DTMF with StopAudio
        await until(lambda: call.media is not None and bool(call.media.stats.stop_audio_times))
        assert call.media.stats.bytes_discarded > 640 * 50

    async def test_caller_hang_up_ends_the_stream_and_the_event_feed(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        await acs_stack.emulator.hang_up(call)
        await until(lambda: isinstance(acs_stack.handler.media_events[-1], StreamClosed))
        await until(lambda: not acs_stack.gateway.router.is_live(call.call_connection_id))  # type: ignore[attr-defined]

    async def test_bad_frames_are_dropped_counted_and_the_call_goes_on(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        assert call.media is not None
        for bad in [
            "{",
            '{"kind":"Nope"}',
            b"\x00\x01",
            '{"kind":"AudioData","audioData":{"data":"AAAA"}}',
        ]:
            await call.media.send_raw(bad)
        await call.media.send_audio(bytes(640))
        await until(lambda: call.media is not None and call.media.stats.frames_received == 1)
        assert acs_stack.metrics.dropped == {
            "malformed_json": 1,
            "unknown_kind": 1,
            "binary_frame": 1,
            "odd_byte_count": 1,
        }

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(messages=st.lists(st.one_of(st.binary(max_size=64), st.text(max_size=64)), max_size=8))
    async def test_fuzzed_messages_never_break_the_call(
        self, acs_stack: AcsStack, messages: list[str | bytes]
    ) -> None:
        call = await connected_call(acs_stack)
        assert call.media is not None
        for message in messages:
            await call.media.send_raw(message)
        await call.media.send_audio(bytes(640))
        await until(lambda: call.media is not None and call.media.stats.frames_received >= 1)
        await acs_stack.emulator.hang_up(call)


class TestCallbacks:
    async def test_callbacks_reach_the_call_by_call_connection_id(
        self, acs_stack: AcsStack
    ) -> None:
        call = await connected_call(acs_stack)
        call.pending_recognize = {
            "recognizeOptions": {"dtmfOptions": {"maxTonesToCollect": 2}},
            "operationContext": "pin",
        }
        await acs_stack.emulator.press(call, "9*")
        await until(
            lambda: any(
                e.kind is CallEventKind.RECOGNIZE_COMPLETED for e in acs_stack.handler.call_events
            )
        )
        kinds = [e.kind for e in acs_stack.handler.call_events]
        # CallConnected came before the media socket: it was held and handed over.
        assert kinds[:2] == [CallEventKind.CALL_CONNECTED, CallEventKind.MEDIA_STREAMING_STARTED]
        recognized = acs_stack.handler.call_events[-1]
        assert recognized.tones == ("9", "*")
        assert recognized.operation_context == "pin"

    async def test_unknown_callback_types_are_acknowledged(self, acs_stack: AcsStack) -> None:
        call = await connected_call(acs_stack)
        status = await acs_stack.emulator.post_callback(call, "HoldFailed")
        assert status == 200

    @pytest.mark.parametrize(
        "name",
        [
            "CallConnected",
            "MediaStreamingStarted",
            "MediaStreamingStopped",
            "MediaStreamingFailed",
            "CallDisconnected",
            "CallTransferAccepted",
            "CallTransferFailed",
            "ParticipantsUpdated",
            "RecognizeCompleted",
            "RecognizeFailed",
            "PlayCompleted",
            "PlayFailed",
        ],
    )
    def test_every_documented_callback_maps_to_a_call_event(self, name: str) -> None:
        event = callback_to_event(
            f"Microsoft.Communication.{name}",
            {
                "callConnectionId": "c1",
                "operationContext": "ctx",
                "resultInformation": {"code": 400, "subCode": 8510, "message": "m"},
                "dtmfResult": {"tones": ["nine", "pound"]},
                "participants": [{"identifier": {"rawId": "4:+1"}}],
            },
        )
        assert event is not None
        assert event.kind.value == name
        assert (event.call_connection_id, event.operation_context, event.result_sub_code) == (
            "c1",
            "ctx",
            8510,
        )
        assert event.tones == ("9", "#")
        assert event.participants == ("4:+1",)

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        body=st.one_of(
            st.binary(max_size=100),
            st.recursive(
                st.none() | st.integers() | st.text(max_size=10),
                lambda c: (
                    st.lists(c, max_size=3)
                    | st.dictionaries(
                        st.sampled_from(
                            ["type", "id", "source", "data", "specversion", "callConnectionId"]
                        ),
                        c,
                        max_size=5,
                    )
                ),
                max_leaves=10,
            ).map(lambda v: json.dumps(v).encode()),
        )
    )
    async def test_fuzzed_callback_bodies_never_crash_the_handler(
        self, acs_stack: AcsStack, body: bytes
    ) -> None:
        token = acs_stack.emulator.mint_token()
        async with httpx.AsyncClient() as client:
            response = await client.post(
                acs_stack.callbacks_url, content=body, headers={"Authorization": f"Bearer {token}"}
            )
            events = await client.post(acs_stack.events_url, content=body)
        assert response.status_code in (200, 400)
        assert events.status_code in (200, 400)


class TestAuth:
    def tokens(self, stack: AcsStack) -> dict[str, str | None]:
        other = EmulatorSigner(kid=stack.emulator.signer.kid)  # same kid, different key
        stranger = EmulatorSigner()  # unknown kid
        return {
            "missing": None,
            "wrong_audience": stack.emulator.mint_token(audience="another-resource"),
            "expired": stack.emulator.mint_token(lifetime_s=-3600),
            "wrong_key": other.mint(audience=stack.emulator.resource_id),
            "unknown_key": stranger.mint(audience=stack.emulator.resource_id),
            "wrong_issuer": stack.emulator.mint_token(issuer="https://evil.example"),
        }

    async def test_bad_callback_tokens_are_rejected_with_401(self, acs_stack: AcsStack) -> None:
        async with httpx.AsyncClient() as client:
            for name, token in self.tokens(acs_stack).items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = await client.post(acs_stack.callbacks_url, json=[], headers=headers)
                assert response.status_code == 401, name
            good = await client.post(
                acs_stack.callbacks_url,
                json=[],
                headers={"Authorization": f"Bearer {acs_stack.emulator.mint_token()}"},
            )
            assert good.status_code == 200

    async def test_bad_media_tokens_are_refused_and_a_good_one_passes(
        self, acs_stack: AcsStack
    ) -> None:
        for name, token in self.tokens(acs_stack).items():
            client = MediaClient(
                acs_stack.media_url,
                token=token,
                call_connection_id="c1",
                correlation_id="x",
                fmt=PCM16_16K,
            )
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                await client.connect()
            assert info.value.response.status_code == 401, name
        assert acs_stack.handler.calls == []
        good = MediaClient(
            acs_stack.media_url,
            token=acs_stack.emulator.mint_token(),
            call_connection_id="c1",
            correlation_id="x",
            fmt=PCM16_16K,
        )
        await good.connect()
        await good.send_raw(encode_audio_metadata(PCM16_16K))
        await good.send_raw(encode_inbound_audio(bytes(640), timestamp="t", participant_raw_id="p"))
        await until(lambda: len(acs_stack.handler.calls) == 1)
        await good.close()
