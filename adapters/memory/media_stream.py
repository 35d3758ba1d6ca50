"""FakeMediaStream: a :class:`ports.MediaStream` a test feeds and reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Literal

from ports import (
    PCM16_16K,
    AudioFormat,
    AudioFrame,
    AudioReceived,
    Clock,
    DtmfReceived,
    InvalidAudioError,
    MediaEvent,
    StreamClosed,
    StreamClosedError,
    StreamStarted,
)


@dataclass(frozen=True, slots=True)
class Outbound:
    """One outbound operation, in call order.

    Attributes:
        kind: ``"audio"`` for ``send_audio``, ``"stop_audio"`` for ``stop_audio``.
        at_ms: Clock time of the call (0.0 without a clock).
        frame: The frame sent, for ``"audio"``.
    """

    kind: Literal["audio", "stop_audio"]
    at_ms: float
    frame: AudioFrame | None = None


class FakeMediaStream:
    """An in-memory call audio channel.

    Inbound: ``events()`` yields :class:`~ports.StreamStarted` (format, call id) first, then
    whatever the test feeds (:meth:`feed_audio`, :meth:`feed_dtmf`, :meth:`feed`), and a last
    :class:`~ports.StreamClosed` after :meth:`remote_close` (the far end hung up) or
    :meth:`close` (our side closed), then it ends.

    Outbound: ``send_audio``, ``try_send_audio`` and ``stop_audio`` are recorded in
    :attr:`outbound`, in order, stamped with the clock when one is given. Both sends check the
    frame is in the stream's format, and raise :class:`~ports.StreamClosedError` once either
    side closed. ``try_send_audio`` sends at once unless :attr:`blocked` is set (a far end that
    is not reading), when it returns False and ``send_audio`` waits until it is cleared.

    Args:
        fmt: Audio format both ways.
        call_id: Call id carried by ``StreamStarted``.
        clock: Stamps outbound operations.
        events: Inbound events queued up front (after ``StreamStarted``).

    Attributes:
        outbound: Every ``send_audio``/``stop_audio`` call, in order.
        closed: True once either side closed.
        close_reason: Reason given by ``StreamClosed`` once closed.
    """

    def __init__(
        self,
        fmt: AudioFormat = PCM16_16K,
        call_id: str = "call-1",
        *,
        clock: Clock | None = None,
        events: Iterable[MediaEvent] = (),
    ) -> None:
        self.format = fmt
        self.call_id = call_id
        self._clock = clock
        self._inbound: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._inbound.put_nowait(StreamStarted(fmt, call_id))
        for event in events:
            self._inbound.put_nowait(event)
        self.outbound: list[Outbound] = []
        self.closed = False
        self.close_reason: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.blocked = False
        self._unblocked = asyncio.Event()
        self._unblocked.set()

    # Test side -------------------------------------------------------------------------

    def feed(self, event: MediaEvent) -> None:
        """Queue an inbound event (a ``StreamClosed`` also closes the stream).

        Raises:
            StreamClosedError: The stream is closed.
        """
        if self.closed:
            raise StreamClosedError("media stream is closed")
        if isinstance(event, StreamClosed):
            self._close(event.reason)
            return
        self._inbound.put_nowait(event)

    def feed_audio(self, *frames: AudioFrame, participant: str | None = None) -> None:
        """Queue inbound audio frames (any format: the test decides what the caller sends)."""
        for frame in frames:
            self.feed(AudioReceived(frame, participant))

    def feed_dtmf(self, digits: str) -> None:
        """Queue one :class:`~ports.DtmfReceived` per character of ``digits``."""
        for digit in digits:
            self.feed(DtmfReceived(digit))

    def remote_close(self, reason: str = "remote_closed") -> None:
        """The far end closed: queue ``StreamClosed(reason)``; idempotent."""
        self._close(reason)

    @property
    def sent_frames(self) -> list[AudioFrame]:
        """Frames passed to ``send_audio``, in order."""
        return [o.frame for o in self.outbound if o.frame is not None]

    @property
    def sent_audio_ms(self) -> float:
        """Total duration of audio sent, ms."""
        return sum(f.duration_ms for f in self.sent_frames)

    @property
    def stop_audio_count(self) -> int:
        """How many times ``stop_audio`` was called."""
        return sum(1 for o in self.outbound if o.kind == "stop_audio")

    async def wait_for_outbound(self, count: int, *, timeout_s: float = 1.0) -> None:
        """Wait until at least ``count`` outbound operations were recorded.

        Raises:
            TimeoutError: Not reached within ``timeout_s`` of real time.
        """
        async with asyncio.timeout(timeout_s):
            while len(self.outbound) < count:
                if self._waiter is None or self._waiter.done():
                    self._waiter = asyncio.get_running_loop().create_future()
                await asyncio.shield(self._waiter)

    # Port side -------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events in feed order, ending after ``StreamClosed``."""
        while True:
            event = await self._inbound.get()
            yield event
            if isinstance(event, StreamClosed):
                return

    def block(self, blocked: bool = True) -> None:
        """Make the far end stop (or resume) reading: sends wait, ``try_send_audio`` says no."""
        self.blocked = blocked
        if blocked:
            self._unblocked.clear()
        else:
            self._unblocked.set()

    async def send_audio(self, frame: AudioFrame) -> None:
        """Record one outbound frame (after :attr:`blocked` clears).

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: The frame is not in the stream's format.
        """
        self._check(frame)
        await self._unblocked.wait()
        self._check(frame)
        await self._record(Outbound("audio", self._now(), frame))

    def try_send_audio(self, frame: AudioFrame) -> bool:
        """Record one outbound frame now, unless :attr:`blocked`.

        Returns:
            True when recorded; False when blocked (nothing recorded).

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: The frame is not in the stream's format.
        """
        self._check(frame)
        if self.blocked:
            return False
        self.outbound.append(Outbound("audio", self._now(), frame))
        self._notify()
        return True

    def _check(self, frame: AudioFrame) -> None:
        if self.closed:
            raise StreamClosedError("media stream is closed")
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"stream format is {self.format}, frame is {frame.format}")

    async def stop_audio(self) -> None:
        """Record a stop-audio (no-op after close, as a closed socket has nothing queued)."""
        if self.closed:
            return
        await self._record(Outbound("stop_audio", self._now()))

    async def close(self) -> None:
        """Close from our side; ``events()`` yields ``StreamClosed("closed")``; idempotent."""
        self._close("closed")

    def _close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self._inbound.put_nowait(StreamClosed(reason))

    def _now(self) -> float:
        return self._clock.now_ms() if self._clock is not None else 0.0

    async def _record(self, item: Outbound) -> None:
        self.outbound.append(item)
        self._notify()

    def _notify(self) -> None:
        # Waiters re-check the count; a synchronous sender cannot take the condition's lock.
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
