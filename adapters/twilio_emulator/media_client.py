"""The Twilio emulator's media side: Twilio connecting to the agent's Media Streams WebSocket.

As Twilio does for ``<Connect><Stream>`` ("Media Streams - WebSocket Messages",
https://www.twilio.com/docs/voice/media-streams/websocket-messages), the client connects to the
``<Stream url>``, sends ``connected`` and ``start`` (with the ``<Parameter>`` values as
``customParameters``), then the caller's audio as 20 ms base64 mu-law ``media`` messages paced
on an absolute schedule, ``dtmf`` for keys, and ``stop`` when the stream ends.

Between utterances the line is digital silence, as the ACS emulator's is; ``line_noise_dbfs``
puts low-level Gaussian noise there instead, as a real telephone line carries (webrtcvad then
flags the line's first 80 ms as speech while it adapts, which the runtime treats as a short
barge-in that a false-interruption resume undoes).

What the agent sends back is played out in real time by :class:`MarkedPlayout`: a ``mark`` is
echoed when playout reaches it (a task sleeps until the next mark is due, so echoes leave within
a timer's precision of playout, as Twilio's do); ``clear`` discards the unplayed audio and
echoes every pending mark at once, as Twilio documents. ``played_at_clear`` keeps how much agent
audio had played at each ``clear``: the truth a barge-in's heard words are checked against. The
client keeps the ACS media client's statistics names (``stats.stop_audio_times`` holds the
``clear`` arrivals), so one scenario drives both.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import websockets
from websockets.asyncio.client import ClientConnection

from adapters.acs_emulator.media_client import PlayoutBuffer, WireStats
from adapters.audio.convert import mulaw_decode, mulaw_encode
from adapters.twilio.media_codec import (
    Clear,
    Mark,
    Media,
    decode_outbound,
    encode_connected,
    encode_dtmf,
    encode_inbound_media,
    encode_mark_echo,
    encode_start,
    encode_stop,
)
from ports import AudioFormat

logger = logging.getLogger(__name__)

PCM8K = AudioFormat(8000)
"""The caller's line as scenarios give it: 8 kHz PCM16 (mu-law on the wire)."""

FRAME_PCM_BYTES = PCM8K.frame_bytes(20)
"""One 20 ms frame of 8 kHz PCM16 (320 bytes; 160 mu-law bytes on the wire)."""


class MarkedPlayout(PlayoutBuffer):
    """Real-time playout of the agent's audio with Twilio's marks.

    Args:
        record: Keep the played audio (8 kHz PCM16, silence where nothing played).
        clock: Monotonic seconds.
    """

    def __init__(self, *, record: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(PCM8K, record=record, clock=clock)
        self._pushed = 0
        self._marks: collections.deque[tuple[int, str]] = collections.deque()
        self.played_at_clear: list[int] = []
        """Agent audio played (bytes, the whole call) when each ``clear`` arrived."""

    def push(self, pcm: bytes) -> None:
        """Queue agent audio received now."""
        super().push(pcm)
        self._pushed += len(pcm)

    def mark(self, name: str) -> None:
        """A mark after everything pushed so far."""
        self._marks.append((self._pushed, name))

    def due_marks(self) -> list[str]:
        """Marks playout has reached since the last call, in order."""
        self.buffered_ms()  # advances playout to now
        due = []
        while self._marks and self._marks[0][0] <= self.played_bytes:
            due.append(self._marks.popleft()[1])
        return due

    def next_mark_in_s(self) -> float | None:
        """Seconds until playout reaches the first pending mark (0 when due); None for none."""
        if not self._marks:
            return None
        self.buffered_ms()  # advances playout to now
        remaining = self._marks[0][0] - self.played_bytes
        return max(0, remaining) / self.format.bytes_per_second

    def clear(self) -> tuple[int, list[str]]:
        """``clear``: drop unplayed audio; return (bytes dropped, every pending mark)."""
        dropped = self.stop()
        self.played_at_clear.append(self.played_bytes)
        self._pushed = self.played_bytes
        pending = [name for _, name in self._marks]
        self._marks.clear()
        return dropped, pending


def _line_noise(dbfs: float | None, frames: int = 25) -> list[bytes]:
    """Mu-law frames of Gaussian noise at ``dbfs`` (RMS), computed once per client."""
    if dbfs is None:
        return [mulaw_encode(bytes(FRAME_PCM_BYTES))]
    sigma = 32768.0 * 10 ** (dbfs / 20.0)
    rng = np.random.default_rng(20)
    samples = rng.normal(0.0, sigma, frames * FRAME_PCM_BYTES // 2).round().astype("<i2")
    data = samples.tobytes()
    return [
        mulaw_encode(data[i * FRAME_PCM_BYTES : (i + 1) * FRAME_PCM_BYTES]) for i in range(frames)
    ]


@dataclass(slots=True)
class _Utterance:
    frames: list[bytes]
    done: asyncio.Future[tuple[float, float]]
    sent: int = 0
    first_sent: float = 0.0


class TwilioMediaClient:
    """One call's Media Stream, from Twilio's side.

    Args:
        url: The ``<Stream url>`` (``ws://.../ws/twilio/media``).
        call_sid: The call (``CA...``).
        account_sid: The account (``AC...``).
        parameters: The ``<Parameter>`` values of the ``<Stream>``.
        record: Keep the agent's played audio.
        keep_frame_times: Keep every agent frame's arrival time (jitter figures).
        line_noise_dbfs: Level of the noise between utterances (RMS, dBFS); None for digital
            silence.
    """

    def __init__(
        self,
        url: str,
        *,
        call_sid: str,
        account_sid: str,
        parameters: Mapping[str, str],
        record: bool = True,
        keep_frame_times: bool = False,
        line_noise_dbfs: float | None = None,
    ) -> None:
        self.url = url
        self._idle = _line_noise(line_noise_dbfs)
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.parameters = dict(parameters)
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.format = PCM8K
        self.playout = MarkedPlayout(record=record)
        self.stats = WireStats()
        self.marks_echoed = 0
        self._keep_frame_times = keep_frame_times
        self._ws: ClientConnection | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._echoer: asyncio.Task[None] | None = None
        self._mark_added = asyncio.Event()
        self._line: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._sequence = 0
        self._chunk = 0
        self._utterances: collections.deque[_Utterance] = collections.deque()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.last_frame_time: float | None = None
        self.frames_sent = 0

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def connect(self, *, timeout_s: float = 10.0) -> None:
        """Open the socket and send ``connected`` and ``start``.

        Raises:
            websockets.exceptions.InvalidStatus: The server refused the upgrade.
            TimeoutError: No answer within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            self._ws = await websockets.connect(
                self.url, max_size=2**20, open_timeout=timeout_s, compression=None
            )
        self._receiver = asyncio.create_task(self._receive(), name="twilio-emulator-media-rx")
        self._echoer = asyncio.create_task(self._echo_marks(), name="twilio-emulator-marks")
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            await self._ws.send(encode_connected())
            await self._ws.send(
                encode_start(
                    stream_sid=self.stream_sid,
                    call_sid=self.call_sid,
                    account_sid=self.account_sid,
                    custom_parameters=self.parameters,
                    sequence_number=self._next_sequence(),
                )
            )

    async def _receive(self) -> None:
        assert self._ws is not None  # noqa: S101 (set by connect)
        try:
            async for message in self._ws:
                now = time.monotonic()
                decoded = decode_outbound(message)
                if isinstance(decoded, Media):
                    pcm = mulaw_decode(decoded.mulaw)
                    self.stats.frames_received += 1
                    self.stats.bytes_received += len(pcm)
                    self.last_frame_time = now
                    if self._keep_frame_times:
                        self.stats.frame_times.append(now)
                    self.playout.push(pcm)
                elif isinstance(decoded, Mark):
                    self.playout.mark(decoded.name)
                    self._mark_added.set()
                elif isinstance(decoded, Clear):
                    self.stats.stop_audio_times.append(now)
                    dropped, pending = self.playout.clear()
                    self.stats.bytes_discarded += dropped
                    await self._echo(pending)
                else:
                    self.stats.dropped += 1
                await self._echo(self.playout.due_marks())
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if self._ws is not None and self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""
            self.closed.set()
            self._mark_added.set()  # the mark echoer sees the close

    async def _echo_marks(self) -> None:
        """Echo each mark when playout reaches it (sleeping until the next one is due)."""
        try:
            while not self.closed.is_set():
                wait = self.playout.next_mark_in_s()
                if wait is None:
                    self._mark_added.clear()
                    await self._mark_added.wait()
                    continue
                if wait > 0:
                    # Marks added meanwhile come later; a clear echoes its marks itself.
                    await asyncio.sleep(wait)
                await self._echo(self.playout.due_marks())
        except (websockets.exceptions.ConnectionClosed, RuntimeError):
            pass

    async def _echo(self, names: list[str]) -> None:
        for name in names:
            self.marks_echoed += 1
            await self._send(
                encode_mark_echo(self.stream_sid, name, sequence_number=self._next_sequence())
            )

    async def _send(self, message: str) -> None:
        if self._ws is None:
            raise RuntimeError("media client is not connected")
        async with self._send_lock:
            await self._ws.send(message)

    async def _send_frame(self, pcm: bytes | None) -> None:
        """Send one 20 ms frame (8 kHz PCM16), or the idle line's next frame for None."""
        self._chunk += 1
        mulaw = self._idle[self._chunk % len(self._idle)] if pcm is None else mulaw_encode(pcm)
        await self._send(
            encode_inbound_media(
                self.stream_sid,
                mulaw,
                sequence_number=self._next_sequence(),
                chunk=self._chunk,
                timestamp_ms=(self._chunk - 1) * 20,
            )
        )
        self.frames_sent += 1

    @staticmethod
    def _frames(pcm: bytes) -> list[bytes]:
        size = FRAME_PCM_BYTES
        frames = [pcm[i : i + size] for i in range(0, len(pcm), size)]
        if frames and len(frames[-1]) < size:
            frames[-1] += bytes(size - len(frames[-1]))
        return frames

    def start_line(self, speed: float = 1.0) -> None:
        """Stream the caller's line continuously (silence between utterances), as Twilio does."""
        if self._line is None:
            self._line = asyncio.create_task(self._run_line(speed), name="twilio-emulator-line")

    async def _run_line(self, speed: float) -> None:
        period = 0.020 / max(speed, 1e-3)
        start = time.monotonic()
        i = 0
        try:
            while not self.closed.is_set():
                utterance = self._utterances[0] if self._utterances else None
                frame = None if utterance is None else utterance.frames[utterance.sent]
                await self._send_frame(frame)
                await self._echo(self.playout.due_marks())
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
                    start = time.monotonic() - i * period  # far behind: do not burst
        except (websockets.exceptions.ConnectionClosed, RuntimeError):
            pass
        finally:
            for utterance in self._utterances:
                if not utterance.done.done():
                    utterance.done.set_result((utterance.first_sent, time.monotonic()))

    async def speak(self, pcm: bytes) -> tuple[float, float]:
        """Queue caller speech (8 kHz PCM16) on the line; wait until sent.

        Returns:
            Monotonic times (s) of its first and last frame on the wire.
        """
        frames = self._frames(pcm)
        if not frames:
            now = time.monotonic()
            return now, now
        utterance = _Utterance(frames, asyncio.get_running_loop().create_future())
        self._utterances.append(utterance)
        return await utterance.done

    async def send_audio(self, pcm: bytes, *, speed: float = 1.0) -> tuple[float, float]:
        """Send caller audio (8 kHz PCM16) as 20 ms frames on an absolute schedule."""
        period = 0.020 / max(speed, 1e-3)
        start = time.monotonic()
        first = last = start
        for i, frame in enumerate(self._frames(pcm)):
            if self.closed.is_set():
                break
            delay = start + i * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._send_frame(frame)
            last = time.monotonic()
            if i == 0:
                first = last
        return first, last

    async def send_dtmf(self, digit: str) -> None:
        """Send one ``dtmf`` message."""
        await self._send(encode_dtmf(self.stream_sid, digit, sequence_number=self._next_sequence()))

    async def send_raw(self, message: str | bytes) -> None:
        """Send any message as is (bad-input tests)."""
        await self._send(message)  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Send ``stop`` and close: the stream ended on Twilio's side (hang-up or new TwiML)."""
        if self._ws is not None and not self.closed.is_set():
            with contextlib.suppress(Exception):
                await self._send(
                    encode_stop(
                        self.stream_sid,
                        call_sid=self.call_sid,
                        account_sid=self.account_sid,
                        sequence_number=self._next_sequence(),
                    )
                )
        await self.close()

    async def close(self, code: int = 1000) -> None:
        """Close the socket; idempotent."""
        if self._line is not None:
            self._line.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._line
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code), timeout=2.0)
        for task in (self._receiver, self._echoer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.closed.set()


__all__ = ["PCM8K", "MarkedPlayout", "TwilioMediaClient"]
