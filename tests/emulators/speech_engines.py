"""Engines behind the Speech stand-in: what it hears and what it says.

Transcribers turn one segment of caller audio (PCM16 mono at the connection's rate) into text:

* :class:`ScriptedTranscriber`: the next scripted line per segment, in order.
* :class:`ToneTranscriber`: the word mapped to the segment's dominant tone (Hz); content-keyed,
  so a replayed or re-sent segment gets the same text (reconnect tests rely on this).
* :class:`PocketsphinxTranscriber`: real text from real speech with the local pocketsphinx
  engine (bundled en-us models), so the stand-in answers human recordings truthfully.

Synthesizers turn text into PCM16 mono at the requested rate plus word timings:

* :class:`ToneSynthesizer`: a tone per word, silence between words; duration grows with the
  word length. Fast and deterministic.
* :class:`EspeakSynthesizer`: speech from the local espeak-ng adapter
  (``adapters.local.EspeakTextToSpeech``) when it is installed.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from adapters.audio import convert_frame
from ports import PCM16_16K, AudioFormat, AudioFrame, Voice

WORD_RE = re.compile(r"[\w][\w'\-]*")
"""What counts as a word for a word boundary: letters/digits with inner apostrophes/hyphens."""


class Transcriber(Protocol):
    """Text for one segment of audio."""

    def partial(self, pcm: bytes, rate_hz: int) -> str:
        """A hypothesis for the segment so far ("" for none)."""
        ...

    def final(self, pcm: bytes, rate_hz: int) -> str:
        """The final text of a whole segment ("" when nothing was recognised)."""
        ...


class ScriptedTranscriber:
    """The next line of a script per final; partials are the line's first words.

    Args:
        lines: Texts given to successive segments; once used up, segments get ``""``.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = list(lines)
        self._next = 0
        self._lock = threading.Lock()

    def _peek(self) -> str:
        with self._lock:
            return self._lines[self._next] if self._next < len(self._lines) else ""

    def partial(self, pcm: bytes, rate_hz: int) -> str:
        words = self._peek().split()
        shown = max(1, int(len(pcm) / (2 * rate_hz) / 0.3))
        return " ".join(words[: min(shown, max(len(words) - 1, 1))])

    def final(self, pcm: bytes, rate_hz: int) -> str:
        with self._lock:
            if self._next >= len(self._lines):
                return ""
            line = self._lines[self._next]
            self._next += 1
            return line


def dominant_hz(pcm: bytes, rate_hz: int) -> float:
    """Frequency (Hz) of the strongest FFT bin of a PCM16 buffer (0.0 when too short)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
    if samples.size < 64:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum)) * rate_hz / samples.size


class ToneTranscriber:
    """The word mapped to the segment's dominant tone.

    Args:
        words: Tone frequency in Hz -> word; a segment matches the nearest tone within 5 %.
    """

    def __init__(self, words: Mapping[int, str]) -> None:
        self._words = dict(words)

    def _word(self, pcm: bytes, rate_hz: int) -> str:
        hz = dominant_hz(pcm, rate_hz)
        best = min(self._words, key=lambda tone: abs(tone - hz), default=None)
        if best is None or abs(best - hz) > best * 0.05:
            return ""
        return self._words[best]

    def partial(self, pcm: bytes, rate_hz: int) -> str:
        return self._word(pcm, rate_hz)

    def final(self, pcm: bytes, rate_hz: int) -> str:
        return self._word(pcm, rate_hz)


class PocketsphinxTranscriber:
    """Real recognition with pocketsphinx 5 (default en-us models), whole segment at once.

    The decoder loads on first use (about 0.3 s) and is shared under a lock; callers run it in
    a thread (the stand-in does ``asyncio.to_thread``).
    """

    def __init__(self) -> None:
        self._decoder: Any = None
        self._lock = threading.Lock()

    def partial(self, pcm: bytes, rate_hz: int) -> str:
        return ""

    def final(self, pcm: bytes, rate_hz: int) -> str:
        from pocketsphinx import Decoder

        if rate_hz != PCM16_16K.sample_rate_hz:
            pcm = convert_frame(AudioFrame(pcm, AudioFormat(rate_hz)), PCM16_16K).data
        with self._lock:
            if self._decoder is None:
                self._decoder = Decoder(loglevel="FATAL")
            decoder = self._decoder
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""


@dataclass(frozen=True, slots=True)
class SpokenWord:
    """A word boundary of synthesised audio.

    Attributes:
        text: The word as written.
        char_offset: Index of its first character in the synthesised text.
        start_ms: Audio offset of its start, ms from the synthesis start.
        duration_ms: How long it is spoken, ms.
    """

    text: str
    char_offset: int
    start_ms: float
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Synthesized:
    """Audio and word boundaries for one piece of text (PCM16 mono at ``rate_hz``)."""

    pcm: bytes
    rate_hz: int
    words: tuple[SpokenWord, ...]


class Synthesizer(Protocol):
    """Text to PCM16 mono plus word boundaries."""

    async def synthesize(self, text: str, rate_hz: int, voice: Voice) -> Synthesized:
        """Synthesise ``text`` at ``rate_hz``."""
        ...


class ToneSynthesizer:
    """A 220-330 Hz tone per word, 60 ms of silence between words.

    Args:
        ms_per_char: Tone length per character of the word (plus 60 ms), at rate 1.0.
        gap_ms: Silence after each word.
    """

    def __init__(self, ms_per_char: float = 40.0, gap_ms: float = 60.0) -> None:
        self._ms_per_char = ms_per_char
        self._gap_ms = gap_ms

    async def synthesize(self, text: str, rate_hz: int, voice: Voice) -> Synthesized:
        speed = voice.rate if voice.rate > 0 else 1.0
        parts: list[np.ndarray[Any, np.dtype[np.int16]]] = []
        words: list[SpokenWord] = []
        at_ms = 0.0
        for i, match in enumerate(WORD_RE.finditer(text)):
            dur_ms = (60.0 + self._ms_per_char * len(match.group())) / speed
            n = int(rate_hz * dur_ms / 1000)
            hz = 220.0 + 110.0 * (i % 2)
            t = np.arange(n, dtype=np.float32) / rate_hz
            parts.append((6000 * np.sin(2 * math.pi * hz * t)).astype("<i2"))
            gap = int(rate_hz * self._gap_ms / 1000)
            parts.append(np.zeros(gap, dtype="<i2"))
            words.append(SpokenWord(match.group(), match.start(), at_ms, dur_ms))
            at_ms += (n + gap) * 1000.0 / rate_hz
        pcm = np.concatenate(parts).tobytes() if parts else b""
        return Synthesized(pcm, rate_hz, tuple(words))


class EspeakSynthesizer:
    """Speech from the local espeak-ng adapter, with its word boundaries.

    Raises:
        ImportError: ``adapters.local.tts`` (H-local's espeak adapter) is not available.
    """

    def __init__(self) -> None:
        from adapters.local.tts import EspeakTextToSpeech

        self._tts = EspeakTextToSpeech()

    async def synthesize(self, text: str, rate_hz: int, voice: Voice) -> Synthesized:
        fmt = AudioFormat(rate_hz)
        audio = bytearray()
        words: list[SpokenWord] = []
        local_voice = Voice(language=voice.language, rate=voice.rate, pitch=voice.pitch)
        async for chunk in self._tts.synthesize(text, voice=local_voice, fmt=fmt):
            audio += chunk.audio.data
            for word in chunk.words:
                words.append(
                    SpokenWord(
                        text[word.text_offset : word.text_offset + word.text_length],
                        word.text_offset,
                        word.audio_offset_ms,
                        word.duration_ms,
                    )
                )
        return Synthesized(bytes(audio), rate_hz, tuple(words))


def default_synthesizer() -> Synthesizer:
    """espeak-ng speech when the local adapter is installed, else tones."""
    try:
        return EspeakSynthesizer()
    except ImportError:
        return ToneSynthesizer()
