"""ACS protocol behaviour through the whole in-process server (fake engines: no CPU-heavy STT).

Auth (missing, wrong audience, expired, wrong key rejected; a good token passes), duplicate
Event Grid delivery answered once, and DTMF from the emulator reaching the call's session.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.signing import EmulatorSigner
from bootstrap.call_command import open_stack, read_transcript
from ports import PCM16_16K

from .acs_support import offline_settings

pytestmark = pytest.mark.e2e


def fake_settings():  # type: ignore[no-untyped-def]
    return offline_settings(stt="fake", tts="fake", llm="fake", vad="fake")


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_acs_tokens_are_checked_on_media_and_callbacks() -> None:
    async with open_stack(fake_settings(), warm_decoders=0) as stack:
        emulator = stack.emulator
        bad = {
            "missing": None,
            "wrong audience": emulator.mint_token(audience="some-other-acs-resource"),
            "expired": emulator.mint_token(lifetime_s=-600),
            "wrong key": EmulatorSigner(kid=emulator.signer.kid).mint(
                audience=emulator.resource_id
            ),
        }
        media_url = stack.base_url.replace("http://", "ws://") + "/ws/acs/media"
        for name, token in bad.items():
            client = MediaClient(
                media_url, token=token, call_connection_id="c-1", correlation_id="x", fmt=PCM16_16K
            )
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                await client.connect()
            assert refused.value.response.status_code == 401, name
        async with httpx.AsyncClient() as http:
            for name, token in bad.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = await http.post(
                    stack.base_url + "/api/acs/callbacks", json=[], headers=headers
                )
                assert response.status_code == 401, name
        # A good token passes: a whole call connects and streams.
        call = await emulator.offer_call(stack.events_url)
        await asyncio.wait_for(call.media_ready.wait(), 10)
        assert call.media_error is None and call.media is not None
        assert ("CallConnected", 200) in call.callbacks
        await emulator.hang_up(call)


async def test_duplicate_incoming_call_delivery_is_answered_once() -> None:
    async with open_stack(fake_settings(), warm_decoders=0) as stack:
        await stack.emulator.validate_subscription(stack.events_url)
        call = await stack.emulator.offer_call(stack.events_url, deliveries=3)
        answers = [
            r for r in stack.emulator.requests if r[1].startswith("/calling/callConnections:answer")
        ]
        assert len(answers) == 1
        await asyncio.wait_for(call.media_ready.wait(), 10)
        await stack.emulator.hang_up(call)


async def test_dtmf_from_the_emulator_reaches_the_session() -> None:
    async with open_stack(fake_settings(), warm_decoders=0) as stack:
        call = await stack.emulator.offer_call(stack.events_url)
        await asyncio.wait_for(call.media_ready.wait(), 10)
        assert call.media is not None
        call.media.start_line()
        await stack.emulator.press(call, "1234#")

        async def user_turns() -> list[str]:
            entries = await read_transcript(stack, call.call_connection_id)
            return [e["text"] for e in entries if e["kind"] == "user"]

        seen: list[str] = []
        for _ in range(100):
            seen = await user_turns()
            if seen:
                break
            await asyncio.sleep(0.05)
        assert seen == ["1234"]
        await stack.emulator.hang_up(call)
