"""The browser WebSocket protocol (``WS /ws/browser``): a MediaStream and a CallObserver.

The full protocol is in ``docs/browser-protocol.md``. In short: the client sends one JSON
``start`` message declaring its sample rate, then binary PCM16 little-endian mono frames (and
optional JSON ``dtmf`` / ``hangup`` messages); the server answers with a ``started`` message,
JSON events (transcripts, agent text, stop-audio, handoff, tool calls, call ended) and binary
agent audio in the same format as the caller's.

Every outbound message goes through one writer task and one queue, so JSON events and audio
keep their order and ``stop_audio()`` can drop the audio still queued before telling the
client to flush its playback buffer.
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

FRAME_MS = 20
"""Inbound audio is re-framed to this duration, whatever size the client sends."""


class StartMessage(BaseModel):
    """The first client message.

    Attributes:
        sample_rate_hz: Rate of the PCM16 frames the client sends (and receives).
        encoding: Only ``pcm16`` (signed 16-bit little-endian, mono).
        caller: Free-form caller label for logs and transcripts.
    """

    model_config = ConfigDict(extra="ignore")
    type: Literal["start"]
    sample_rate_hz: Literal[8000, 16000, 24000, 48000] = 16000
    encoding: Literal["pcm16"] = "pcm16"
    caller: str = Field(default="", max_length=128)


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
    ) -> None:
        self._ws = websocket
        self._format = fmt
        self._call_id = call_id
        self._metrics = metrics
        self._idle_timeout_s = idle_timeout_s
        self._max_bytes = max_message_bytes
        self._outbox: asyncio.Queue[tuple[object, Any]] = asyncio.Queue()
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
            self._outbox.put_nowait((None, payload))

    # ports.MediaStream

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events: started, audio, DTMF, then closed (see the module docstring)."""
        yield StreamStarted(self._format, self._call_id)
        while not self._closed:
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    message = await self._ws.receive()
            except TimeoutError:
                self._close_reason = "idle_timeout"
                break
            except (WebSocketDisconnect, RuntimeError):
                break
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
        yield StreamClosed(self._close_reason if not self._closed else "local_closed")

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
        self.send_json({"type": "error", "code": reason, "message": f"message dropped: {reason}"})

    async def send_audio(self, frame: AudioFrame) -> None:
        """Queue one frame of agent audio.

        Raises:
            StreamClosedError: The stream is closed.
        """
        if self._closed:
            raise StreamClosedError(f"browser call {self._call_id} is closed")
        self._outbox.put_nowait((_AUDIO, frame.data))

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

    def end(self, reason: str) -> None:
        """Send ``call_ended`` (once), flush queued events and close the socket."""
        if not self._ended_sent:
            self.send_json({"type": "call_ended", "reason": reason})
            self._ended_sent = True
        if not self._finished:
            self._closed = True
            self._finished = True
            self._outbox.put_nowait((_CLOSE, None))

    # ports.CallObserver

    def on_update(self, update: ConversationUpdate) -> None:
        """Turn a conversation update into a JSON event; never blocks."""
        payload = _event_for(update)
        if payload is None:
            return
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
                if kind is _AUDIO:
                    await self._ws.send_bytes(payload)
                else:
                    await self._ws.send_text(json.dumps(payload))
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The client went away: nothing more can be delivered.
            logger.debug("browser writer stopped: client gone")
        finally:
            self._closed = True
            self._finished = True
            with contextlib.suppress(RuntimeError, OSError):
                if self._ws.application_state is WebSocketState.CONNECTED:
                    await self._ws.close(CLOSE_NORMAL)


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
