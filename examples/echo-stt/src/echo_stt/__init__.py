"""A trivial speech-to-text adapter for Parley: every utterance is heard as fixed words.

An utterance is a run of frames whose RMS level is at least ``speech_rms`` (PCM16 scale); it
ends when the caller's VAD says so (``end_of_speech()``), or at ``flush()``. Offsets are ms of
audio pushed before the frame, as ``ports.SpeechToText`` promises.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from ports import (
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ProviderError,
    StreamClosedError,
    TranscriptEvent,
)

__all__ = ["EchoSession", "EchoSpeechToText"]

_END = object()


def _rms(frame: AudioFrame) -> float:
    count = len(frame.data) // 2
    if count == 0:
        return 0.0
    samples = struct.unpack(f"<{count}h", frame.data[: count * 2])
    return math.sqrt(sum(s * s for s in samples) / count)


class EchoSpeechToText:
    """Hears every utterance as ``words``.

    Args:
        words: What every utterance is heard as.
        speech_rms: RMS level (PCM16 scale) from which a frame is speech.
        fail_with: An error ``events()`` raises at the first pushed frame (a broken engine).
    """

    def __init__(
        self,
        words: str = "hello world",
        *,
        speech_rms: float = 500.0,
        fail_with: ProviderError | None = None,
    ) -> None:
        self.words = words
        self.speech_rms = speech_rms
        self.fail_with = fail_with

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> EchoSession:
        """A recognition session for PCM16 frames in ``fmt``.

        Raises:
            InvalidAudioError: ``fmt`` is not PCM16.
        """
        if fmt.encoding.value != "pcm16":
            raise InvalidAudioError(f"echo-stt takes PCM16 audio, not {fmt.encoding.value}")
        return EchoSession(self, fmt)

    def offset(self, pushed_ms: float) -> float:
        """Transcript offset of ``pushed_ms`` of audio (ms; a subclass may break this)."""
        return pushed_ms


class EchoSession:
    """One recognition of :class:`EchoSpeechToText`."""

    def __init__(self, owner: EchoSpeechToText, fmt: AudioFormat) -> None:
        self._owner = owner
        self._fmt = fmt
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._pushed_ms = 0.0
        self._start_ms: float | None = None
        self._last_speech_ms = 0.0
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def push(self, frame: AudioFrame) -> None:
        """Take one frame (never blocks).

        Raises:
            StreamClosedError: After ``flush()`` or ``aclose()``.
            InvalidAudioError: The frame is not in the session's format.
        """
        if self._closed:
            raise StreamClosedError("echo-stt session is closed")
        if frame.format != self._fmt:
            raise InvalidAudioError(f"expected {self._fmt}, got {frame.format}")
        if self._owner.fail_with is not None:
            self._queue.put_nowait(self._owner.fail_with)
            return
        at = self._pushed_ms
        self._pushed_ms += frame.duration_ms
        if _rms(frame) >= self._owner.speech_rms:
            if self._start_ms is None:
                self._start_ms = at
                first = self._owner.words.split()[0] if self._owner.words.split() else ""
                self._event(first, False, self._pushed_ms)
            self._last_speech_ms = self._pushed_ms

    def end_of_speech(self) -> None:
        """The caller stopped: the open utterance is heard as the words."""
        if not self._closed:
            self._final()

    async def events(self) -> AsyncIterator[TranscriptEvent]:
        """Partials and finals in order; ends after ``flush()`` or ``aclose()``.

        Raises:
            ProviderError: The owner's ``fail_with``.
        """
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, ProviderError):
                raise item
            assert isinstance(item, TranscriptEvent)  # noqa: S101 (the queue holds only these)
            yield item

    async def flush(self) -> None:
        """End the audio: the last final, then the end of ``events()``."""
        if not self._closed:
            self._final()
            self._closed = True
            self._queue.put_nowait(_END)

    async def aclose(self) -> None:
        """Stop now, without a final; idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(_END)

    def _final(self) -> None:
        if self._start_ms is not None:
            self._event(self._owner.words, True, self._last_speech_ms)
            self._start_ms = None

    def _event(self, text: str, final: bool, end_ms: float) -> None:
        assert self._start_ms is not None  # noqa: S101 (inside an utterance)
        offset = self._owner.offset
        self._queue.put_nowait(
            TranscriptEvent(text, final, offset(self._start_ms), offset(end_ms), confidence=1.0)
        )
