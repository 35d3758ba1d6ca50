"""Twilio error translation, stream tokens, and the mark-gated sender (a fake socket)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import twilio.base.exceptions as twilio_errors
from starlette.websockets import WebSocketState

from adapters.twilio.call_control import MAPPED_ERRORS, map_twilio_error
from adapters.twilio.media_codec import encode_mark_echo
from adapters.twilio.media_stream import TWILIO_PCM_FORMAT, TwilioMediaStream
from adapters.twilio.stream_tokens import StreamTokens
from ports import (
    AudioFrame,
    AuthenticationError,
    CallNotFoundError,
    InvalidTargetError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)


def rest(status: int, code: int | None = None) -> twilio_errors.TwilioRestException:
    return twilio_errors.TwilioRestException(status, "https://api.twilio.com/x", "m", code)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (rest(401, 20003), AuthenticationError),
        (rest(404, 20404), CallNotFoundError),
        (rest(400, 21220), CallNotFoundError),
        (rest(400, 21211), InvalidTargetError),
        (rest(429, 20429), RateLimitedError),
        (rest(503), ProviderUnavailableError),
        (rest(504), ProviderTimeoutError),
        (aiohttp.ClientConnectionError(), ProviderUnavailableError),
        (TimeoutError(), ProviderTimeoutError),
    ],
)
def test_twilio_errors_become_port_errors(error: Exception, expected: type) -> None:
    mapped = map_twilio_error(error)
    assert type(mapped) is expected and mapped.port == "call_control"


def test_every_error_class_of_the_twilio_package_has_a_mapping() -> None:
    classes = [
        c for c in vars(twilio_errors).values()
        if isinstance(c, type) and issubclass(c, Exception)
    ]  # fmt: skip
    for error_class in classes:
        assert any(issubclass(error_class, mapped) for mapped in MAPPED_ERRORS), error_class


def test_stream_tokens_are_checked_against_the_deployment_key() -> None:
    ours, theirs = StreamTokens(b"k" * 32), StreamTokens(b"x" * 32)
    token = ours.issue()
    assert ours.verify(token) and StreamTokens(b"k" * 32).verify(token)
    assert not theirs.verify(token) and not ours.verify("") and not ours.verify("a.b")


class FakeSocket:
    """A Starlette WebSocket stand-in: records what is sent, replays what Twilio sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.application_state = WebSocketState.CONNECTED

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def close(self, code: int = 1000) -> None:
        self.application_state = WebSocketState.DISCONNECTED


FRAME = AudioFrame(bytes(320), TWILIO_PCM_FORMAT)


async def test_sending_waits_for_marks_when_too_much_audio_is_unconfirmed() -> None:
    socket = FakeSocket()
    stream = TwilioMediaStream(
        socket,
        mark_every=5,
        max_unplayed_ms=200.0,
        mark_wait_s=0.05,  # type: ignore[arg-type]
    )
    stream.stream_sid = "MZ1"
    for _ in range(11):  # 220 ms sent, nothing confirmed yet: only the bound was reached
        await stream.send_audio(FRAME)
    assert stream.mark_waits_expired == 0
    marks = [m["mark"]["name"] for m in socket.sent if m["event"] == "mark"]
    assert marks == ["0:100", "0:200"]
    await stream.send_audio(FRAME)  # over the bound: waits for a mark, then sends anyway
    assert stream.mark_waits_expired == 1
    # Twilio echoes the second mark: 200 ms played, and the reader takes the echo.
    reader = asyncio.create_task(_drain(stream))
    echo = encode_mark_echo("MZ1", "0:200", sequence_number=9)
    socket.inbox.put_nowait({"type": "websocket.receive", "text": echo})
    async with asyncio.timeout(2):
        while stream.unplayed_ms > 40.0:
            await asyncio.sleep(0.005)
    await stream.send_audio(FRAME)
    assert stream.mark_waits_expired == 1  # confirmed playback: no more waiting
    socket.inbox.put_nowait({"type": "websocket.disconnect"})
    await reader


async def _drain(stream: TwilioMediaStream) -> None:
    async for _event in stream.events():
        pass


async def test_clear_forgets_marks_of_the_audio_it_dropped() -> None:
    socket = FakeSocket()
    stream = TwilioMediaStream(socket, mark_every=1)  # type: ignore[arg-type]
    stream.stream_sid = "MZ1"
    await stream.send_audio(FRAME)
    await stream.stop_audio()
    assert socket.sent[-1] == {"event": "clear", "streamSid": "MZ1"}
    assert stream.unplayed_ms == 0.0
    stream._on_mark("0:20")  # an echo of a cleared mark: ignored
    assert stream.marks_echoed == 0
    await stream.send_audio(FRAME)
    assert socket.sent[-1]["mark"]["name"] == "1:20"  # a new generation
