"""A lean load client for the ACS media WebSocket: hundreds of callers from one core.

The emulator's :class:`~adapters.acs_emulator.media_client.MediaClient` (``websockets``, one
sending task per call) costs more CPU per frame than the server under test, so at a few hundred
calls the load client, not the server, would set the figures. This one is built for load:

* one :class:`LeanMediaSocket` per call, an ``asyncio.Protocol`` speaking RFC 6455 by hand
  (the upgrade request with ACS's headers and JWT, then text frames);
* one :class:`CallerClock` for every call: each 20 ms tick (absolute schedule) builds the two
  possible caller messages once (silent, loud; the ACS ``AudioData`` JSON with this tick's
  timestamp) and writes one of them to every socket;
* client frames are masked with an all-zero key (RFC 6455 section 5.3 lets the client choose
  the key; the server unmasks whatever it is), so one encoded frame serves every call;
* inbound agent frames are classified by their ``kind`` without decoding JSON or base64, and
  only their arrival times are kept.

Facts: RFC 6455 ("The WebSocket Protocol", https://www.rfc-editor.org/rfc/rfc6455) for the
framing; the ACS message shapes are the codec's (:mod:`adapters.acs.media_codec`, "Audio
streaming quickstart").
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from adapters.acs.media_codec import encode_audio_metadata, encode_inbound_audio
from ports import AudioFormat

FRAME_S = 0.020


def ws_text_frame(payload: bytes) -> bytes:
    """One masked client text frame with the all-zero masking key (payload unchanged)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + b"\x00\x00\x00\x00" + payload


def ws_close_frame(code: int = 1000) -> bytes:
    """A masked client close frame (zero key)."""
    return struct.pack("!BB", 0x88, 0x80 | 2) + b"\x00\x00\x00\x00" + struct.pack("!H", code)


@dataclass(slots=True)
class SocketStats:
    """What one caller saw; times are ``time.monotonic()`` seconds.

    Attributes:
        frame_times: Arrival time of every agent ``AudioData`` frame (array of doubles).
        stop_times: Arrival time of every ``StopAudio``.
        other: Messages that were neither.
        sent: Caller frames written.
    """

    frame_times: array[float] = field(default_factory=lambda: array("d"))
    stop_times: list[float] = field(default_factory=list)
    other: int = 0
    sent: int = 0


class LeanMediaSocket(asyncio.Protocol):
    """One call's media WebSocket, from the ACS side, for load.

    Args:
        transport_url: The server's ``transportUrl`` (``ws://host:port/ws/acs/media?...``).
        headers: Upgrade headers (``Authorization``, ``x-ms-call-connection-id``...).
    """

    def __init__(self, transport_url: str, headers: dict[str, str]) -> None:
        self.url = urlsplit(transport_url)
        self.headers = headers
        self.stats = SocketStats()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._handshake: asyncio.Future[None] | None = None
        self._buf = bytearray()
        self._upgraded = False
        self.loud_at: float | None = None

    async def connect(self, timeout_s: float = 30.0) -> None:
        """Open the TCP connection and complete the upgrade.

        Raises:
            ConnectionError: The server refused the upgrade.
            TimeoutError: No answer within ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        self._handshake = loop.create_future()
        host, port = self.url.hostname or "127.0.0.1", self.url.port or 80
        async with asyncio.timeout(timeout_s):
            await loop.create_connection(lambda: self, host, port)
            key = base64.b64encode(os.urandom(16)).decode()
            path = self.url.path + (f"?{self.url.query}" if self.url.query else "")
            lines = [
                f"GET {path} HTTP/1.1",
                f"Host: {host}:{port}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
                *(f"{k}: {v}" for k, v in self.headers.items()),
            ]
            assert self.transport is not None
            self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await self._handshake

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.closed.set()
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(ConnectionError("closed during the upgrade"))

    def data_received(self, data: bytes) -> None:  # noqa: D102
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            self._upgraded = True
            assert self._handshake is not None
            if b" 101 " not in status:
                self._handshake.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self._handshake.set_result(None)
        now = time.monotonic()
        stats = self.stats
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            opcode = b0 & 0x0F
            start = pos + head
            if opcode == 0x1:
                # '{"kind":"AudioData",...' or '{"kind":"StopAudio",...' (the codec's order).
                kind = bytes(buf[start + 9 : start + 18])
                if kind == b"AudioData":
                    stats.frame_times.append(now)
                elif kind == b"StopAudio":
                    stats.stop_times.append(now)
                else:
                    stats.other += 1
            elif opcode == 0x8:
                self.close_code = (buf[start] << 8) | buf[start + 1] if length >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
            pos = start + length
        if pos:
            del buf[:pos]

    def send(self, frame: bytes) -> None:
        """Write one encoded frame (no-op once closed)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(frame)
            self.stats.sent += 1

    async def close(self) -> None:
        """Send a close frame and drop the connection."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(ws_close_frame())
            transport.close()
        self.closed.set()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallerClock:
    """One timer for every caller: each tick writes each live socket's caller frame.

    Args:
        sockets: The callers.
        fmt: Caller audio format.
        loud_pcm: One 20 ms frame of loud caller audio (PCM16LE).
        barge_at: Per socket, monotonic time its caller starts talking (or None: silent).
        barge_for_s: How long each caller talks.
        participant_raw_id: The caller's raw id on every frame.
    """

    def __init__(
        self,
        sockets: list[LeanMediaSocket],
        fmt: AudioFormat,
        loud_pcm: bytes,
        *,
        barge_at: list[float | None],
        barge_for_s: float,
        participant_raw_id: str = "4:+14255550100",
    ) -> None:
        self.sockets = sockets
        self.fmt = fmt
        self.silence = bytes(fmt.frame_bytes(20))
        self.loud = loud_pcm
        self.barge_at = barge_at
        self.barge_for_s = barge_for_s
        self.participant = participant_raw_id
        self.lag_ms = array("d")
        self.ticks = 0

    def _frames(self) -> tuple[bytes, bytes]:
        stamp = _iso(time.time())
        silent = encode_inbound_audio(
            self.silence, timestamp=stamp, participant_raw_id=self.participant, silent=True
        )
        loud = encode_inbound_audio(
            self.loud, timestamp=stamp, participant_raw_id=self.participant, silent=False
        )
        return ws_text_frame(silent.encode()), ws_text_frame(loud.encode())

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every 20 ms on an absolute schedule until ``stop`` is set."""
        start = time.monotonic()
        i = 0
        sockets = self.sockets
        barge_at = self.barge_at
        talk = self.barge_for_s
        while not stop.is_set():
            due = start + i * FRAME_S
            now = time.monotonic()
            self.lag_ms.append(max(0.0, now - due) * 1000)
            silent, loud = self._frames()
            for k, sock in enumerate(sockets):
                at = barge_at[k]
                if at is not None and at <= now < at + talk:
                    if sock.loud_at is None:
                        sock.loud_at = now
                    sock.send(loud)
                else:
                    sock.send(silent)
            self.ticks += 1
            i += 1
            delay = start + i * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                start = time.monotonic() - i * FRAME_S  # far behind: no catch-up burst


async def open_socket(
    transport_url: str,
    *,
    token: str | None,
    call_connection_id: str,
    correlation_id: str,
    fmt: AudioFormat,
) -> LeanMediaSocket:
    """Connect one caller's media socket and send ``AudioMetadata`` (as ACS does first)."""
    headers = {
        "x-ms-call-connection-id": call_connection_id,
        "x-ms-call-correlation-id": correlation_id,
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    sock = LeanMediaSocket(transport_url, headers)
    await sock.connect()
    sock.send(ws_text_frame(encode_audio_metadata(fmt).encode()))
    return sock
