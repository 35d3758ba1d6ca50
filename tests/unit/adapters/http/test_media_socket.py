"""The media channel on uvicorn's WebSocket protocol, with the ACS media stream over it.

Real uvicorn on 127.0.0.1 (``serve_app``) and a real ``websockets`` client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from adapters.acs.media_codec import encode_audio_metadata, encode_inbound_audio
from adapters.acs.media_stream import AcsMediaStream
from adapters.acs_emulator.serving import serve_app
from adapters.http.media_socket import MediaChannel, MediaSocketProtocol, text_frame_header
from adapters.memory import tone_frames
from ports import (
    PCM16_16K,
    AudioReceived,
    MediaEvent,
    StreamClosed,
    StreamClosedError,
    StreamStarted,
)

Endpoint = Callable[[WebSocket], Coroutine[Any, Any, None]]


def app_for(endpoint: Endpoint) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


def inbound(pcm: bytes) -> str:
    stamp = "2026-01-01T00:00:00.000Z"
    return encode_inbound_audio(pcm, timestamp=stamp, participant_raw_id="4:+1")


async def test_an_acs_stream_on_the_channel_reads_in_order_and_writes_at_once() -> None:
    frames = tone_frames(PCM16_16K, 60)
    seen: list[MediaEvent] = []
    offered: list[bool] = []
    sent: list[bool] = []

    async def endpoint(websocket: WebSocket) -> None:
        offered.append(MediaChannel.of(websocket.scope) is not None)
        await websocket.accept()
        stream = AcsMediaStream(websocket, call_id="c1", default_format=PCM16_16K)
        async for event in stream.events():
            seen.append(event)
            if isinstance(event, AudioReceived):
                sent.append(stream.try_send_audio(event.frame))
        await stream.close()

    async with (
        serve_app(app_for(endpoint)) as base,
        websockets.connect(base.replace("http", "ws") + "/ws") as client,
    ):
        await client.send(encode_audio_metadata(PCM16_16K))
        for frame in frames:
            await client.send(inbound(frame.data))
        echoed = [json.loads(await client.recv()) for _ in frames]
    assert offered == [True]
    assert isinstance(seen[0], StreamStarted) and isinstance(seen[-1], StreamClosed)
    audio = [e.frame.data for e in seen if isinstance(e, AudioReceived)]
    assert audio == [f.data for f in frames]
    assert sent == [True] * len(frames)
    assert all(m["kind"] == "AudioData" for m in echoed)


async def test_plain_uvicorn_offers_no_channel_and_the_stream_speaks_asgi() -> None:
    offered: list[bool] = []
    sent: list[bool] = []

    async def endpoint(websocket: WebSocket) -> None:
        offered.append(MediaChannel.of(websocket.scope) is not None)
        await websocket.accept()
        stream = AcsMediaStream(websocket, call_id="c1", default_format=PCM16_16K)
        async for event in stream.events():
            if isinstance(event, AudioReceived):
                sent.append(stream.try_send_audio(event.frame))
                await stream.send_audio(event.frame)
        await stream.close()

    frame = tone_frames(PCM16_16K, 20)[0]
    async with (
        serve_app(app_for(endpoint), ws="websockets-sansio") as base,
        websockets.connect(base.replace("http", "ws") + "/ws") as client,
    ):
        await client.send(inbound(frame.data))
        assert json.loads(await client.recv())["kind"] == "AudioData"
    assert offered == [False]
    assert sent == [False]  # no channel: the frame went through ASGI


async def test_reading_pauses_once_the_unread_messages_reach_the_bound() -> None:
    class SmallBound(MediaSocketProtocol):
        max_queued = 8

    backlog: list[int] = []
    taken: list[int] = []
    release = asyncio.Event()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        channel = MediaChannel.of(websocket.scope)
        assert channel is not None
        channel.attach()
        await asyncio.sleep(0.5)  # the app does not read; the peer keeps sending
        backlog.append(len(channel._inbox))
        release.set()
        while sum(taken) < 200:
            await channel.wait()
            taken.append(len(channel.take()))
            if channel.closed:
                break

    async with (
        serve_app(app_for(endpoint), ws=SmallBound) as base,
        websockets.connect(base.replace("http", "ws") + "/ws") as client,
    ):
        for i in range(200):
            await client.send(json.dumps({"n": i}))
        await asyncio.wait_for(release.wait(), 5)
        await asyncio.sleep(0.5)
    # A paused socket may still hold what one read brought in; never the whole backlog.
    assert backlog and backlog[0] < 200
    assert sum(taken) == 200  # and nothing was lost once the app read again


async def test_a_silent_stream_on_the_channel_closes_after_the_idle_deadline() -> None:
    seen: list[MediaEvent] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        stream = AcsMediaStream(
            websocket, call_id="c1", default_format=PCM16_16K, idle_timeout_s=0.4
        )
        async with asyncio.timeout(5):
            seen.extend([event async for event in stream.events()])
        await stream.close()

    async with (
        serve_app(app_for(endpoint)) as base,
        websockets.connect(base.replace("http", "ws") + "/ws") as client,
    ):
        await client.send(encode_audio_metadata(PCM16_16K))
        await client.wait_closed()
    assert seen[-1] == StreamClosed("idle_timeout")


async def test_a_closed_stream_refuses_audio_on_the_channel() -> None:
    outcome: list[str] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        stream = AcsMediaStream(websocket, call_id="c1", default_format=PCM16_16K)
        _ = [event async for event in stream.events()]  # until the peer hangs up
        try:
            stream.try_send_audio(tone_frames(PCM16_16K, 20)[0])
        except StreamClosedError:
            outcome.append("refused")

    async with (
        serve_app(app_for(endpoint)) as base,
        websockets.connect(base.replace("http", "ws") + "/ws") as client,
    ):
        await client.send(encode_audio_metadata(PCM16_16K))
        await client.close()  # the peer hangs up; the server keeps serving a moment
        await asyncio.sleep(0.3)
    assert outcome == ["refused"]


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536])
def test_frame_headers_follow_rfc_6455_lengths(length: int) -> None:
    header = text_frame_header(length)
    assert header[0] == 0x81  # FIN + text, unmasked
    if length < 126:
        assert header[1] == length and len(header) == 2
    elif length < 65536:
        assert header[1] == 126 and int.from_bytes(header[2:4], "big") == length
    else:
        assert header[1] == 127 and int.from_bytes(header[2:10], "big") == length
