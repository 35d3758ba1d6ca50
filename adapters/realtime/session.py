"""One realtime session over an SDK connection: ordered sends, decoding, reconnects.

The SDK-specific part is a :class:`Connection` (send one JSON event, receive one raw message,
close) and a connector that opens one (the ``openai`` and ``azure-ai-voicelive`` clients, in
:mod:`adapters.realtime.openai` and :mod:`adapters.realtime.voicelive`); everything else is
shared here.

* ``push_audio`` never blocks: the frame (converted to 24 kHz when the call is not) is queued
  and a writer task sends it; at most ``max_queued_ms`` of audio waits (older audio is dropped
  and counted), so a stalled socket cannot grow the call without limit.
* Requests and audio share one send lock and one order: a commit follows the audio before it.
* When the connection closes (the service's session limit, a network drop) and the session is
  not being closed, it reconnects with exponential backoff (``max_reconnects`` attempts,
  tenacity), re-applies the last configuration and yields ``SessionReconnected``; then it is
  the caller's turn to replay the history. Out of attempts, ``events()`` raises
  :class:`~ports.errors.ProviderUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from adapters.audio import FormatConverter
from adapters.realtime import wire
from adapters.realtime.wire import Decoder, Dialect, Malformed
from ports import (
    AudioFormat,
    AudioFrame,
    AuthenticationError,
    ChatMessage,
    InvalidAudioError,
    ProviderError,
    ProviderUnavailableError,
    StreamClosedError,
)
from ports.realtime import (
    RealtimeConfig,
    RealtimeError,
    RealtimeEvent,
    ResponseRequest,
    SessionReconnected,
)

logger = logging.getLogger(__name__)


class ConnectionLost(Exception):  # noqa: N818 - a signal from the SDK wrappers
    """The connection closed (raised by :meth:`Connection.recv` and ``send``)."""


class Connection(Protocol):
    """One open WebSocket of an SDK."""

    async def send(self, event: dict[str, Any]) -> None:
        """Send one client event. Raises :class:`ConnectionLost` once closed."""
        ...

    async def recv(self) -> bytes | str:
        """The next raw server message. Raises :class:`ConnectionLost` once closed."""
        ...

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        ...


Connector = Callable[[], Awaitable[Connection]]
"""Opens one connection; raises port errors (authentication, rate limit, unavailable)."""


class WireSession:
    """A :class:`~ports.realtime.RealtimeSession` over SDK connections.

    Args:
        connector: Opens a connection.
        dialect: The protocol shape of the service.
        config: The configuration applied on connect (and re-applied on reconnect).
        fmt: The call's audio format.
        max_reconnects: Reconnect attempts after a drop before giving up.
        reconnect_wait_s: First backoff wait, seconds (doubles, at most 2 s).
        max_queued_ms: Caller audio that may wait to be sent, ms.
        input_chunk_ms: Caller audio per ``input_audio_buffer.append``, ms: each append is
            a socket write, the largest per-frame cost of the mode (see
            ``benchmarks/bench_realtime.py``); the service hears speech up to this much later.
    """

    def __init__(
        self,
        connector: Connector,
        dialect: Dialect,
        config: RealtimeConfig,
        fmt: AudioFormat,
        *,
        max_reconnects: int = 3,
        reconnect_wait_s: float = 0.2,
        max_queued_ms: float = 2000.0,
        input_chunk_ms: int = 40,
    ) -> None:
        service = AudioFormat(wire.SERVICE_RATE_HZ)
        if fmt.channels != 1:
            raise InvalidAudioError(f"realtime sessions take mono audio, not {fmt}")
        self._connector = connector
        self._dialect = dialect
        self._config = config
        self._fmt = fmt
        self._to_service = None if fmt == service else FormatConverter(fmt, service)
        from_service = None if fmt == service else FormatConverter(service, fmt)
        self._decoder = Decoder(fmt, from_service.convert if from_service else None)
        self._max_reconnects = max_reconnects
        self._reconnect_wait_s = reconnect_wait_s
        self._max_queued = max(1, int(max_queued_ms // max(20, input_chunk_ms)))
        self._chunk_bytes = service.frame_bytes(max(1, input_chunk_ms))
        self._pending = bytearray()
        self._conn: Connection | None = None
        self._audio: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._reconnects = 0
        self._dropped = 0
        self.audio_dropped = 0
        """Caller audio frames dropped (queue full, or the socket was down)."""

    async def __aenter__(self) -> Self:
        self._conn = await self._connector()
        try:
            await self._conn.send(wire.session_update(self._config, self._dialect))
        except ConnectionLost as exc:
            await self._conn.close()
            raise ProviderUnavailableError(
                "realtime session closed at start", port=wire.PORT
            ) from exc
        self._writer = asyncio.get_running_loop().create_task(self._write_audio())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def dropped_events(self) -> int:
        """Malformed or unknown server messages dropped so far."""
        return self._dropped

    # caller audio --------------------------------------------------------------------

    def push_audio(self, frame: AudioFrame) -> None:
        """Queue one frame of caller audio (see the module docstring)."""
        if self._closed:
            raise StreamClosedError("realtime session closed")
        if frame.format is not self._fmt and frame.format != self._fmt:
            raise InvalidAudioError(f"expected {self._fmt}, got {frame.format}")
        data = frame.data if self._to_service is None else self._to_service.convert(frame).data
        pending = self._pending
        pending += data
        if len(pending) < self._chunk_bytes:
            return
        audio = self._audio
        if len(audio) >= self._max_queued:
            audio.popleft()
            self.audio_dropped += 1
        audio.append(bytes(pending))
        pending.clear()
        self._wake.set()

    async def _write_audio(self) -> None:
        audio = self._audio
        while True:
            if not audio:
                self._wake.clear()
                await self._wake.wait()
                continue
            async with self._lock:
                await self._flush_audio()

    async def _flush_audio(self) -> None:
        audio = self._audio
        while audio:
            conn = self._conn
            data = audio.popleft()
            if conn is None:
                self.audio_dropped += 1
                continue
            try:
                await conn.send(wire.append_audio(data))
            except ConnectionLost:
                # Audio during a drop is lost; the reader reconnects.
                self.audio_dropped += 1 + len(audio)
                audio.clear()

    # requests ------------------------------------------------------------------------

    async def _send(self, event: dict[str, Any]) -> None:
        if self._closed:
            raise StreamClosedError("realtime session closed")
        async with self._lock:
            await self._flush_audio()
            conn = self._conn
            if conn is None:
                raise ProviderUnavailableError("realtime session is reconnecting", port=wire.PORT)
            try:
                await conn.send(event)
            except ConnectionLost as exc:
                raise ProviderUnavailableError(
                    "realtime connection closed", port=wire.PORT
                ) from exc

    async def update(self, config: RealtimeConfig) -> None:
        """Send ``session.update`` (kept for reconnects)."""
        self._config = config
        await self._send(wire.session_update(config, self._dialect))

    async def create_response(self, request: ResponseRequest) -> None:
        """Send ``response.create``."""
        await self._send(wire.response_create(request.line, request.tools, self._dialect))

    async def cancel_response(self) -> None:
        """Send ``response.cancel``."""
        await self._send({"type": "response.cancel"})

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Send ``conversation.item.truncate``."""
        await self._send(wire.truncate(item_id, audio_end_ms))

    async def send_tool_output(self, call_id: str, output: str) -> None:
        """Send a ``function_call_output`` item."""
        await self._send(wire.tool_output(call_id, output))

    async def add_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Send the messages as conversation items, in order."""
        for message in messages:
            for event in wire.message_items(message, self._dialect):
                await self._send(event)

    async def commit_input(self) -> None:
        """Send ``input_audio_buffer.commit`` after the audio pushed before it."""
        if self._pending:
            self._audio.append(bytes(self._pending))
            self._pending.clear()
        await self._send({"type": "input_audio_buffer.commit"})

    async def clear_input(self) -> None:
        """Drop queued audio and send ``input_audio_buffer.clear``."""
        self._audio.clear()
        self._pending.clear()
        await self._send({"type": "input_audio_buffer.clear"})

    # events --------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        """Decoded server events; reconnects on a drop (see the module docstring)."""
        decoder = self._decoder
        while not self._closed:
            conn = self._conn
            if conn is None:
                return
            try:
                raw = await conn.recv()
            except ConnectionLost:
                if self._closed:
                    return
                reason = "session_expired" if decoder.expired else "closed"
                yield await self._reconnect(reason)
                continue
            try:
                event = decoder.decode(raw)
            except Malformed as exc:
                self._dropped += 1
                logger.debug("dropped a realtime server message: %s", exc)
                continue
            if event is None:
                continue
            if isinstance(event, RealtimeError) and isinstance(event.error, AuthenticationError):
                raise event.error
            yield event

    async def _reconnect(self, reason: str) -> SessionReconnected:
        old, self._conn = self._conn, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        self._audio.clear()
        self._pending.clear()
        self._decoder.expired = False
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_reconnects),
                wait=wait_exponential(multiplier=self._reconnect_wait_s, max=2.0),
                retry=retry_if_exception_type((ProviderError, ConnectionLost, OSError)),
                reraise=False,
            ):
                with attempt:
                    conn = await self._connector()
                    try:
                        await conn.send(wire.session_update(self._config, self._dialect))
                    except ConnectionLost:
                        await conn.close()
                        raise
        except RetryError as exc:
            raise ProviderUnavailableError(
                f"realtime session lost ({reason}) and not re-established", port=wire.PORT
            ) from exc
        if self._closed:
            await conn.close()
            raise StreamClosedError("realtime session closed")
        self._conn = conn
        self._reconnects += 1
        logger.info("realtime session re-established after %s", reason)
        return SessionReconnected(self._reconnects, reason)

    async def aclose(self) -> None:
        """Close the session and its writer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


__all__ = ["Connection", "ConnectionLost", "Connector", "WireSession"]
