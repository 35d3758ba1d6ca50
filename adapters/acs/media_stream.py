"""``ports.MediaStream`` over the server side of the ACS media streaming WebSocket.

ACS connects to our ``transportUrl`` and streams the caller's audio as JSON text frames; we send
the agent's audio back on the same socket (docs: "Audio streaming quickstart", "Bidirectional
audio streaming"; docs/wire-protocols.md, "ACS media streaming WebSocket"). Every message goes
through :mod:`adapters.acs.media_codec`; bad ones are dropped and counted, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.acs.media_codec import (
    AudioData,
    AudioMetadata,
    DtmfData,
    decode_inbound,
    encode_audio,
    encode_stop_audio,
)
from ports import (
    AudioFormat,
    AudioFrame,
    AudioReceived,
    CallMetrics,
    DtmfReceived,
    InvalidAudioError,
    MediaEvent,
    StreamClosed,
    StreamClosedError,
    StreamStarted,
)

logger = logging.getLogger(__name__)

YIELD_EVERY = 16
"""Inbound messages read between two turns given to the loop. A socket whose messages are
already queued answers ``receive()`` without suspending, so a peer flooding audio or garbage
would otherwise hold the event loop (and every other call) until its burst is read."""


class AcsMediaStream:
    """One call's ACS media WebSocket as a ``ports.MediaStream``.

    The socket must already be accepted. ``events()`` yields :class:`~ports.StreamStarted` on
    ``AudioMetadata`` (or, if ACS sends audio first or nothing within ``metadata_wait_s``),
    always with ``default_format``, the format the call was answered with: an
    ``AudioMetadata`` announcing another format is dropped and counted
    (``unsupported_format``) and the call goes on at the negotiated one. Then audio and DTMF,
    then :class:`~ports.StreamClosed`.

    Args:
        websocket: The accepted Starlette WebSocket.
        call_id: The ACS call connection id.
        default_format: Format negotiated at answer (``pcm16KMono``/``pcm24KMono``).
        metrics: Counts dropped messages (``frame_dropped``); optional.
        idle_timeout_s: Close the stream when ACS sends nothing for this long.
        metadata_wait_s: How long to wait for ``AudioMetadata`` before assuming the format.
        send_timeout_s: Deadline of one send; a stuck socket is closed.
    """

    def __init__(
        self,
        websocket: WebSocket,
        *,
        call_id: str,
        default_format: AudioFormat,
        metrics: CallMetrics | None = None,
        idle_timeout_s: float = 30.0,
        metadata_wait_s: float = 1.0,
        send_timeout_s: float = 2.0,
    ) -> None:
        self._ws = websocket
        self.call_id = call_id
        self.format = default_format
        self._metrics = metrics
        self._idle_timeout_s = idle_timeout_s
        self._metadata_wait_s = metadata_wait_s
        self._send_timeout_s = send_timeout_s
        self._closed = False
        self._close_reason = "remote_closed"
        self._inbound_bytes = 0
        self._received = 0
        self._dropped = 0
        self._send_lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        """True once the stream is closed (by either side)."""
        return self._closed

    async def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        """One ASGI message, or None on timeout (every ``YIELD_EVERY``: the loop's turn first)."""
        self._received += 1
        if self._received % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(timeout_s):
                return dict(await self._ws.receive())
        except TimeoutError:
            return None

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events: ``StreamStarted``, audio and DTMF, then ``StreamClosed``."""
        started = False
        held: AudioData | DtmfData | None = None
        try:
            while not started:
                message = await self._receive(self._metadata_wait_s)
                if message is None:
                    break
                if message["type"] == "websocket.disconnect":
                    self._closed = True
                    break
                decoded = self._decode(message)
                if isinstance(decoded, AudioMetadata):
                    self._check_metadata(decoded)
                    break
                if decoded is not None:
                    held = decoded
                    break
            yield StreamStarted(format=self.format, call_id=self.call_id)
            started = True
            if held is not None:
                event = self._to_event(held)
                if event is not None:
                    yield event
            while not self._closed:
                message = await self._receive(self._idle_timeout_s)
                if message is None:
                    self._close_reason = "idle_timeout"
                    break
                if message["type"] == "websocket.disconnect":
                    break
                decoded = self._decode(message)
                if decoded is None:
                    continue
                if isinstance(decoded, AudioMetadata):
                    self._check_metadata(decoded)
                    continue
                event = self._to_event(decoded)
                if event is not None:
                    yield event
        except (WebSocketDisconnect, RuntimeError):
            # Starlette raises RuntimeError when receiving on a socket already closed.
            pass
        finally:
            reason = self._close_reason
            self._closed = True
            if self._dropped:
                logger.warning(
                    "call %s: %d ACS media message(s) dropped in all (by reason in"
                    " parley_frames_dropped_total)",
                    self.call_id,
                    self._dropped,
                )
        if not started:
            yield StreamStarted(format=self.format, call_id=self.call_id)
        yield StreamClosed(reason=reason)

    def _check_metadata(self, metadata: AudioMetadata) -> None:
        """Keep the negotiated format; a metadata naming another one is dropped and counted.

        The call was answered with one ``audioFormat``: the TTS, STT and VAD of the call are
        set up for it, so a peer announcing another rate (even a valid ACS one) must not
        re-shape the pipeline mid-flight.
        """
        if metadata.format == self.format:
            return
        logger.warning(
            "ACS media of call %s announced %d Hz; keeping the negotiated %d Hz",
            self.call_id,
            metadata.format.sample_rate_hz,
            self.format.sample_rate_hz,
        )
        if self._metrics is not None:
            self._metrics.frame_dropped("unsupported_format")

    def _decode(self, message: dict[str, Any]) -> AudioMetadata | AudioData | DtmfData | None:
        text = message.get("text")
        raw: str | bytes = text if text is not None else (message.get("bytes") or b"")
        decoded = decode_inbound(raw, self._metrics)
        if decoded is None:
            self._dropped += 1
            if self._dropped == 1:
                # One line per call, not per message: the codec logs each at DEBUG.
                logger.warning(
                    "call %s: dropping malformed ACS media messages (counted in"
                    " parley_frames_dropped_total; the total is logged at the call's end)",
                    self.call_id,
                )
        return decoded

    def _to_event(self, decoded: AudioData | DtmfData) -> MediaEvent | None:
        if isinstance(decoded, DtmfData):
            return DtmfReceived(decoded.digit)
        timestamp_ms = self.format.duration_ms(self._inbound_bytes)
        self._inbound_bytes += len(decoded.pcm)
        frame = AudioFrame(decoded.pcm, self.format, timestamp_ms)
        return AudioReceived(
            frame=frame, participant=decoded.participant_raw_id, silent=decoded.silent
        )

    async def _send(self, text: str) -> None:
        if self._closed:
            raise StreamClosedError(f"media stream of call {self.call_id} is closed")
        try:
            async with self._send_lock, asyncio.timeout(self._send_timeout_s):
                await self._ws.send_text(text)
        except TimeoutError as exc:
            logger.warning("ACS media send timed out; closing call %s stream", self.call_id)
            await self.close()
            raise StreamClosedError("media send timed out") from exc
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self._closed = True
            raise StreamClosedError(f"media stream of call {self.call_id} closed") from exc

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send one frame of agent audio as ``AudioData`` (in the stream's format).

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: ``frame`` is not in the stream's format.
        """
        if frame.format != self.format:
            raise InvalidAudioError(f"frame is {frame.format}, stream is {self.format}")
        await self._send(encode_audio(frame.data))

    async def stop_audio(self) -> None:
        """Send ``StopAudio``: ACS drops the agent audio it has buffered. No-op when closed."""
        if self._closed:
            return
        with contextlib.suppress(StreamClosedError):
            await self._send(encode_stop_audio())

    async def close(self) -> None:
        """Close the socket (normal closure); idempotent."""
        self._closed = True
        if self._ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._ws.close(code=1000)
