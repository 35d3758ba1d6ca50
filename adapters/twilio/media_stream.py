"""``ports.MediaStream`` over the server side of a Twilio Media Streams WebSocket.

Twilio connects to the ``<Stream url>`` of the ``<Connect><Stream>`` TwiML we answered with and
streams the caller's audio as JSON text frames of base64 G.711 mu-law at 8 kHz; we send the
agent's audio back on the same socket ("Media Streams - WebSocket Messages",
https://www.twilio.com/docs/voice/media-streams/websocket-messages). Every message goes through
:mod:`adapters.twilio.media_codec`; bad ones are dropped and counted, never raised.

The core sees 8 kHz PCM16 (:data:`TWILIO_PCM_FORMAT`): mu-law is decoded on the way in and
encoded on the way out here, so speech engines and VAD need no mu-law support.

Playback progress comes from Twilio's ``mark`` echoes (:mod:`adapters.twilio.playback`). The
runtime counts a frame as heard once ``send_audio`` has returned for it (the ``MediaStream``
port has no other way to report progress), so ``send_audio`` sends the frame and a ``mark``
after it (one per ``mark_every`` frames, default every frame), then returns only once Twilio
has confirmed playing all but ``max_unplayed_ms`` of the audio sent (default one 20 ms frame:
the previous frame has played, this one is starting). The frame that ``send_audio`` is waiting
on is already in Twilio's buffer, so playback does not stop between frames while the round
trip to Twilio stays under about one frame. Hence at a barge-in, what the conversation counts
as heard is within one frame of what Twilio played: at most ``max_unplayed_ms`` more than the
last echoed mark, and at most the one uncounted frame in flight less. ``stop_audio`` sends
``clear`` and starts a new mark generation, so the echoes of the cleared marks, which Twilio
sends after the ``clear``, do not count as played. A far end that stops echoing does not stall
the call: a wait ends after ``mark_wait_s``, and later sends do not wait until an echo comes
back.
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
from adapters.twilio.playback import PlaybackMarks
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
        mark_every: Frames between two marks (1: the played position is known per frame).
        max_unplayed_ms: ``send_audio`` returns once at most this much of the audio sent is
            not yet confirmed played, ms: the bound on how far what the conversation counts as
            heard runs ahead of what Twilio played. Below the mark spacing it is raised to it.
        mark_wait_s: Longest such wait, seconds; then the frame counts anyway and sends stop
            waiting until Twilio echoes a mark again (a far end that never echoes marks must
            not stall the call).

    Raises:
        ValueError: ``mark_every`` is below 1.
    """

    def __init__(
        self,
        websocket: WebSocket,
        *,
        metrics: CallMetrics | None = None,
        idle_timeout_s: float = 30.0,
        send_timeout_s: float = 2.0,
        mark_every: int = 1,
        max_unplayed_ms: float = 20.0,
        mark_wait_s: float = 0.3,
    ) -> None:
        self.marks = PlaybackMarks(mark_every)
        """Mark bookkeeping: audio sent and confirmed played since the last ``clear``."""
        self._ws = websocket
        self._metrics = metrics
        self._idle_timeout_s = idle_timeout_s
        self._send_timeout_s = send_timeout_s
        # With a mark every few frames, confirmations come in steps of that many frames.
        self._max_unplayed_ms = max(max_unplayed_ms, 20.0 * mark_every)
        self._mark_wait_s = mark_wait_s
        self.format = TWILIO_PCM_FORMAT
        self.start_message: Start | None = None
        self.stream_sid = ""
        self.call_id = ""
        self._closed = False
        self._close_reason = "remote_closed"
        self._inbound_bytes = 0
        self._send_lock = asyncio.Lock()
        self._waiter: asyncio.Future[None] | None = None
        self._echoes_lost = False
        self.mark_waits_expired = 0
        """Sends that returned after ``mark_wait_s`` without the confirmation they waited for."""

    @property
    def closed(self) -> bool:
        """True once the stream is closed (by either side)."""
        return self._closed

    @property
    def unplayed_ms(self) -> float:
        """Audio sent since the last ``clear`` that Twilio has not confirmed played, ms."""
        return self.marks.unplayed_ms

    @property
    def marks_echoed(self) -> int:
        """Echoed marks that moved the played position forward (every generation)."""
        return self.marks.echoed

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
            self._wake()
        yield StreamClosed(reason=reason)

    def _audio(self, mulaw: bytes) -> AudioReceived:
        pcm = mulaw_decode(mulaw)
        timestamp_ms = self.format.duration_ms(self._inbound_bytes)
        self._inbound_bytes += len(pcm)
        return AudioReceived(AudioFrame(pcm, self.format, timestamp_ms))

    def _on_mark(self, name: str) -> None:
        if self.marks.echo(name):
            self._echoes_lost = False
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

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
        """Until Twilio has played all but ``max_unplayed_ms`` of the audio sent (bounded)."""
        marks = self.marks
        limit = self._max_unplayed_ms
        if marks.unplayed_ms <= limit or self._echoes_lost:
            return
        loop = asyncio.get_running_loop()
        generation = marks.generation
        deadline = loop.time() + self._mark_wait_s
        # One future per wait, resolved by the reader on an echo that moves playback forward
        # (or by clear and close); the loop re-checks, as one echo may not be enough.
        while marks.unplayed_ms > limit and marks.generation == generation and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.mark_waits_expired += 1
                self._echoes_lost = True
                logger.info("no mark echo from Twilio; call %s sends without waiting", self.call_id)
                return
            waiter = self._waiter = loop.create_future()
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiter = None

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send one frame of agent audio (8 kHz PCM16) and its ``mark``; return once played.

        Returns once Twilio has confirmed playing all but ``max_unplayed_ms`` of the audio
        sent (see the module docstring), or after ``mark_wait_s``, or at ``clear`` or close.

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: ``frame`` is not 8 kHz PCM16 mono.
        """
        if frame.format != self.format:
            raise InvalidAudioError(f"frame is {frame.format}, stream is {self.format}")
        media = encode_media(self.stream_sid, mulaw_encode(frame.data))
        generation = self.marks.generation
        await self._send(media)
        if self.marks.generation != generation:
            return  # a clear went out after this frame: Twilio dropped it unplayed
        name = self.marks.sent(frame.duration_ms)
        if name is not None:
            await self._send(encode_mark(self.stream_sid, name))
        await self._wait_for_playback()

    async def stop_audio(self) -> None:
        """Send ``clear``: Twilio drops the agent audio it has buffered. No-op when closed."""
        if self._closed:
            return
        heard = self.marks.clear()
        logger.debug("clear on call %s after %.0f ms confirmed played", self.call_id, heard)
        self._wake()
        with contextlib.suppress(StreamClosedError):
            await self._send(encode_clear(self.stream_sid))

    async def close(self) -> None:
        """Close the socket (normal closure); idempotent."""
        self._closed = True
        self._wake()
        if self._ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._ws.close(code=1000)
