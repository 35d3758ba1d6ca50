"""FakeTextToSpeech: a :class:`ports.TextToSpeech` whose audio length follows the text."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Collection
from dataclasses import dataclass

from adapters.memory.signals import tone_second
from ports import (
    AudioFormat,
    AudioFrame,
    Clock,
    InvalidAudioError,
    ParleyError,
    SpeechChunk,
    Voice,
    WordBoundary,
)

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """What the fake was asked to say (recorded for assertions).

    Attributes:
        text: The text.
        voice: The voice.
        format: The requested format.
    """

    text: str
    voice: Voice
    format: AudioFormat


class FakeTextToSpeech:
    """Deterministic synthesis: ``ms_per_char`` of tone per character, in ``chunk_ms`` chunks.

    The audio spans the text from its first to its last non-space character at
    ``ms_per_char`` per character (spaces included), rounded to whole samples. Each word's
    boundary has ``audio_offset_ms = (text_offset - first_offset) * ms_per_char`` and
    ``duration_ms = len(word) * ms_per_char``; it rides on the chunk during which it starts.
    Chunk ``k`` has ``timestamp_ms = k * chunk_ms``; the last one may be shorter.

    Timing (only with a ``clock``): chunk ``k`` is yielded no earlier than
    ``start + time_to_first_byte_ms + k * chunk_ms * realtime_factor`` (an absolute schedule;
    ``realtime_factor`` 0.1 synthesises ten times faster than real time). Without a clock,
    chunks are immediate.

    Args:
        clock: Time source for the delays.
        ms_per_char: Audio per character of text, ms.
        chunk_ms: Duration of each chunk, ms.
        time_to_first_byte_ms: Delay before the first chunk, ms.
        realtime_factor: Synthesis time per ms of audio; 0 for instant.
        amplitude: Tone amplitude on the PCM16 scale (0 for digital silence).
        formats: Formats it can produce; ``None`` for any PCM16 or mu-law format.
        fail_with: Error raised while iterating, after ``fail_after_chunks`` chunks.
        fail_after_chunks: Chunks yielded before ``fail_with`` is raised.

    Raises:
        ValueError: A delay is configured without a clock.

    Attributes:
        requests: Every synthesis asked for, in order.
        active: Syntheses currently running (0 once every generator has finished or closed).
        cancelled: Syntheses closed before their last chunk.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ms_per_char: float = 60.0,
        chunk_ms: int = 20,
        time_to_first_byte_ms: float = 0.0,
        realtime_factor: float = 0.0,
        amplitude: int = 2000,
        formats: Collection[AudioFormat] | None = None,
        fail_with: ParleyError | None = None,
        fail_after_chunks: int = 0,
    ) -> None:
        if clock is None and (time_to_first_byte_ms > 0 or realtime_factor > 0):
            raise ValueError("FakeTextToSpeech needs a clock to apply delays")
        if chunk_ms <= 0 or ms_per_char <= 0:
            raise ValueError("chunk_ms and ms_per_char must be positive")
        self._clock = clock
        self.ms_per_char = ms_per_char
        self.chunk_ms = chunk_ms
        self.time_to_first_byte_ms = time_to_first_byte_ms
        self.realtime_factor = realtime_factor
        self.amplitude = amplitude
        self._formats = frozenset(formats) if formats is not None else None
        self.fail_with = fail_with
        self.fail_after_chunks = fail_after_chunks
        self.requests: list[SynthesisRequest] = []
        self.active = 0
        self.cancelled = 0
        self._tones: dict[AudioFormat, bytes] = {}

    def duration_ms(self, text: str) -> float:
        """Audio duration the fake produces for ``text``, ms (before sample rounding)."""
        words = [m.span() for m in _WORD.finditer(text)]
        if not words:
            return 0.0
        return (words[-1][1] - words[0][0]) * self.ms_per_char

    async def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise ``text`` into chunks of tone in exactly ``fmt``.

        Yields:
            Chunks in play order with the word boundaries starting in each.

        Raises:
            InvalidAudioError: ``fmt`` is not among ``formats``.
            ParleyError: ``fail_with``, after ``fail_after_chunks`` chunks.
        """
        if self._formats is not None and fmt not in self._formats:
            raise InvalidAudioError(f"FakeTextToSpeech cannot produce {fmt}")
        self.requests.append(SynthesisRequest(text, voice, fmt))
        matches = list(_WORD.finditer(text))
        if not matches:
            return
        self.active += 1
        outcome = "cancelled"
        try:
            first = matches[0].start()
            frame_width = fmt.sample_width
            samples = round(self.duration_ms(text) * fmt.sample_rate_hz / 1000.0)
            total_bytes = samples * frame_width
            chunk_bytes = fmt.frame_bytes(self.chunk_ms)
            tone = self._tone(fmt)
            words = [
                WordBoundary(
                    text_offset=m.start(),
                    text_length=len(m.group()),
                    audio_offset_ms=float((m.start() - first) * self.ms_per_char),
                    duration_ms=float(len(m.group()) * self.ms_per_char),
                )
                for m in matches
            ]
            clock = self._clock
            start = clock.now_ms() if clock is not None else 0.0
            word_index = 0
            for index, offset in enumerate(range(0, total_bytes, chunk_bytes)):
                if self.fail_with is not None and index >= self.fail_after_chunks:
                    outcome = "failed"
                    raise self.fail_with
                if clock is not None:
                    due = start + self.time_to_first_byte_ms
                    due += index * self.chunk_ms * self.realtime_factor
                    await clock.sleep_until(due)
                size = min(chunk_bytes, total_bytes - offset)
                chunk_start_ms = index * self.chunk_ms
                chunk_end_ms = chunk_start_ms + self.chunk_ms
                in_chunk = []
                while word_index < len(words) and (
                    words[word_index].audio_offset_ms < chunk_end_ms
                ):
                    in_chunk.append(words[word_index])
                    word_index += 1
                begin = offset % len(tone)
                data = (
                    (tone[begin:] + tone)[:size]
                    if begin + size > len(tone)
                    else (tone[begin : begin + size])
                )
                yield SpeechChunk(AudioFrame(data, fmt, float(chunk_start_ms)), tuple(in_chunk))
            if self.fail_with is not None:
                outcome = "failed"
                raise self.fail_with
            outcome = "finished"
        finally:
            self.active -= 1
            if outcome == "cancelled":
                self.cancelled += 1

    def _tone(self, fmt: AudioFormat) -> bytes:
        tone = self._tones.get(fmt)
        if tone is None:
            tone = self._tones[fmt] = tone_second(fmt, amplitude=self.amplitude)
        return tone
