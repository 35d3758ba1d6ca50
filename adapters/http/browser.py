"""The browser WebSocket protocol (``WS /ws/browser``): a MediaStream and a CallObserver.

The full protocol is in ``docs/browser-protocol.md``. In short: the client sends one JSON
``start`` message declaring its sample rate, then binary PCM16 little-endian mono frames (and
optional JSON ``dtmf`` / ``hangup`` messages); the server answers with a ``started`` message,
JSON events (transcripts, agent text, stop-audio, handoff, tool calls, call ended) and binary
agent audio in the same format as the caller's.

Every outbound message goes through one writer task and one queue, so JSON events and audio
keep their order and ``stop_audio()`` can drop the audio still queued before telling the
client to flush its playback buffer.

A peer can fill that queue only by not reading, so it is bounded: the outbox holds at most
``max_outbox`` messages, every send has a timeout, and error replies to dropped messages are
rate-limited (the drops themselves are always counted). A client that falls behind (outbox full
or a send that times out) is closed with :data:`CLOSE_CLIENT_TOO_SLOW`; nothing it sent is lost
before that, and no other call waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ports import (
    AudioFormat,
    AudioFrame,
    AudioReceived,
    CallMetrics,
    ConversationUpdate,
    DtmfReceived,
    MediaEvent,
    StreamClosed,
    StreamClosedError,
    StreamStarted,
    UpdateKind,
)

__all__ = [
    "CLOSE_BAD_START",
    "CLOSE_CLIENT_TOO_SLOW",
    "CLOSE_UNAUTHORIZED",
    "CLOSE_TRY_AGAIN_LATER",
    "BrowserMediaStream",
    "StartMessage",
    "read_start",
]

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_BAD_START = 1008
"""Policy violation: the first message was not a valid ``start``."""
CLOSE_TRY_AGAIN_LATER = 1013
"""RFC 6455 "Try Again Later": over capacity or draining."""

CLOSE_UNAUTHORIZED = 4401
"""Private-use code (RFC 6455 4000-4999) mirroring HTTP 401: browser token missing or bad."""
CLOSE_CLIENT_TOO_SLOW = 4408
"""Private-use code: the client did not read what the server sent (outbox full or send timeout)."""

MAX_OUTBOX = 250
"""Outbound messages queued per call: 5 s of 20 ms agent audio plus its events."""
SEND_TIMEOUT_S = 5.0
"""Longest a single WebSocket send may wait on a client that does not read."""
ERROR_REPLY_BURST = 5
"""Error replies a client may get at once before they are rate-limited."""
ERROR_REPLIES_PER_S = 1.0
"""Sustained error replies per second; drops beyond are counted but not answered."""

FRAME_MS = 20
"""Inbound audio is re-framed to this duration, whatever size the client sends."""
YIELD_EVERY = 16
"""Inbound messages read between two turns given to the loop: a client flooding the socket
must not hold the event loop (and every other call) until its burst is read."""


class StartMessage(BaseModel):
    """The first client message.

    Attributes:
        sample_rate_hz: Rate of the PCM16 frames the client sends (and receives).
        encoding: Only ``pcm16`` (signed 16-bit little-endian, mono).
        caller: Free-form caller label for logs and transcripts.
        token: The browser token, when the server requires one.
        agent: Agent to start with, one of ``GET /api/browser/config``'s ``agents``.
    """

    model_config = ConfigDict(extra="ignore")
    type: Literal["start"]
    sample_rate_hz: Literal[8000, 16000, 24000, 48000] = 16000
    encoding: Literal["pcm16"] = "pcm16"
    caller: str = Field(default="", max_length=128)
    token: str | None = Field(default=None, max_length=4096)
    """Browser token from ``POST /api/browser/token`` (see docs/browser-protocol.md)."""
    agent: str = Field(default="", max_length=64)
    """Agent to start with; empty = the configured start agent."""


class _Dtmf(BaseModel):
    type: Literal["dtmf"]
    digit: str = Field(pattern=r"^[0-9*#A-D]$")


class _Hangup(BaseModel):
    type: Literal["hangup"]


_CONTROL: TypeAdapter[_Dtmf | _Hangup] = TypeAdapter(
    Annotated[_Dtmf | _Hangup, Field(discriminator="type")]
)


async def read_start(websocket: WebSocket, *, timeout_s: float, max_bytes: int) -> StartMessage:
    """Read and validate the ``start`` message.

    Raises:
        ValueError: The message is missing, late, binary, too large or invalid; the text says
            which (it becomes the close reason).
    """
    try:
        async with asyncio.timeout(timeout_s):
            message = await websocket.receive()
    except TimeoutError as exc:
        raise ValueError(f"no start message within {timeout_s:g} s") from exc
    if message["type"] == "websocket.disconnect":
        raise ValueError("closed before start")
    text = message.get("text")
    if text is None:
        raise ValueError("first message must be a JSON start message")
    if len(text) > max_bytes:
        raise ValueError("start message too large")
    try:
        return StartMessage.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ValueError(f"bad start message: {where}: {first.get('msg', 'invalid')}") from exc


_AUDIO = object()


class BrowserMediaStream:
    """One browser call: ``ports.MediaStream`` in, ``ports.CallObserver`` out.

    Args:
        websocket: The accepted socket.
        fmt: The caller's format, from the start message; agent audio uses it too.
        call_id: The call's id.
        metrics: Where dropped messages are counted.
        idle_timeout_s: Closing the stream when the client sends nothing for this long.
        max_message_bytes: Larger inbound messages are dropped and counted.
        max_outbox: Outbound messages queued at most; one more closes the socket with
            :data:`CLOSE_CLIENT_TOO_SLOW`.
        send_timeout_s: Longest one send may take before the socket is closed likewise, s.
    """

    def __init__(
        self,
        websocket: WebSocket,
        fmt: AudioFormat,
        call_id: str,
        *,
        metrics: CallMetrics,
        idle_timeout_s: float,
        max_message_bytes: int,
        max_outbox: int = MAX_OUTBOX,
        send_timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self._ws = websocket
        self._format = fmt
        self._call_id = call_id
        self._metrics = metrics
        self._idle_timeout_s = idle_timeout_s
        self._max_bytes = max_message_bytes
        # Bounded by hand (put() checks qsize) so the close sentinel always fits.
        self._outbox: asyncio.Queue[tuple[object, Any]] = asyncio.Queue()
        self._max_outbox = max_outbox
        self._send_timeout_s = send_timeout_s
        self._high_water = 0
        self._too_slow = False
        self._send_deadline: asyncio.Timeout | None = None
        self._receive_deadline: asyncio.Timeout | None = None
        self._reply_tokens = float(ERROR_REPLY_BURST)
        self._reply_at = 0.0
        self._final_at: float | None = None
        self._speaking = False
        self._stale = False
        self._closed = False
        self._finished = False
        self._ended_sent = False
        self._close_reason = "remote_closed"
        self._position_ms = 0.0
        self._pending = b""
        self._writer: asyncio.Task[None] | None = None

    @property
    def call_id(self) -> str:
        """The call's id."""
        return self._call_id

    @property
    def closed(self) -> bool:
        """True once the stream is closed (either side)."""
        return self._closed

    @property
    def outbox_high_water(self) -> int:
        """Most messages ever queued at once (at most ``max_outbox``)."""
        return self._high_water

    @property
    def too_slow(self) -> bool:
        """True when the client fell behind and the socket is being closed for it."""
        return self._too_slow

    def _put(self, item: tuple[object, Any]) -> None:
        if self._too_slow:
            return
        if self._outbox.qsize() >= self._max_outbox:
            self._fall_behind("outbox_full")
            return
        self._outbox.put_nowait(item)
        self._high_water = max(self._high_water, self._outbox.qsize())

    def _fall_behind(self, why: str) -> None:
        """Give up on a client that does not read: drop its queue, close it at once."""
        if self._too_slow:
            return
        logger.warning("browser call %s: client not reading (%s); closing", self._call_id, why)
        self._metrics.frame_dropped("client_too_slow")
        self._too_slow = True
        self._closed = True
        self._finished = True
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait((_CLOSE, None))
        if self._send_deadline is not None:
            # The writer is stuck in a send: end it now rather than at its timeout.
            self._send_deadline.reschedule(asyncio.get_running_loop().time())

    def start_writer(self) -> asyncio.Task[None]:
        """Start the single writer task; the endpoint owns and awaits it."""
        if self._writer is None:
            self._writer = asyncio.create_task(
                self._write_loop(), name=f"browser-writer-{self._call_id}"
            )
        return self._writer

    def send_json(self, payload: dict[str, Any]) -> None:
        """Queue one JSON event (dropped once the call has ended)."""
        if not self._finished:
            self._put((None, payload))

    # ports.MediaStream

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events: started, audio, DTMF, then closed (see the module docstring)."""
        yield StreamStarted(self._format, self._call_id)
        read = 0
        while not self._closed:
            try:
                async with asyncio.timeout(self._idle_timeout_s) as deadline:
                    self._receive_deadline = deadline
                    message = await self._ws.receive()
            except TimeoutError:
                if not self._closed:
                    self._close_reason = "idle_timeout"
                break
            except (WebSocketDisconnect, RuntimeError):
                break
            finally:
                self._receive_deadline = None
            read += 1
            if read % YIELD_EVERY == 0:
                # Queued messages come back without suspending: give other calls a turn.
                await asyncio.sleep(0)
            if message["type"] == "websocket.disconnect":
                break
            event = self._decode(message)
            if isinstance(event, StreamClosed):
                self._close_reason = event.reason
                break
            if isinstance(event, AudioReceived):
                for frame in self._reframe(event.frame.data):
                    yield AudioReceived(frame)
            elif event is not None:
                yield event
        reason = self._close_reason if not self._closed else "local_closed"
        self._closed = True  # the far end is gone: no more audio either way
        yield StreamClosed(reason)

    def _decode(self, message: MutableMapping[str, Any]) -> MediaEvent | None:
        data = message.get("bytes")
        if data is not None:
            if len(data) > self._max_bytes:
                self._drop("too_large")
                return None
            if len(data) % 2:
                self._drop("odd_length")
                return None
            if not data:
                return None
            return AudioReceived(AudioFrame(data, self._format))
        text = message.get("text")
        if text is None:
            return None
        if len(text) > self._max_bytes:
            self._drop("too_large")
            return None
        try:
            control = _CONTROL.validate_json(text)
        except ValidationError:
            self._drop("bad_message")
            return None
        if isinstance(control, _Dtmf):
            return DtmfReceived(control.digit)
        return StreamClosed("remote_hangup")

    def _reframe(self, data: bytes) -> list[AudioFrame]:
        """Cut client audio of any size into exact ``FRAME_MS`` frames (VADs need them)."""
        self._pending += data
        size = self._format.frame_bytes(FRAME_MS)
        frames = []
        while len(self._pending) >= size:
            chunk, self._pending = self._pending[:size], self._pending[size:]
            frames.append(AudioFrame(chunk, self._format, self._position_ms))
            self._position_ms += FRAME_MS
        return frames

    def _drop(self, reason: str) -> None:
        self._metrics.frame_dropped(reason)
        # A token bucket: a client sending garbage must not make the server queue replies.
        now = asyncio.get_running_loop().time()
        self._reply_tokens = min(
            float(ERROR_REPLY_BURST),
            self._reply_tokens + (now - self._reply_at) * ERROR_REPLIES_PER_S,
        )
        self._reply_at = now
        if self._reply_tokens < 1.0:
            return
        self._reply_tokens -= 1.0
        self.send_json({"type": "error", "code": reason, "message": f"message dropped: {reason}"})

    async def send_audio(self, frame: AudioFrame) -> None:
        """Queue one frame of agent audio.

        Raises:
            StreamClosedError: The stream is closed.
        """
        if self._closed:
            raise StreamClosedError(f"browser call {self._call_id} is closed")
        self._put((_AUDIO, frame.data))

    async def stop_audio(self) -> None:
        """Drop queued agent audio and tell the client to flush its playback buffer."""
        kept: list[tuple[object, Any]] = []
        while not self._outbox.empty():
            item = self._outbox.get_nowait()
            if item[0] is not _AUDIO:
                kept.append(item)
        for item in kept:
            self._outbox.put_nowait(item)
        self.send_json({"type": "stop_audio"})

    async def close(self) -> None:
        """Close the stream (idempotent): no more audio in or out.

        The socket itself closes when the endpoint calls :meth:`end` after the call, so the
        last events (agent message, ``call_ended``) still reach the client.
        """
        self._closed = True
        if self._receive_deadline is not None:
            # A reader waiting for the client's next message ends now, not at the idle timeout.
            self._receive_deadline.reschedule(asyncio.get_running_loop().time())

    def end(self, reason: str) -> None:
        """Send ``call_ended`` (once), flush queued events and close the socket."""
        if not self._ended_sent:
            self.send_json({"type": "call_ended", "reason": reason})
            self._ended_sent = True
        if not self._finished:
            self._closed = True
            self._finished = True
            self._outbox.put_nowait((_CLOSE, None))  # the sentinel may exceed the bound

    # ports.CallObserver

    def on_update(self, update: ConversationUpdate) -> None:
        """Turn a conversation update into a JSON event; never blocks."""
        payload = _event_for(update)
        if payload is None:
            return
        if update.kind is UpdateKind.TRANSCRIPT_FINAL:
            self._final_at = asyncio.get_running_loop().time()
            # Clauses of a message begun before this turn (a resumed greeting) are no reply.
            self._stale = self._speaking
        elif update.kind is UpdateKind.AGENT_MESSAGE:
            self._speaking = self._stale = False
        elif update.kind is UpdateKind.AGENT_TEXT:
            if self._final_at is not None and not self._stale:
                # End of the caller's turn (final transcript) to the reply's first clause, ms.
                elapsed = asyncio.get_running_loop().time() - self._final_at
                payload["latency_ms"] = round(elapsed * 1000.0, 1)
                self._final_at = None
            self._speaking = True
        if update.kind is UpdateKind.CALL_ENDED:
            self._ended_sent = True
        self.send_json(payload)

    async def _write_loop(self) -> None:
        try:
            while True:
                kind, payload = await self._outbox.get()
                if kind is _CLOSE:
                    break
                if self._ws.application_state is not WebSocketState.CONNECTED:
                    continue
                try:
                    async with asyncio.timeout(self._send_timeout_s) as deadline:
                        self._send_deadline = deadline
                        if kind is _AUDIO:
                            await self._ws.send_bytes(payload)
                        else:
                            await self._ws.send_text(json.dumps(payload))
                except TimeoutError:
                    self._send_deadline = None
                    self._fall_behind("send_timeout")
                    break
                self._send_deadline = None
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The client went away: nothing more can be delivered.
            logger.debug("browser writer stopped: client gone")
        finally:
            self._closed = True
            self._finished = True
            await self._close_socket()

    async def _close_socket(self) -> None:
        code, reason = (
            (CLOSE_CLIENT_TOO_SLOW, "client not reading") if self._too_slow else (CLOSE_NORMAL, "")
        )
        with contextlib.suppress(RuntimeError, OSError, TimeoutError, WebSocketDisconnect):
            if self._ws.application_state is WebSocketState.CONNECTED:
                # The close frame queues behind what the client has not read; do not wait on
                # a client that never reads (the server then drops the connection).
                async with asyncio.timeout(self._send_timeout_s):
                    await self._ws.close(code, reason)


_CLOSE = object()


def _event_for(update: ConversationUpdate) -> dict[str, Any] | None:
    kind = update.kind
    base: dict[str, Any] = {"agent": update.agent} if update.agent else {}
    if kind is UpdateKind.TRANSCRIPT_PARTIAL:
        return {"type": "transcript", "final": False, "text": update.text, **base}
    if kind is UpdateKind.TRANSCRIPT_FINAL:
        return {"type": "transcript", "final": True, "text": update.text, **base}
    if kind is UpdateKind.AGENT_TEXT:
        return {"type": "agent_text", "text": update.text, **base}
    if kind is UpdateKind.AGENT_MESSAGE:
        return {
            "type": "agent_message",
            "text": update.text,
            "interrupted": bool(update.data.get("interrupted", False)),
            **base,
        }
    if kind is UpdateKind.STOP_AUDIO:
        return None  # sent by stop_audio() itself, after the queued audio is dropped
    if kind is UpdateKind.HANDOFF:
        return {"type": "handoff", **base, **update.data}
    if kind is UpdateKind.TOOL_CALL:
        return {"type": "tool_call", "name": update.text, **base, **update.data}
    if kind is UpdateKind.TRANSFER:
        return {"type": "transfer", **base, **update.data}
    if kind is UpdateKind.CALL_ENDED:
        return {"type": "call_ended", "reason": update.data.get("reason", update.text), **base}
    return {"type": str(kind), "text": update.text, **base, **update.data}
