"""``ports.MediaStream`` over the server side of the ACS media streaming WebSocket.

ACS connects to our ``transportUrl`` and streams the caller's audio as JSON text frames; we send
the agent's audio back on the same socket (docs: "Audio streaming quickstart", "Bidirectional
audio streaming"; docs/wire-protocols.md, "ACS media streaming WebSocket"). Every message goes
through :mod:`adapters.acs.media_codec`; bad ones are dropped and counted, never raised (the
codec logs each at DEBUG; the stream warns once per call and logs the call's total at its end,
so a peer sending garbage cannot flood the log).

When the server offers a :class:`~adapters.http.media_socket.MediaChannel` (``parley serve``
runs uvicorn with :class:`~adapters.http.media_socket.MediaSocketProtocol`), the stream takes
inbound messages from it in batches and writes each outbound frame synchronously
(:meth:`AcsMediaStream.try_send_audio`): no ASGI dict, queue hand-off, read pause or timer per
frame. The idle deadline is then checked by one timer per stream every
``min(1 s, idle_timeout_s / 4)`` instead of a timeout per receive, so an idle stream closes
within that period after ``idle_timeout_s``. Elsewhere (any other ASGI server) the stream
speaks plain ASGI, with the same behaviour.
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
    encode_audio_bytes,
    encode_stop_audio,
)
from adapters.http.media_socket import MediaChannel, text_frame_header
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
"""Inbound messages handled between two turns given to the loop. A socket whose messages are
already queued answers ``receive()`` without suspending, and a media channel batch holds all
that one read brought, so a peer flooding audio or garbage would otherwise hold the event loop
(and every other call) until its burst is handled."""


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
        self._send_lock = asyncio.Lock()
        self._channel = MediaChannel.of(websocket.scope)
        self._received = 0
        self._read = 0
        self._dropped = 0
        self._idle = False
        self._idle_timer: asyncio.TimerHandle | None = None
        # The frame header depends only on the payload length, which is fixed per format.
        self._headers: dict[int, bytes] = {}

    @property
    def closed(self) -> bool:
        """True once the stream is closed (by either side)."""
        return self._closed

    async def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        """One ASGI message, or None on timeout (every ``YIELD_EVERY``: the loop's turn first)."""
        self._read += 1
        if self._read % YIELD_EVERY == 0:
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
            if self._channel is not None:
                async for event in self._channel_events(self._channel):
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
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
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

    async def _channel_events(self, channel: MediaChannel) -> AsyncIterator[MediaEvent]:
        """The steady state on a media channel: batches of messages, one idle timer."""
        channel.attach()
        loop = asyncio.get_running_loop()
        period = min(1.0, self._idle_timeout_s / 4)
        self._idle_timer = loop.call_later(
            period, self._check_idle, loop, channel, period, -1, loop.time()
        )
        metrics = self._metrics
        while True:
            batch = channel.take()
            if not batch:
                if self._idle:
                    self._close_reason = "idle_timeout"
                    break
                if channel.closed or self._closed:
                    break
                await channel.wait()
                continue
            self._received += len(batch)
            for index, message in enumerate(batch, 1):
                if index % YIELD_EVERY == 0:
                    # A batch is what arrived since the last take: one read of a flood may
                    # hold thousands of messages; other calls get a turn meanwhile.
                    await asyncio.sleep(0)
                decoded = decode_inbound(message, metrics)
                if decoded is None:
                    self._note_drop()
                    continue
                if type(decoded) is AudioMetadata:
                    self._check_metadata(decoded)
                    continue
                event = self._to_event(decoded)  # type: ignore[arg-type]
                if event is not None:
                    yield event
        self._closed = True

    def _check_idle(
        self,
        loop: asyncio.AbstractEventLoop,
        channel: MediaChannel,
        period: float,
        seen: int,
        last_change: float,
    ) -> None:
        """One tick of a channel stream's idle timer (every ``period`` s).

        When no message came in ``idle_timeout_s``, the stream is woken to end the call. A
        method re-armed with its state as arguments rather than a closure that re-arms
        itself: a closure naming itself is a reference cycle holding the stream, its channel
        and its socket until the garbage collector runs (issue 12, bench_soak).
        """
        now = loop.time()
        if self._received != seen:
            seen, last_change = self._received, now
        elif now - last_change >= self._idle_timeout_s:
            self._idle = True
            self._idle_timer = None
            channel.wake()
            return
        self._idle_timer = loop.call_later(
            period, self._check_idle, loop, channel, period, seen, last_change
        )

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
            self._note_drop()
        return decoded

    def _note_drop(self) -> None:
        """Count a dropped message; warn on the call's first (the codec logs each at DEBUG)."""
        self._dropped += 1
        if self._dropped == 1:
            logger.warning(
                "call %s: dropping malformed ACS media messages (counted in"
                " parley_frames_dropped_total; the total is logged at the call's end)",
                self.call_id,
            )

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
        if self.try_send_audio(frame):
            return
        await self._send(encode_audio(frame.data))

    def try_send_audio(self, frame: AudioFrame) -> bool:
        """Send one frame of agent audio now, without suspending, when the socket allows.

        Returns:
            True when the frame was written; False when it was not (no media channel, or the
            peer is not reading): :meth:`send_audio` then waits for the socket.

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: ``frame`` is not in the stream's format.
        """
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"frame is {frame.format}, stream is {self.format}")
        if self._closed:
            raise StreamClosedError(f"media stream of call {self.call_id} is closed")
        channel = self._channel
        if channel is None or self._send_lock.locked():
            return False
        payload = encode_audio_bytes(frame.data)
        header = self._headers.get(len(payload))
        if header is None:
            header = self._headers[len(payload)] = text_frame_header(len(payload))
        if channel.send_frame(header + payload):
            return True
        if channel.closed:
            self._closed = True
            raise StreamClosedError(f"media stream of call {self.call_id} closed")
        return False

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
