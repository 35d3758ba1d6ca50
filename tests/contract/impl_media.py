"""Real media streams under contract: ACS, Twilio and the browser, each over a real socket.

Each fixture serves one WebSocket endpoint with uvicorn on 127.0.0.1 that builds the adapter's
stream (as its gateway would, minus authentication) and hands it to the test; the far end is a
``websockets`` client speaking the provider's wire protocol through the provider's own codec
(the ACS and Twilio media codecs, the browser protocol of ``docs/browser-protocol.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from adapters.acs_emulator.serving import serve_app
from adapters.audio.convert import mulaw_decode, mulaw_encode
from parley.contract import MediaStreamCase, Outbound
from ports import PCM16_16K, AudioFormat, AudioFrame, MediaStream

Decode = Callable[[str | bytes], Outbound | None]


class SocketFarEnd:
    """The far end of a real media socket: sends the provider's messages, decodes ours."""

    def __init__(
        self,
        ws: websockets.ClientConnection,
        decode: Decode,
        *,
        audio: Callable[[AudioFrame], Awaitable[None]],
        dtmf: Callable[[str], Awaitable[None]],
        hang_up: Callable[[], Awaitable[None]],
    ) -> None:
        self._ws = ws
        self._decode = decode
        self._audio, self._dtmf, self._hang_up = audio, dtmf, hang_up
        self.items: list[Outbound] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="contract-far-end")

    async def _read(self) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for message in self._ws:
                item = self._decode(message)
                if item is not None:
                    self.items.append(item)
                    self._arrived.set()

    async def send_audio(self, frame: AudioFrame) -> None:
        await self._audio(frame)

    async def send_dtmf(self, digit: str) -> None:
        await self._dtmf(digit)

    async def hang_up(self) -> None:
        await self._hang_up()

    async def received(self, count: int, *, timeout_s: float = 2.0) -> list[Outbound]:
        async with asyncio.timeout(timeout_s):
            while len(self.items) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.items)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def served_stream(
    build: Callable[[WebSocket], Awaitable[MediaStream]],
) -> AsyncIterator[tuple[str, asyncio.Future[MediaStream]]]:
    """Serve ``WS /media`` building one stream with ``build``; yield its URL and the stream."""
    built: asyncio.Future[MediaStream] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        stream = await build(websocket)
        built.set_result(stream)
        await done.wait()
        with contextlib.suppress(Exception):
            await stream.close()

    app = Starlette(routes=[WebSocketRoute("/media", endpoint)])
    async with serve_app(app, lifespan="off") as base:
        try:
            yield base.replace("http://", "ws://") + "/media", built
        finally:
            done.set()


async def _case(
    build: Callable[[WebSocket], Awaitable[MediaStream]],
    connect: Callable[[str], Awaitable[tuple[SocketFarEnd, Any]]],
    fmt: AudioFormat,
    call_id: str,
    wire: Callable[[bytes], bytes] | None = None,
) -> AsyncIterator[MediaStreamCase]:
    async with served_stream(build) as (url, built):
        far_end, _ = await connect(url)
        stream = await asyncio.wait_for(built, 5)
        try:
            yield MediaStreamCase(stream, far_end, fmt, call_id, wire=wire or (lambda b: b))
        finally:
            await far_end.aclose()


# ACS ---------------------------------------------------------------------------------------


@pytest.fixture
async def acs_media_stream() -> AsyncIterator[MediaStreamCase]:
    from adapters.acs.media_codec import (
        AudioData,
        StopAudio,
        decode_outbound,
        encode_audio_metadata,
        encode_dtmf,
        encode_inbound_audio,
    )
    from adapters.acs.media_stream import AcsMediaStream

    def decode(message: str | bytes) -> Outbound | None:
        decoded = decode_outbound(message)
        if isinstance(decoded, StopAudio):
            return "stop_audio"
        if isinstance(decoded, AudioData):
            return AudioFrame(decoded.pcm, PCM16_16K)
        return None

    async def build(websocket: WebSocket) -> MediaStream:
        return AcsMediaStream(websocket, call_id="acs-contract", default_format=PCM16_16K)

    async def connect(url: str) -> tuple[SocketFarEnd, Any]:
        ws = await websockets.connect(url, close_timeout=0.5)
        await ws.send(encode_audio_metadata(PCM16_16K))

        async def audio(frame: AudioFrame) -> None:
            await ws.send(
                encode_inbound_audio(frame.data, timestamp="2026-01-01T00:00:00Z",
                                     participant_raw_id="4:+14255550123")
            )  # fmt: skip

        async def dtmf(digit: str) -> None:
            await ws.send(encode_dtmf(digit))

        async def hang_up() -> None:
            await ws.close()

        return SocketFarEnd(ws, decode, audio=audio, dtmf=dtmf, hang_up=hang_up), None

    async for case in _case(build, connect, PCM16_16K, "acs-contract"):
        yield case


# Twilio ------------------------------------------------------------------------------------


@pytest.fixture
async def twilio_media_stream() -> AsyncIterator[MediaStreamCase]:
    from adapters.twilio.media_codec import (
        Clear,
        Media,
        decode_outbound,
        encode_connected,
        encode_dtmf,
        encode_inbound_media,
        encode_start,
        encode_stop,
    )
    from adapters.twilio.media_stream import TWILIO_PCM_FORMAT, TwilioMediaStream

    fmt = TWILIO_PCM_FORMAT
    call_sid, stream_sid = "CA" + "0" * 32, "MZ" + "1" * 32

    def decode(message: str | bytes) -> Outbound | None:
        decoded = decode_outbound(message)
        if isinstance(decoded, Clear):
            return "stop_audio"
        if isinstance(decoded, Media):
            return AudioFrame(mulaw_decode(decoded.mulaw), fmt)
        return None  # marks: playback bookkeeping, not audio

    async def build(websocket: WebSocket) -> MediaStream:
        stream = TwilioMediaStream(websocket)
        start = await stream.handshake(5.0)
        assert start is not None and start.call_sid == call_sid
        return stream

    async def connect(url: str) -> tuple[SocketFarEnd, Any]:
        ws = await websockets.connect(url, close_timeout=0.5)
        await ws.send(encode_connected())
        await ws.send(
            encode_start(stream_sid=stream_sid, call_sid=call_sid, account_sid="AC" + "2" * 32,
                         custom_parameters={"call_token": "t"})
        )  # fmt: skip
        sequence = iter(range(2, 10_000))

        async def audio(frame: AudioFrame) -> None:
            n = next(sequence)
            await ws.send(
                encode_inbound_media(stream_sid, mulaw_encode(frame.data), sequence_number=n,
                                     chunk=n, timestamp_ms=n * 20)
            )  # fmt: skip

        async def dtmf(digit: str) -> None:
            await ws.send(encode_dtmf(stream_sid, digit, sequence_number=next(sequence)))

        async def hang_up() -> None:
            await ws.send(
                encode_stop(stream_sid, call_sid=call_sid, account_sid="AC" + "2" * 32,
                            sequence_number=next(sequence))
            )  # fmt: skip
            await ws.close()

        return SocketFarEnd(ws, decode, audio=audio, dtmf=dtmf, hang_up=hang_up), None

    def wire(pcm: bytes) -> bytes:
        return mulaw_decode(mulaw_encode(pcm))  # G.711 is lossy: compare what survives it

    async for case in _case(build, connect, fmt, call_sid, wire):
        yield case


# Browser -----------------------------------------------------------------------------------


@pytest.fixture
async def browser_media_stream() -> AsyncIterator[MediaStreamCase]:
    from adapters.http.browser import BrowserMediaStream
    from adapters.memory import RecordingMetrics

    def decode(message: str | bytes) -> Outbound | None:
        if isinstance(message, bytes):
            return AudioFrame(message, PCM16_16K)
        payload = json.loads(message)
        return "stop_audio" if payload.get("type") == "stop_audio" else None

    async def build(websocket: WebSocket) -> MediaStream:
        stream = BrowserMediaStream(
            websocket, PCM16_16K, "browser-contract", metrics=RecordingMetrics(),
            idle_timeout_s=30.0, max_message_bytes=64 * 1024,
        )  # fmt: skip
        stream.start_writer()
        return stream

    async def connect(url: str) -> tuple[SocketFarEnd, Any]:
        ws = await websockets.connect(url, close_timeout=0.5)

        async def audio(frame: AudioFrame) -> None:
            await ws.send(frame.data)

        async def dtmf(digit: str) -> None:
            await ws.send(json.dumps({"type": "dtmf", "digit": digit}))

        async def hang_up() -> None:
            await ws.send(json.dumps({"type": "hangup"}))

        return SocketFarEnd(ws, decode, audio=audio, dtmf=dtmf, hang_up=hang_up), None

    async for case in _case(build, connect, PCM16_16K, "browser-contract"):
        yield case
