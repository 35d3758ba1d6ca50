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

    Outbound: ``send_audio`` and ``stop_audio`` are recorded in :attr:`outbound`, in order,
    stamped with the clock when one is given. ``send_audio`` checks the frame is in the
    stream's format, and raises :class:`~ports.StreamClosedError` once either side closed.

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
        self._sent = asyncio.Condition()

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
        async with asyncio.timeout(timeout_s), self._sent:
            await self._sent.wait_for(lambda: len(self.outbound) >= count)

    # Port side -------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Inbound events in feed order, ending after ``StreamClosed``."""
        while True:
            event = await self._inbound.get()
            yield event
            if isinstance(event, StreamClosed):
                return

    async def send_audio(self, frame: AudioFrame) -> None:
        """Record one outbound frame.

        Raises:
            StreamClosedError: The stream is closed.
            InvalidAudioError: The frame is not in the stream's format.
        """
        if self.closed:
            raise StreamClosedError("media stream is closed")
        if frame.format != self.format:
            raise InvalidAudioError(f"stream format is {self.format}, frame is {frame.format}")
        await self._record(Outbound("audio", self._now(), frame))

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
        async with self._sent:
            self.outbound.append(item)
            self._sent.notify_all()
