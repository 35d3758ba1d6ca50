"""A browser client that sends but never reads cannot grow the server (issue 12, item 3).

Real uvicorn on 127.0.0.1, the real HTTP adapter; the call handler is a stand-in agent that
speaks as fast as the socket lets it, so the only thing between it and unbounded memory is the
browser stream's bounded outbox.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket

import pytest
import websockets
from prometheus_client import CollectorRegistry
from websockets.exceptions import ConnectionClosed

from adapters.http import PrometheusCallMetrics, build_app
from adapters.http.browser import CLOSE_CLIENT_TOO_SLOW, MAX_OUTBOX, BrowserMediaStream
from ports import AudioFormat, AudioFrame, CallSummary, InboundCall, StreamClosedError
from tests.e2e.server_support import serving

pytestmark = pytest.mark.e2e

FRAME = AudioFrame(bytes(1920), AudioFormat(48000))  # 20 ms at 48 kHz


class FloodingAgent:
    """Reads the caller's events and sends agent audio with no pacing at all."""

    def __init__(self) -> None:
        self.streams: list[BrowserMediaStream] = []

    async def handle_call(self, call: InboundCall) -> CallSummary:
        stream = call.media
        assert isinstance(stream, BrowserMediaStream)
        self.streams.append(stream)

        async def listen() -> None:
            async for _ in stream.events():
                pass

        listener = asyncio.create_task(listen())
        try:
            while not stream.closed:
                try:
                    await stream.send_audio(FRAME)
                except StreamClosedError:
                    break
                await asyncio.sleep(0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        return CallSummary(call_id=stream.call_id, end_reason="remote_closed")


def _app(handler: FloodingAgent) -> tuple[object, PrometheusCallMetrics]:
    registry = CollectorRegistry()
    metrics = PrometheusCallMetrics(registry)
    return build_app(handler=handler, metrics=metrics, metrics_registry=registry), metrics


class RawClient:
    """A WebSocket client on a bare socket: it reads only when told to (RFC 6455 framing)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str = "/ws/browser") -> RawClient:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        # A small read limit: the stream stops reading the socket once 4 KiB are buffered.
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send(self, data: bytes | str) -> None:
        opcode, payload = (0x1, data.encode()) if isinstance(data, str) else (0x2, data)
        n = len(payload)
        if n < 126:
            length = bytes([0x80 | n])
        elif n < 1 << 16:
            length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
        # An all-zero masking key is valid and leaves the payload as it is.
        self.writer.write(bytes([0x80 | opcode]) + length + bytes(4) + payload)
        await self.writer.drain()

    async def read_until_close(self) -> tuple[int, str]:
        """Read every frame the server sent; the close frame's code and reason."""
        while True:
            first, second = await self.reader.readexactly(2)
            n = second & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(n)
            if first & 0x0F == 0x8:
                return int.from_bytes(payload[:2], "big"), payload[2:].decode()

    def close(self) -> None:
        self.writer.close()


async def test_a_client_that_never_reads_is_closed_with_4408_and_the_outbox_stays_bounded() -> None:
    agent = FloodingAgent()
    app, _ = _app(agent)
    with serving(app) as server:
        client = await RawClient.connect(server.port)
        try:
            await client.send(json.dumps({"type": "start", "sample_rate_hz": 48000}))
            async with asyncio.timeout(20):
                while not (agent.streams and agent.streams[0].too_slow):
                    # Keep sending, never reading: audio, and junk that earns error replies.
                    await client.send(bytes(1920))
                    await client.send("not json")
                    await asyncio.sleep(0.01)
            stream = agent.streams[0]
            # Now read: what the server had written arrives, then its close frame.
            async with asyncio.timeout(20):
                code, reason = await client.read_until_close()
        finally:
            client.close()
    assert (code, reason) == (CLOSE_CLIENT_TOO_SLOW, "client not reading")
    assert stream.outbox_high_water <= MAX_OUTBOX


async def test_error_replies_to_dropped_messages_are_rate_limited_but_every_drop_is_counted() -> (
    None
):
    agent = FloodingAgent()
    registry = CollectorRegistry()
    metrics = PrometheusCallMetrics(registry)

    class Listener(FloodingAgent):
        async def handle_call(self, call: InboundCall) -> CallSummary:
            stream = call.media
            assert isinstance(stream, BrowserMediaStream)
            self.streams.append(stream)
            async for _ in stream.events():
                pass
            return CallSummary(call_id=stream.call_id, end_reason="remote_hangup")

    agent = Listener()
    app = build_app(handler=agent, metrics=metrics, metrics_registry=registry)
    errors = 0
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "start"}))
            for _ in range(300):
                await ws.send("not json")
            await ws.send(json.dumps({"type": "hangup"}))
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(10):
                    async for message in ws:
                        if isinstance(message, str) and json.loads(message)["type"] == "error":
                            errors += 1
    dropped = registry.get_sample_value("parley_frames_dropped_total", {"reason": "bad_message"})
    assert dropped == 300
    assert 1 <= errors < 20  # a burst of 5 plus one a second, not one per message
