"""A burst of inbound media messages never holds the event loop (no input of one call may
stall another call).

A WebSocket whose messages are already queued answers ``receive()`` without suspending, so a
peer that floods (audio faster than real time, or garbage the codec drops) would keep the
loop until its burst is read. Both media streams, ACS and browser, yield while they read: a
ticker task sharing the loop must get turns throughout the burst. Turns are counted, not
timed.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from typing import Any

import pytest
from starlette.websockets import WebSocketState

from adapters.acs.media_stream import AcsMediaStream
from adapters.http.browser import BrowserMediaStream
from adapters.http.media_socket import MEDIA_CHANNEL_EXTENSION, MediaChannel
from adapters.memory import RecordingMetrics
from ports import PCM16_16K, StreamClosed

BURST = 2000


class QueuedSocket:
    """A socket whose every message is already there: ``receive()`` never suspends."""

    application_state = WebSocketState.CONNECTED

    def __init__(self, messages: list[dict[str, Any]], scope: dict[str, Any] | None = None) -> None:
        self._messages = deque(messages)
        self.scope = scope or {}

    async def receive(self) -> dict[str, Any]:
        if self._messages:
            return self._messages.popleft()
        return {"type": "websocket.disconnect", "code": 1000}

    async def close(self, code: int = 1000) -> None:
        self.application_state = WebSocketState.DISCONNECTED


def acs_audio() -> dict[str, Any]:
    data = base64.b64encode(bytes(640)).decode()
    text = json.dumps({"kind": "AudioData", "audioData": {"data": data, "timestamp": "t"}})
    return {"type": "websocket.receive", "text": text}


def acs_stream(messages: list[dict[str, Any]]) -> AcsMediaStream:
    return AcsMediaStream(
        QueuedSocket(messages),  # type: ignore[arg-type]
        call_id="c",
        default_format=PCM16_16K,
        metrics=RecordingMetrics(),
        metadata_wait_s=5.0,
    )


def browser_stream(messages: list[dict[str, Any]]) -> BrowserMediaStream:
    return BrowserMediaStream(
        QueuedSocket(messages),  # type: ignore[arg-type]
        PCM16_16K,
        "c",
        metrics=RecordingMetrics(),
        idle_timeout_s=5.0,
        max_message_bytes=4096,
    )


async def turns_of_a_ticker_while_read(stream: Any) -> tuple[int, int]:
    """(loop turns another task got while the burst was read, events read)."""
    done = False
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is running
    start = turns
    events = 0
    async for event in stream.events():
        events += 1
        if isinstance(event, StreamClosed):
            break
    done = True
    await task
    return turns - start, events


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(acs_stream, acs_audio(), id="acs-audio"),
        pytest.param(acs_stream, {"type": "websocket.receive", "text": "{not json"}, id="acs-bad"),
        pytest.param(
            browser_stream, {"type": "websocket.receive", "bytes": bytes(640)}, id="browser-audio"
        ),
        pytest.param(
            browser_stream, {"type": "websocket.receive", "bytes": bytes(641)}, id="browser-bad"
        ),
    ],
)
async def test_a_burst_of_queued_messages_leaves_the_loop_to_other_calls(make, message) -> None:
    turns, events = await turns_of_a_ticker_while_read(make([message] * BURST))
    assert events >= 2  # started ... closed: the burst was read to its end
    # Other tasks get a turn at least every few dozen messages, however fast they come.
    assert turns >= BURST // 32


async def test_a_flood_of_bad_acs_messages_logs_a_bounded_number_of_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every drop is counted, but a peer sending garbage must not write a log line each."""
    bad = {"type": "websocket.receive", "text": "{not json"}
    metrics = RecordingMetrics()
    stream = AcsMediaStream(
        QueuedSocket([acs_audio()] + [bad] * BURST),  # type: ignore[arg-type]
        call_id="c",
        default_format=PCM16_16K,
        metrics=metrics,
        metadata_wait_s=5.0,
    )
    with caplog.at_level("INFO"):
        async for event in stream.events():
            if isinstance(event, StreamClosed):
                break
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert metrics.dropped["malformed_json"] == BURST
    assert 1 <= len(warnings) <= 2  # the first drop, and the call's total at its end
    assert str(BURST) in warnings[-1].getMessage()


class ChannelProtocol:
    """What a MediaChannel needs of uvicorn's protocol, for a channel filled by the test."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    def attach_channel(self, channel: MediaChannel) -> None:
        pass

    def resume_if_paused(self) -> None:
        pass


async def test_a_media_channel_batch_of_a_flood_leaves_the_loop_to_other_calls() -> None:
    """``parley serve``'s media channel hands over all one read brought as one batch."""
    channel = MediaChannel(ChannelProtocol())  # type: ignore[arg-type]
    for message in [acs_audio()["text"]] * BURST:
        channel._put(message)  # noqa: SLF001 (what the protocol does on a read)
    channel._close()  # noqa: SLF001 (the peer closed after its burst)
    socket = QueuedSocket([], scope={"extensions": {MEDIA_CHANNEL_EXTENSION: channel}})
    stream = AcsMediaStream(
        socket,  # type: ignore[arg-type]
        call_id="c",
        default_format=PCM16_16K,
        metrics=RecordingMetrics(),
        metadata_wait_s=0.01,
    )
    turns, events = await turns_of_a_ticker_while_read(stream)
    assert events == BURST + 2  # started, every frame, closed
    assert turns >= BURST // 32
