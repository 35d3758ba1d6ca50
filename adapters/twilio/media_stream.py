"""``ports.MediaStream`` over the server side of a Twilio Media Streams WebSocket.

Twilio connects to the ``<Stream url>`` of the ``<Connect><Stream>`` TwiML we answered with and
streams the caller's audio as JSON text frames of base64 G.711 mu-law at 8 kHz; we send the
agent's audio back on the same socket ("Media Streams - WebSocket Messages",
https://www.twilio.com/docs/voice/media-streams/websocket-messages). Every message goes through
:mod:`adapters.twilio.media_codec`; bad ones are dropped and counted, never raised.

The core sees 8 kHz PCM16 (:data:`TWILIO_PCM_FORMAT`): mu-law is decoded on the way in and
encoded on the way out here, so speech engines and VAD need no mu-law support.

Marks and playback progress: after every ``mark_every`` frames sent, a ``mark`` named after
the frame count goes out; Twilio echoes it once its playback reaches that point (and echoes
pending marks at once on ``clear``). ``send_audio`` holds a frame back, for at most
``mark_wait_s``, while more than ``max_unplayed_ms`` of sent audio has not been confirmed
played. The runtime reports playback progress as audio sent, so this bounds the difference
between what the conversation believes was heard and what Twilio actually played: barge-in
truncation is exact to within ``max_unplayed_ms`` on Twilio as on ACS (where the runtime's
own pacing lead bounds it), even when Twilio's buffer runs behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.audio.convert import mulaw_decode, mulaw_encode
from adapters.twilio.media_codec import (
    Connected,
    Dtmf,
    Mark,
    Media,
    Start,
    Stop,
    decode_inbound,
    encode_clear,
    encode_mark,
    encode_media,
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

TWILIO_PCM_FORMAT: Final = AudioFormat(8000)
"""What the core hears and speaks on a Twilio call: 8 kHz PCM16 mono (mu-law on the wire)."""


class TwilioMediaStream:
    """One call's Twilio media WebSocket as a ``ports.MediaStream``.

    The socket must already be accepted. Call :meth:`handshake` first (the gateway does): it
    reads ``connected`` and ``start``, which name the call. ``events()`` then yields
    :class:`~ports.StreamStarted`, audio and DTMF, and :class:`~ports.StreamClosed` after
    ``stop`` or a disconnect.

    Args:
        websocket: The accepted Starlette WebSocket.
        metrics: Counts dropped messages (``frame_dropped``); optional.
        idle_timeout_s: Close the stream when Twilio sends nothing for this long.
        send_timeout_s: Deadline of one socket send; a stuck socket is closed.
        mark_every: Frames between two marks.
        max_unplayed_ms: Sent audio not yet confirmed played above which a send waits.
        mark_wait_s: Longest such wait; then the frame goes anyway (a far end that never
            echoes marks must not stall the call).
    """

    def __init__(
        self,
        websocket: WebSocket,
        *,
        metrics: CallMetrics | None = None,
        idle_timeout_s: float = 30.0,
        send_timeout_s: float = 2.0,
        mark_every: int = 5,
        max_unplayed_ms: float = 400.0,
        mark_wait_s: float = 0.3,
    ) -> None:
        if mark_every < 1:
            raise ValueError(f"mark_every must be at least 1, got {mark_every}")
        self._ws = websocket
        self._metrics = metrics
        self._idle_timeout_s = idle_timeout_s
        self._send_timeout_s = send_timeout_s
        self._mark_every = mark_every
        self._max_unplayed_ms = max_unplayed_ms
        self._mark_wait_s = mark_wait_s
        self.format = TWILIO_PCM_FORMAT
        self.start_message: Start | None = None
        self.stream_sid = ""
        self.call_id = ""
        self._closed = False
        self._close_reason = "remote_closed"
        self._inbound_bytes = 0
        self._send_lock = asyncio.Lock()
        self._generation = 0
        self._frames_sent = 0
        self._sent_ms = 0.0
        self._played_ms = 0.0
        self._marked = asyncio.Event()
        self.marks_echoed = 0
        """Marks Twilio echoed back (of the current and earlier generations)."""
        self.mark_waits_expired = 0
        """Sends that went out after ``mark_wait_s`` without the confirmation they waited for."""

    @property
    def closed(self) -> bool:
        """True once the stream is closed (by either side)."""
        return self._closed

    @property
    def unplayed_ms(self) -> float:
        """Audio sent since the last ``clear`` that Twilio has not confirmed played, ms."""
        return self._sent_ms - self._played_ms

    async def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(timeout_s):
                return dict(await self._ws.receive())
        except TimeoutError:
            return None

    def _decode(self, message: dict[str, Any]) -> Any:
        text = message.get("text")
        if text is not None:
            return decode_inbound(text, self._metrics)
        data = message.get("bytes")
        return decode_inbound(data if data is not None else b"", self._metrics)

    async def handshake(self, timeout_s: float = 10.0) -> Start | None:
        """Read up to the ``start`` message; None when the socket closed or stayed silent.

        ``connected`` is skipped; audio before ``start`` is dropped (counted
        ``before_start``). A ``start`` announcing a format other than mu-law 8 kHz mono is
        counted ``unsupported_format`` and the call goes on at mu-law 8 kHz, the only format
        Twilio streams.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    message = dict(await self._ws.receive())
                    if message["type"] == "websocket.disconnect":
                        self._closed = True
                        return None
                    decoded = self._decode(message)
                    if isinstance(decoded, Start):
                        if not decoded.mulaw_8k and self._metrics is not None:
                            self._metrics.frame_dropped("unsupported_format")
                        self.start_message = decoded
                        self.stream_sid = decoded.stream_sid
                        self.call_id = decoded.call_sid
                        return decoded
                    skipped = decoded is not None and not isinstance(decoded, Connected)
                    if skipped and self._metrics is not None:
                        self._metrics.frame_dropped("before_start")
        except (TimeoutError, WebSocketDisconnect, RuntimeError):
            return None

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events: ``StreamStarted``, audio and DTMF, then ``StreamClosed``."""
        yield StreamStarted(format=self.format, call_id=self.call_id)
        reason = "remote_closed"
        try:
            while not self._closed:
                message = await self._receive(self._idle_timeout_s)
                if message is None:
                    self._close_reason = "idle_timeout"
                    break
                if message["type"] == "websocket.disconnect":
                    break
                decoded = self._decode(message)
                if type(decoded) is Media:
                    if decoded.track != "inbound" and decoded.track != "inbound_track":
                        continue
                    yield self._audio(decoded.mulaw)
                elif isinstance(decoded, Dtmf):
                    yield DtmfReceived(decoded.digit)
                elif isinstance(decoded, Mark):
                    self._on_mark(decoded.name)
                elif isinstance(decoded, Stop):
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass  # Starlette raises RuntimeError when receiving on a closed socket
        finally:
            reason = self._close_reason
            self._closed = True
            self._marked.set()
        yield StreamClosed(reason=reason)

    def _audio(self, mulaw: bytes) -> AudioReceived:
        pcm = mulaw_decode(mulaw)
        timestamp_ms = self.format.duration_ms(self._inbound_bytes)
        self._inbound_bytes += len(pcm)
        return AudioReceived(AudioFrame(pcm, self.format, timestamp_ms))

    def _on_mark(self, name: str) -> None:
        generation, _, position = name.partition(":")
        if not position.isdigit() or generation != str(self._generation):
            return  # a mark of audio cleared since, or not ours
        self.marks_echoed += 1
        played = float(position)
        if played > self._played_ms:
            self._played_ms = min(played, self._sent_ms)
            self._marked.set()

    async def _send(self, text: str) -> None:
        if self._closed:
            raise StreamClosedError(f"media stream of call {self.call_id} is closed")
        try:
            async with self._send_lock, asyncio.timeout(self._send_timeout_s):
                await self._ws.send_text(text)
        except TimeoutError as exc:
            logger.warning("Twilio media send timed out; closing call %s stream", self.call_id)
            await self.close()
            raise StreamClosedError("media send timed out") from exc
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self._closed = True
            raise StreamClosedError(f"media stream of call {self.call_id} closed") from exc

    async def _wait_for_playback(self) -> None:
        """Hold the next frame while too much sent audio is unconfirmed (bounded wait)."""
        if self.unplayed_ms <= self._max_unplayed_ms:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._mark_wait_s
        while self.unplayed_ms > self._max_unplayed_ms and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.mark_waits_expired += 1
                return
            self._marked.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._marked.wait()

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send one frame of agent audio (8 kHz PCM16) as a mu-law ``media`` message.

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: ``frame`` is not 8 kHz PCM16 mono.
        """
        if frame.format != self.format:
            raise InvalidAudioError(f"frame is {frame.format}, stream is {self.format}")
        await self._wait_for_playback()
        await self._send(encode_media(self.stream_sid, mulaw_encode(frame.data)))
        self._frames_sent += 1
        self._sent_ms += frame.duration_ms
        if self._frames_sent % self._mark_every == 0:
            name = f"{self._generation}:{round(self._sent_ms)}"
            await self._send(encode_mark(self.stream_sid, name))

    async def stop_audio(self) -> None:
        """Send ``clear``: Twilio drops the agent audio it has buffered. No-op when closed."""
        if self._closed:
            return
        self._generation += 1
        self._frames_sent = 0
        self._sent_ms = self._played_ms = 0.0
        self._marked.set()
        with contextlib.suppress(StreamClosedError):
            await self._send(encode_clear(self.stream_sid))

    async def close(self) -> None:
        """Close the socket (normal closure); idempotent."""
        self._closed = True
        self._marked.set()
        if self._ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._ws.close(code=1000)
