"""The ``TextToSpeech`` port: streaming synthesis with word boundaries.

Promise:
    * ``synthesize(text, voice=..., fmt=...)`` returns an async generator of
      :class:`SpeechChunk` in play order, each holding audio in exactly ``fmt``; chunks are
      yielded as the engine makes them (the first before a long text is finished).
    * Word boundaries, when the engine knows them, ride on the chunk during which the word
      starts. ``audio_offset_ms`` is ms from the start of this synthesis and never decreases;
      ``text_offset`` and ``text_length`` index into the ``text`` argument (characters).
    * Closing the generator (``aclose()``, or cancelling the task that iterates it) stops the
      engine's synthesis; it returns within 50 ms and leaves no task or thread behind.
    * Empty or whitespace-only text yields no chunk. Very long text is chunked by the adapter.
    * Errors: :class:`~ports.errors.ProviderError` subclasses while iterating.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from ports.audio import AudioFormat, AudioFrame


@dataclass(frozen=True, slots=True)
class Voice:
    """Which voice speaks, and how.

    Attributes:
        name: Provider voice name (``en-US-AvaMultilingualNeural``, ``en-us`` for espeak);
            ``None`` for the adapter's configured default.
        language: BCP-47 tag.
        style: Speaking style where the provider supports one (SSML ``mstts:express-as``).
        rate: Relative rate, 1.0 is normal.
        pitch: Relative pitch change in percent, 0 is normal.
    """

    name: str | None = None
    language: str = "en-US"
    style: str | None = None
    rate: float = 1.0
    pitch: float = 0.0


@dataclass(frozen=True, slots=True)
class WordBoundary:
    """Where a word of the input text falls in the synthesised audio.

    Attributes:
        text_offset: Index of the word's first character in the synthesised text.
        text_length: Characters in the word.
        audio_offset_ms: When the word starts, ms from the start of the synthesis.
        duration_ms: How long it is spoken, ms (0 when unknown).
    """

    text_offset: int
    text_length: int
    audio_offset_ms: float
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class SpeechChunk:
    """A run of synthesised audio with the words that start in it.

    Attributes:
        audio: Audio in the requested format; ``timestamp_ms`` is ms from synthesis start.
        words: Word boundaries starting within this chunk, in order.
    """

    audio: AudioFrame
    words: tuple[WordBoundary, ...] = ()


class TextToSpeech(Protocol):
    """Streaming synthesis; one instance serves every call of a process."""

    def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise ``text`` into chunks of audio in ``fmt``.

        Args:
            text: Plain text (not SSML); the adapter escapes it.
            voice: The voice to speak with.
            fmt: Output format; the adapter converts when its engine cannot produce it.

        Raises:
            InvalidAudioError: ``fmt`` cannot be produced.
            ProviderError: The engine failed (raised while iterating).
        """
        ...
