"""The emulator's media side: ACS connecting to the agent's media streaming WebSocket.

As ACS does ("Audio streaming quickstart", "Bidirectional audio streaming"; docs/wire-protocols.md,
"ACS media streaming WebSocket"), the client connects to the ``transportUrl`` given at answer time
with ``Authorization: Bearer <RS256 JWT>`` and the ``x-ms-call-connection-id`` /
``x-ms-call-correlation-id`` headers, sends ``AudioMetadata`` first, then the caller's audio as
20 ms ``AudioData`` frames paced on an absolute schedule (real time, or ``speed`` times faster),
and ``DtmfData`` tones.

What the agent sends back is played out by :class:`PlayoutBuffer`: the far end plays agent audio
at real time, so a ``StopAudio`` discards exactly the part received but not yet played.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import websockets
from websockets.asyncio.client import ClientConnection

from adapters.acs.media_codec import (
    AudioData,
    Framer,
    StopAudio,
    decode_outbound,
    encode_audio_metadata,
    encode_dtmf,
    encode_inbound_audio,
    frame_bytes,
)
from ports import AudioFormat

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class WireStats:
    """What the media client saw on the wire; times are ``time.monotonic()`` seconds.

    Attributes:
        frames_received: Agent ``AudioData`` frames received.
        bytes_received: Agent audio bytes received.
        stop_audio_times: When each ``StopAudio`` arrived.
        bytes_discarded: Agent audio dropped unplayed by ``StopAudio``.
        frame_times: Arrival time of every agent frame (kept when ``keep_frame_times``).
        dropped: Messages the codec rejected.
        underruns: Times playout ran dry in the middle of an utterance (gap < 200 ms).
    """

    frames_received: int = 0
    bytes_received: int = 0
    stop_audio_times: list[float] = field(default_factory=list)
    bytes_discarded: int = 0
    frame_times: list[float] = field(default_factory=list)
    dropped: int = 0
    underruns: int = 0


class PlayoutBuffer:
    """The far end's playout: agent audio plays at real time; ``StopAudio`` drops the rest.

    Args:
        fmt: Agent audio format.
        record: Keep the played audio (with silence where nothing played) for a WAV.
        clock: Monotonic seconds.
    """

    def __init__(
        self, fmt: AudioFormat, *, record: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.format = fmt
        self._clock = clock
        self._record = record
        self._pending = bytearray()
        self._played = bytearray()
        self._started = clock()
        self._last = self._started
        self._carry = 0.0
        self.played_bytes = 0
        self.last_play_end: float | None = None

    @property
    def started_at(self) -> float:
        """When the recording's first byte would have played (monotonic seconds)."""
        return self._started

    def _advance(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._last = now
        exact = elapsed * self.format.bytes_per_second + self._carry
        n = int(exact) & ~1
        self._carry = exact - n
        if n == 0:
            return
        take = min(n, len(self._pending))
        if take:
            if self._record:
                self._played += self._pending[:take]
            del self._pending[:take]
            self.played_bytes += take
            if not self._pending:
                # Playout ended inside this step: when exactly, to within a step.
                self.last_play_end = now - (n - take) / self.format.bytes_per_second
        if self._record and n > take:
            self._played += bytes(n - take)

    def push(self, pcm: bytes) -> None:
        """Queue agent audio received now."""
        self._advance(self._clock())
        self._pending += pcm

    def stop(self) -> int:
        """``StopAudio``: discard what is queued; return the bytes discarded."""
        self._advance(self._clock())
        dropped = len(self._pending)
        self._pending.clear()
        if dropped:
            self.last_play_end = self._clock()
        return dropped

    def buffered_ms(self) -> float:
        """Agent audio received and not yet played, ms."""
        self._advance(self._clock())
        return self.format.duration_ms(len(self._pending))

    def is_playing(self) -> bool:
        """True while agent audio is queued for playout."""
        return self.buffered_ms() > 0

    def recording(self) -> bytes:
        """Everything played so far, on the wall-clock timeline (PCM16LE in ``format``)."""
        self._advance(self._clock())
        return bytes(self._played)


@dataclass(slots=True)
class _Utterance:
    frames: list[bytes]
    done: asyncio.Future[tuple[float, float]]
    sent: int = 0
    first_sent: float = 0.0


def iso_now() -> str:
    """The current UTC time as ACS writes frame timestamps (ISO 8601, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MediaClient:
    """One call's media WebSocket, from the ACS side.

    Args:
        transport_url: The agent's ``transportUrl`` (``ws://.../ws/acs/media?...``).
        token: Bearer JWT; ``None`` sends no ``Authorization`` header (auth tests).
        call_connection_id: Sent as ``x-ms-call-connection-id``.
        correlation_id: Sent as ``x-ms-call-correlation-id``.
        fmt: Negotiated format (``pcm16KMono`` or ``pcm24KMono``).
        participant_raw_id: Caller raw id put on every ``AudioData``.
        record: Keep the agent's played audio for a WAV.
        keep_frame_times: Keep every agent frame's arrival time (jitter figures).
    """

    def __init__(
        self,
        transport_url: str,
        *,
        token: str | None,
        call_connection_id: str,
        correlation_id: str,
        fmt: AudioFormat,
        participant_raw_id: str = "4:+14255550100",
        record: bool = True,
        keep_frame_times: bool = False,
    ) -> None:
        self.transport_url = transport_url
        self._token = token
        self.call_connection_id = call_connection_id
        self.correlation_id = correlation_id
        self.format = fmt
        self.participant_raw_id = participant_raw_id
        self.playout = PlayoutBuffer(fmt, record=record)
        self.stats = WireStats()
        self._keep_frame_times = keep_frame_times
        self._ws: ClientConnection | None = None
        self._receiver: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._send_lock = asyncio.Lock()
        self._line: asyncio.Task[None] | None = None
        self._utterances: collections.deque[_Utterance] = collections.deque()
        self.last_frame_time: float | None = None
        self.frames_sent = 0

    async def connect(self, *, timeout_s: float = 10.0) -> None:
        """Open the socket and send ``AudioMetadata``.

        Raises:
            websockets.exceptions.InvalidStatus: The server refused the upgrade (e.g. 401/403).
            TimeoutError: No answer within ``timeout_s``.
        """
        headers = {
            "x-ms-call-connection-id": self.call_connection_id,
            "x-ms-call-correlation-id": self.correlation_id,
        }
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        async with asyncio.timeout(timeout_s):
            self._ws = await websockets.connect(
                self.transport_url,
                additional_headers=headers,
                max_size=2**20,
                open_timeout=timeout_s,
                compression=None,
            )
        self._receiver = asyncio.create_task(self._receive(), name="acs-emulator-media-rx")
        # The agent may close at once (busy: 1013); the receiver records the close code.
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            await self._ws.send(encode_audio_metadata(self.format))

    async def _receive(self) -> None:
        assert self._ws is not None  # noqa: S101 (set by connect)
        try:
            async for message in self._ws:
                now = time.monotonic()
                decoded = decode_outbound(message)
                if isinstance(decoded, AudioData):
                    self.stats.frames_received += 1
                    self.stats.bytes_received += len(decoded.pcm)
                    self.last_frame_time = now
                    if self._keep_frame_times:
                        self.stats.frame_times.append(now)
                    self.playout.push(decoded.pcm)
                elif isinstance(decoded, StopAudio):
                    self.stats.stop_audio_times.append(now)
                    self.stats.bytes_discarded += self.playout.stop()
                else:
                    self.stats.dropped += 1
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if self._ws is not None and self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""
            self.closed.set()

    async def _send(self, message: str) -> None:
        if self._ws is None:
            raise RuntimeError("media client is not connected")
        async with self._send_lock:
            await self._ws.send(message)

    async def send_audio(
        self, pcm: bytes, *, speed: float = 1.0, silent: bool | None = False
    ) -> tuple[float, float]:
        """Send caller audio as 20 ms frames on an absolute schedule.

        Args:
            pcm: PCM16LE in the call's format; a partial last frame is padded with silence.
            speed: Playback speed factor; 1.0 is real time, 4.0 sends four times faster.
            silent: The ``silent`` flag to put on each frame (``None`` omits it).

        Returns:
            Monotonic times (s) of the first and last frame sent.
        """
        framer = Framer(self.format)
        frames = framer.push(pcm)
        tail = framer.flush()
        if tail is not None:
            frames.append(tail)
        period = 0.020 / max(speed, 1e-3)
        start = time.monotonic()
        first = last = start
        for i, frame in enumerate(frames):
            if self.closed.is_set():
                break
            due = start + i * period
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._send(
                encode_inbound_audio(
                    frame,
                    timestamp=iso_now(),
                    participant_raw_id=self.participant_raw_id,
                    silent=silent,
                )
            )
            last = time.monotonic()
            if i == 0:
                first = last
        return first, last

    def start_line(self, speed: float = 1.0) -> None:
        """Stream the caller's line continuously, as ACS does.

        Silent frames (``silent: true``) go at 50 per second times ``speed``, replaced by
        speech queued with :meth:`speak`.
        """
        if self._line is None:
            self._line = asyncio.create_task(self._run_line(speed), name="acs-emulator-line")

    async def _run_line(self, speed: float) -> None:
        period = 0.020 / max(speed, 1e-3)
        silence = bytes(frame_bytes(self.format))
        start = time.monotonic()
        i = 0
        try:
            while not self.closed.is_set():
                utterance = self._utterances[0] if self._utterances else None
                if utterance is None:
                    frame, silent = silence, True
                else:
                    frame, silent = utterance.frames[utterance.sent], False
                await self._send(
                    encode_inbound_audio(
                        frame,
                        timestamp=iso_now(),
                        participant_raw_id=self.participant_raw_id,
                        silent=silent,
                    )
                )
                self.frames_sent += 1
                if utterance is not None:
                    now = time.monotonic()
                    if utterance.sent == 0:
                        utterance.first_sent = now
                    utterance.sent += 1
                    if utterance.sent == len(utterance.frames):
                        self._utterances.popleft()
                        if not utterance.done.done():
                            utterance.done.set_result((utterance.first_sent, now))
                i += 1
                delay = start + i * period - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -1.0:
                    start = time.monotonic() - i * period  # far behind: do not burst to catch up
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            for utterance in self._utterances:
                if not utterance.done.done():
                    utterance.done.set_result((utterance.first_sent, time.monotonic()))

    async def speak(self, pcm: bytes) -> tuple[float, float]:
        """Queue caller speech on the line started by :meth:`start_line`; wait until sent.

        Returns:
            Monotonic times (s) of its first and last frame on the wire.
        """
        framer = Framer(self.format)
        frames = framer.push(pcm)
        tail = framer.flush()
        if tail is not None:
            frames.append(tail)
        if not frames:
            now = time.monotonic()
            return now, now
        utterance = _Utterance(frames, asyncio.get_running_loop().create_future())
        self._utterances.append(utterance)
        return await utterance.done

    async def send_silence(self, ms: float, *, speed: float = 1.0) -> None:
        """Send ``ms`` of silent frames (flagged ``silent: true``), paced like audio."""
        n = max(1, round(ms / 20))
        await self.send_audio(bytes(frame_bytes(self.format) * n), speed=speed, silent=True)

    async def send_dtmf(self, digit: str) -> None:
        """Send one ``DtmfData`` tone (``0-9``, ``*``, ``#``, ``A-D``)."""
        await self._send(encode_dtmf(digit))

    async def send_raw(self, message: str | bytes) -> None:
        """Send any message as is (fuzz and bad-input tests)."""
        await self._send(message)  # type: ignore[arg-type]

    async def close(self, code: int = 1000) -> None:
        """Close the socket (ACS ending the media session); idempotent."""
        if self._line is not None:
            self._line.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._line
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code), timeout=2.0)
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        self.closed.set()
