"""The ``SpeechToText`` port: streaming recognition of one call's caller audio.

Promise:
    * ``SpeechToText.session(fmt)`` returns a :class:`RecognitionSession` bound to one audio
      format; use it as an async context manager (``async with``) or call ``aclose()``.
    * ``push(frame)`` never blocks the event loop: it hands the frame to the engine (a queue,
      a thread, a socket) and returns. Frames must be in the session's format; otherwise it
      raises :class:`~ports.errors.InvalidAudioError` at once.
    * ``events()`` yields :class:`TranscriptEvent` values in stream order: zero or more
      partials, then a final, per utterance. Offsets are ms from the first pushed sample.
    * ``end_of_speech()`` is a hint from the runtime's VAD that the caller stopped talking;
      engines that endpoint by themselves may ignore it, others finalise the utterance.
    * ``flush()`` ends the audio: the engine emits its last final (if any words remain), then
      ``events()`` ends.
    * ``aclose()`` stops at once without a final; it is idempotent, and leaves no task or
      thread behind. Cancelling a task blocked in ``events()`` is safe.
    * Errors: ``events()`` raises :class:`~ports.errors.ProviderError` subclasses (timeout,
      authentication, unavailable) when the engine fails and cannot recover.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from ports.audio import AudioFormat, AudioFrame


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    """A partial or final transcript of one utterance.

    Attributes:
        text: Recognised text (display form when the engine gives one).
        is_final: False for a partial hypothesis that may still change, True for the final.
        start_ms: Start of the utterance, ms from the first pushed sample.
        end_ms: End of the recognised audio, ms from the first pushed sample.
        confidence: 0..1, or ``None`` when the engine does not say.
        language: BCP-47 tag when the engine identified the language.
    """

    text: str
    is_final: bool
    start_ms: float = 0.0
    end_ms: float = 0.0
    confidence: float | None = None
    language: str | None = None


class RecognitionSession(Protocol):
    """One streaming recognition, for one call, in one audio format."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def push(self, frame: AudioFrame) -> None:
        """Queue a frame for recognition without blocking.

        Raises:
            InvalidAudioError: The frame's format differs from the session's.
            StreamClosedError: The session is closed.
        """
        ...

    def end_of_speech(self) -> None:
        """Hint that the caller stopped speaking (VAD endpoint); engines may finalise now."""
        ...

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """Transcript events in stream order, ending after ``flush()`` or ``aclose()``."""
        ...

    async def flush(self) -> None:
        """End the audio; the last final follows on ``events()``, then it ends."""
        ...

    async def aclose(self) -> None:
        """Stop now, without a final. Idempotent."""
        ...


class SpeechToText(Protocol):
    """Factory of recognition sessions; one instance serves every call of a process."""

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> RecognitionSession:
        """Open a recognition session for audio in ``fmt``.

        Args:
            fmt: Format of the frames that will be pushed.
            language: BCP-47 tag overriding the configured recognition language.

        Raises:
            InvalidAudioError: The engine cannot take ``fmt``.
        """
        ...
