"""A media fast path on uvicorn's WebSocket protocol: batches in, one write per frame out.

Through ASGI, every inbound media message costs a dict, an ``asyncio.Queue`` hand-off, a
``pause_reading``/``resume_reading`` pair (two ``epoll_ctl`` calls) and a task wake-up, and every
outbound frame a dict and the ``websockets`` frame builder. At 50 frames per second per call
each way that overhead was most of the server's CPU (issue 22's profile).

:class:`MediaSocketProtocol` is uvicorn's sans-I/O WebSocket protocol (``websockets-sansio``:
handshake, parsing, ping/pong, the close handshake and ASGI all stay as they are) with two
changes:

* reading pauses only when :attr:`MediaSocketProtocol.max_queued` messages wait unread
  (a bounded queue, not one pause per message);
* it offers a :class:`MediaChannel` in the connection scope
  (``scope["extensions"]["parley.media_channel"]``). A media stream that attaches it gets
  inbound text messages in batches (no ASGI dicts) and sends text frames synchronously with one
  ``transport.write``, returning ``False`` instead of blocking when the peer is not reading.

Everything else (accept, close, denial responses) still goes through ASGI, so the same app runs
on any ASGI server; a stream that finds no channel in its scope uses ASGI for everything.

Framing facts: RFC 6455, "The WebSocket Protocol", section 5.2 (https://www.rfc-editor.org/rfc/rfc6455):
a server's frames are unmasked; payloads of 126..65535 bytes use the 16-bit extended length. An
uncompressed message is always allowed, even when permessage-deflate was negotiated (RFC 7692,
section 6, https://www.rfc-editor.org/rfc/rfc7692).
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = [
    "MEDIA_CHANNEL_EXTENSION",
    "MediaChannel",
    "MediaSocketProtocol",
    "text_frame_header",
]

MEDIA_CHANNEL_EXTENSION: Final = "parley.media_channel"
"""Scope extension key under which :class:`MediaSocketProtocol` offers its channel."""

DEFAULT_MAX_QUEUED: Final = 256
"""Unread inbound messages at which reading pauses (about 5 s of one call's 20 ms frames)."""


def text_frame_header(length: int) -> bytes:
    """The header of one unmasked, final text frame of ``length`` payload bytes (RFC 6455 5.2)."""
    if length < 126:
        return struct.pack("!BB", 0x81, length)
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


class MediaChannel:
    """One accepted WebSocket's messages, for a media stream that takes them in batches.

    Created by the protocol; a stream calls :meth:`attach` once, after ``accept``. From then on
    inbound text and binary messages are queued here instead of on the ASGI queue.

    Attributes:
        closed: True once the peer closed, the connection was lost or a close was sent.
    """

    __slots__ = ("_attached", "_inbox", "_protocol", "_waiter", "closed")

    def __init__(self, protocol: MediaSocketProtocol) -> None:
        self._protocol = protocol
        self._inbox: deque[str | bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._attached = False
        self.closed = False

    @staticmethod
    def of(scope: Mapping[str, Any]) -> MediaChannel | None:
        """The channel offered in an ASGI connection ``scope``, if the server offers one."""
        extensions = scope.get("extensions") or {}
        channel = extensions.get(MEDIA_CHANNEL_EXTENSION)
        return channel if isinstance(channel, MediaChannel) else None

    def attach(self) -> None:
        """Take the socket's inbound messages from now on (those already queued included)."""
        if self._attached:
            return
        self._attached = True
        self._protocol.attach_channel(self)

    # -------------------------------------------------------------- inbound (protocol side)

    def _put(self, message: str | bytes) -> None:
        self._inbox.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _close(self) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -------------------------------------------------------------- inbound (stream side)

    def take(self) -> deque[str | bytes]:
        """Every message received and not yet taken (possibly none), oldest first."""
        inbox = self._inbox
        if not inbox:
            return inbox
        self._inbox = deque()
        self._protocol.resume_if_paused()
        return inbox

    async def wait(self) -> None:
        """Return once a message is waiting or the channel closed (at once if either holds)."""
        if self._inbox or self.closed:
            return
        waiter = self._waiter = self._protocol.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        """Make a pending :meth:`wait` return (an idle check, a deadline)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -------------------------------------------------------------- outbound

    def send_frame(self, frame: bytes) -> bool:
        """Write one whole text frame (header and payload; see :func:`text_frame_header`).

        Returns:
            True when written; False when the peer is not reading (the transport's buffer is
            over its high-water mark) or the channel is closed: nothing was written.
        """
        protocol = self._protocol
        if self.closed or protocol.close_sent or not protocol.writable.is_set():
            return False
        transport = protocol.transport
        if transport.is_closing():
            return False
        transport.write(frame)
        return True

    @property
    def writable(self) -> bool:
        """False while the peer is not reading (writes would only grow the buffer)."""
        return self._protocol.writable.is_set()


class _Inbox(asyncio.Queue):  # type: ignore[type-arg]
    """uvicorn's ASGI receive queue, also telling an attached channel about disconnects."""

    channel: MediaChannel | None = None

    def put_nowait(self, item: Any) -> None:
        super().put_nowait(item)
        channel = self.channel
        if channel is not None and item.get("type") == "websocket.disconnect":
            channel._close()


class MediaSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with a bounded read pause and a media channel.

    Use as ``uvicorn.Config(ws=MediaSocketProtocol)``. ``max_queued`` is the number of unread
    inbound messages (ASGI queue or channel) at which the socket stops reading until the app
    catches up, so a peer can never fill memory.
    """

    max_queued: int = DEFAULT_MAX_QUEUED

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = _Inbox()
        self.queue = self._inbox
        self._channel: MediaChannel | None = None

    def handle_connect(self, event: Any) -> None:
        """The upgrade request: as uvicorn, plus the channel in the scope."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][MEDIA_CHANNEL_EXTENSION] = MediaChannel(self)

    def attach_channel(self, channel: MediaChannel) -> None:
        """Route inbound messages to ``channel`` (moving any already on the ASGI queue)."""
        kept: list[Any] = []
        while not self._inbox.empty():
            item: dict[str, Any] = self._inbox.get_nowait()
            kind = item.get("type")
            if kind == "websocket.receive":
                text = item.get("text")
                channel._put(text if isinstance(text, str) else bytes(item.get("bytes") or b""))
            else:
                kept.append(item)
                if kind == "websocket.disconnect":
                    channel._close()
        for item in kept:
            self._inbox.put_nowait(item)
        self._channel = channel
        self._inbox.channel = channel
        if self.close_sent or self.disconnected:
            channel._close()
        self.resume_if_paused()

    def send_receive_event_to_app(self) -> None:
        """A whole message arrived: to the channel when attached, else to the ASGI queue."""
        channel = self._channel
        if channel is None:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            self.frames = []
            if self.close_sent:
                return
            if self.curr_msg_data_type == "text":
                try:
                    message: dict[str, Any] = {"type": "websocket.receive", "text": data.decode()}
                except UnicodeDecodeError:
                    self.logger.warning("invalid UTF-8 in a WebSocket text message; closing")
                    self.conn.send_close(1007)
                    self.handle_parser_exception()
                    return
            else:
                message = {"type": "websocket.receive", "bytes": data}
            self._inbox.put_nowait(message)
            queued = self._inbox.qsize()
        else:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            self.frames = []
            if self.close_sent:
                return
            if self.curr_msg_data_type == "text":
                try:
                    channel._put(data.decode())
                except UnicodeDecodeError:
                    self.logger.warning("invalid UTF-8 in a WebSocket text message; closing")
                    self.conn.send_close(1007)
                    self.handle_parser_exception()
                    return
            else:
                channel._put(bytes(data))
            queued = len(channel._inbox)
        if queued >= self.max_queued and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> Any:
        """ASGI receive; reading resumes once the backlog is below half of ``max_queued``."""
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() < self.max_queued // 2:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def resume_if_paused(self) -> None:
        """Resume reading after the channel's backlog was taken."""
        if self.read_paused and not self.close_sent and not self.disconnected:
            channel = self._channel
            backlog = len(channel._inbox) if channel is not None else self.queue.qsize()
            if backlog < self.max_queued // 2:
                self.read_paused = False
                self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """As uvicorn; the channel is closed too, and this protocol lets go of it.

        The channel points back at the protocol (it writes through it), so the protocol's
        references to the channel are dropped here: once the stream lets go of the channel,
        reference counting frees the connection's objects at once rather than leaving a
        cycle for the garbage collector (issue 12, bench_soak with the tuned collector).
        """
        super().connection_lost(exc)
        channel = self._channel
        if channel is not None:
            channel._close()
        self._channel = None
        self._inbox.channel = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope.get("extensions", {}).pop(MEDIA_CHANNEL_EXTENSION, None)
