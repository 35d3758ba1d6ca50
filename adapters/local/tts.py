"""Offline text-to-speech with the espeak-ng C library behind ``ports.TextToSpeech``.

The library and its voice data come from the ``espeakng-loader`` wheel (no apt step). It is
driven through ``ctypes`` in synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``): ``espeak_Synth``
returns when the text is spoken, having called our synth callback with each buffer of
22 050 Hz PCM16 and the events that fall in it (speak_lib.h). Word boundaries come from
``espeakEVENT_WORD`` events (``text_position`` is a 1-based character offset, ``length`` in
characters, ``audio_position`` in ms). Cancelling returns 1 from the callback, which makes
espeak abort the synthesis.

espeak-ng keeps its state in process-wide globals (one voice, one callback,
``espeak_Initialize`` per process). So each :class:`EspeakTextToSpeech` serialises all its
work through ONE worker thread fed by a queue, and only one instance should be active in a
process; a second instance would share the same C state and its syntheses could interleave
with the first's. The instance initialises the library once on its worker and terminates it
in :meth:`EspeakTextToSpeech.aclose`; an instance is not reusable after that.

Throughput: espeak-ng is a formant synthesiser and runs hundreds of times faster than real
time on one core (``benchmarks/bench_local_engines.py`` prints the figure), so one worker
thread serves many concurrent calls: text is cut into pieces of at most ``max_piece_chars``
characters, a synthesis keeps at most two pieces ahead of its consumer, and other calls'
pieces interleave between them. ctypes releases the GIL while espeak runs; the callback
converts each buffer (:mod:`adapters.audio`) before it hops to the loop with
``loop.call_soon_threadsafe``.

Deadlines: one worker shared by every call must never let one request hold the others
forever (a resampler once asked for 2 Hz did). The output format is checked (its converter
built) on the caller's side before anything is queued; each wait for the next piece of output
has a deadline (``request_timeout_s``, ProviderTimeoutError); while the worker has been on one
piece for longer than that, it counts as stuck: new requests fail at once
(ProviderUnavailableError) instead of queueing behind it and :meth:`health_check` fails,
naming the adapter, so ``/ready`` reports ``text_to_speech``. espeak-ng's state is process
global and a C call cannot be interrupted, so the stuck piece is abandoned, not killed; the
worker serves the queue again once it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import queue
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.audio import FormatConverter
from adapters.local._imports import require
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

_loader = require("espeakng_loader", "espeakng-loader")

logger = logging.getLogger(__name__)

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0

ESPEAK_RATE_HZ = 22050
"""espeak-ng's output sample rate (returned by ``espeak_Initialize``)."""


class _EventId(ctypes.Union):
    _fields_ = (
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    )


class _Event(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_END = object()
_PIECE_DONE = object()


@dataclass(frozen=True, slots=True)
class _Failure:
    error: ProviderError


@dataclass(eq=False)
class _Job:
    """One ``synthesize`` call: its pieces, output queue and cancel flag."""

    pieces: list[tuple[int, str]]  # (offset in the original text, piece text)
    voice: Voice
    fmt: AudioFormat
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[object]
    cancelled: threading.Event = field(default_factory=threading.Event)
    converter: FormatConverter | None = None
    samples_done: int = 0  # 22.05 kHz samples of this job already synthesised
    last_word_ms: float = 0.0
    pending_words: list[WordBoundary] = field(default_factory=list)

    def emit(self, item: object) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening
            self.cancelled.set()


def split_text(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``max_chars`` characters at sentence or word ends.

    Returns:
        ``(offset, piece)`` pairs in order; whitespace-only pieces are dropped. Offsets index
        into ``text`` so word boundaries map back to it.
    """
    pieces: list[tuple[int, str]] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + max_chars, n)
        if end < n:
            window = text[start:end]
            cut = max((m.end() for m in re.finditer(r"[.!?;:]\s", window)), default=0)
            if cut < max_chars // 3:
                cut = window.rfind(" ") + 1
            if cut > 0:
                end = start + cut
        piece = text[start:end]
        if piece.strip():
            pieces.append((start, piece))
        start = end
    return pieces


class EspeakTextToSpeech:
    """espeak-ng synthesis on one worker thread (``ports.TextToSpeech``).

    Args:
        voice: Default espeak voice (``en-us``, ``en-gb``, ``de``), used when ``Voice.name``
            is None and ``Voice.language`` has the same primary language (else the language
            tag lowercased is tried first), and as the fallback for an unknown name.
        variant: espeak voice variant appended as ``name+variant`` to names without one.
            ``klatt4`` (Klatt synthesiser) is the default because the offline recogniser
            understands it best: text -> speech -> pocketsphinx word error rate 0.26 against
            0.68 for the plain ``en-us`` voice on our round-trip sentences.
        rate_wpm: Speaking rate at ``Voice.rate == 1.0``, words per minute (espeak 80..450;
            espeak's own default is 175).
        pitch: Base pitch 0..100 (espeak default 50); ``Voice.pitch`` (percent) shifts it.
        buffer_ms: Audio per synth callback, ms; smaller gives earlier first audio.
        max_piece_chars: Longest text handed to one ``espeak_Synth`` call.
        library_path: ``libespeak-ng`` to load; None for the one in ``espeakng-loader``.
        data_path: The ``espeak-ng-data`` folder; None for the one in ``espeakng-loader``.
        request_timeout_s: Longest wait for the next output of one synthesis, seconds, and
            the time after which a worker busy on one piece counts as stuck.
        piece_hook: Called on the worker thread with each piece's text just before it is
            synthesised (fault injection in tests, tracing); None for nothing.

    Raises:
        ValueError: A parameter is out of range.
    """

    def __init__(
        self,
        *,
        voice: str = "en-us",
        variant: str | None = "klatt4",
        rate_wpm: int = 160,
        pitch: int = 50,
        buffer_ms: int = 20,
        max_piece_chars: int = 300,
        library_path: str | Path | None = None,
        data_path: str | Path | None = None,
        request_timeout_s: float = 10.0,
        piece_hook: Callable[[str], None] | None = None,
    ) -> None:
        if request_timeout_s <= 0:
            raise ValueError(f"request_timeout_s must be positive, got {request_timeout_s}")
        if not 80 <= rate_wpm <= 450:
            raise ValueError(f"rate_wpm must be 80..450, got {rate_wpm}")
        if not 0 <= pitch <= 100:
            raise ValueError(f"pitch must be 0..100, got {pitch}")
        if buffer_ms < 1 or max_piece_chars < 20:
            raise ValueError("buffer_ms must be >= 1 and max_piece_chars >= 20")
        self.default_voice = voice
        self.variant = variant
        self.rate_wpm = rate_wpm
        self.pitch = pitch
        self.buffer_ms = buffer_ms
        self.max_piece_chars = max_piece_chars
        self._library_path = str(library_path or _loader.get_library_path())
        self._data_path = Path(data_path or _loader.get_data_path())
        self._files_present = Path(self._library_path).exists() and self._data_path.is_dir()
        self._requests: queue.SimpleQueue[tuple[_Job, int] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.request_timeout_s = request_timeout_s
        self._piece_hook = piece_hook
        # Monotonic start of the piece the worker is on (None when idle); written by the
        # worker, read on the loop (a float swap is atomic under the GIL).
        self._busy_since: float | None = None
        # Worker-thread state (touched only on the worker):
        self._lib: Any = None
        self._callback: Any = None
        self._current: _Job | None = None
        self._piece: tuple[int, int] = (0, 0)  # (text offset, job samples before it)
        self._applied: tuple[str, int, int] | None = None

    async def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise ``text`` into chunks of ``fmt`` audio with word boundaries.

        Yields:
            :class:`~ports.SpeechChunk` values in play order (about ``buffer_ms`` each).

        Raises:
            InvalidAudioError: ``fmt`` is not mono, or not reachable from 22 050 Hz by a sane
                resampling ratio (checked before anything is queued).
            ProviderTimeoutError: No output within ``request_timeout_s``.
            ProviderUnavailableError: The library could not be loaded or initialised, the
                worker is stuck on another request, or the instance was closed.
        """
        if fmt.channels != 1:
            raise InvalidAudioError(f"espeak-ng produces mono audio; cannot produce {fmt}")
        if self._closed:
            raise ProviderUnavailableError("EspeakTextToSpeech is closed", port="text_to_speech")
        # Built here, on the caller's side: a format no resampler should serve fails this call
        # only, with InvalidAudioError, and never reaches the shared worker.
        converter = FormatConverter(AudioFormat(ESPEAK_RATE_HZ), fmt)
        stuck = self._stuck_for()
        if stuck is not None:
            raise ProviderUnavailableError(
                f"espeak-ng worker stuck on one request for {stuck:.1f} s", port="text_to_speech"
            )
        pieces = split_text(text, self.max_piece_chars)
        if not pieces:
            return
        job = _Job(
            pieces, voice, fmt, asyncio.get_running_loop(), asyncio.Queue(), converter=converter
        )
        self._ensure_worker()
        # Keep at most two pieces ahead of the consumer: bounded memory, fair to other calls.
        submitted = min(2, len(pieces))
        for index in range(submitted):
            self._requests.put((job, index))
        try:
            while True:
                try:
                    async with asyncio.timeout(self.request_timeout_s):
                        item = await job.out.get()
                except TimeoutError as exc:
                    raise ProviderTimeoutError(
                        f"espeak-ng gave no audio within {self.request_timeout_s:g} s",
                        port="text_to_speech",
                    ) from exc
                if item is _END:
                    return
                if item is _PIECE_DONE:
                    if submitted < len(pieces):
                        self._requests.put((job, submitted))
                        submitted += 1
                    continue
                if isinstance(item, _Failure):
                    raise item.error
                assert isinstance(item, SpeechChunk)  # noqa: S101
                yield item
        finally:
            job.cancelled.set()  # the callback returns 1 on its next buffer

    def _stuck_for(self) -> float | None:
        """Seconds the worker has been on its current piece, when beyond the deadline."""
        since = self._busy_since
        if since is None:
            return None
        busy = time.monotonic() - since
        return busy if busy > self.request_timeout_s else None

    async def health_check(self) -> None:
        """Return when the library and voice data files exist and the worker is not stuck.

        Raises:
            ProviderUnavailableError: A file is missing, the worker has been on one piece
                for longer than ``request_timeout_s``, or the instance is closed.
        """
        if self._closed:
            raise ProviderUnavailableError("EspeakTextToSpeech is closed", port="text_to_speech")
        stuck = self._stuck_for()
        if stuck is not None:
            raise ProviderUnavailableError(
                f"espeak-ng worker stuck on one request for {stuck:.1f} s", port="text_to_speech"
            )
        if not self._files_present:
            raise ProviderUnavailableError(
                f"espeak-ng library or data missing ({self._library_path}, {self._data_path})",
                port="text_to_speech",
            )

    async def aclose(self) -> None:
        """Stop the worker thread and terminate the library; idempotent."""
        self._closed = True
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        self._requests.put(None)
        for _ in range(500):
            if not thread.is_alive():
                return
            await asyncio.sleep(0.01)
        logger.warning("espeak-ng worker did not stop within 5 s")

    # -- worker thread -----------------------------------------------------------------

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="espeak-ng-worker", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                request = self._requests.get()
                if request is None:
                    return
                # One method call per request: its locals (the job, its resampler) are released
                # when it returns, so an idle worker never keeps the last call's job alive. A
                # daemon thread's frame is never unwound at interpreter exit, and soxr's
                # nanobind extension reports every resampler still alive then as a leak.
                self._serve(*request)
                del request
        finally:
            if self._lib is not None:
                with contextlib.suppress(Exception):
                    self._lib.espeak_Terminate()
                self._lib = None

    def _serve(self, job: _Job, index: int) -> None:
        if job.cancelled.is_set():
            return
        self._busy_since = time.monotonic()
        try:
            if self._piece_hook is not None:
                self._piece_hook(job.pieces[index][1])
            self._initialise()
            self._synthesise_piece(job, index)
        except ProviderError as exc:
            job.cancelled.set()
            job.emit(_Failure(exc))
        except Exception as exc:  # a ctypes or conversion failure ends this job only
            logger.exception("espeak-ng synthesis failed")
            job.cancelled.set()
            job.emit(_Failure(ProviderUnavailableError(str(exc), port="text_to_speech")))
        finally:
            self._busy_since = None

    def _initialise(self) -> None:
        if self._lib is not None:
            return
        try:
            lib = ctypes.CDLL(self._library_path)
        except OSError as exc:
            raise ProviderUnavailableError(
                f"cannot load espeak-ng from {self._library_path}: {exc}", port="text_to_speech"
            ) from exc
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        lib.espeak_Synth.restype = ctypes.c_int
        # espeak_Initialize takes the folder that *contains* espeak-ng-data (speak_lib.h).
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            self.buffer_ms,
            str(self._data_path.parent).encode(),
            _INITIALIZE_DONT_EXIT,
        )
        if rate != ESPEAK_RATE_HZ:
            raise ProviderUnavailableError(
                f"espeak_Initialize failed (returned {rate})", port="text_to_speech"
            )
        self._callback = _SynthCallback(self._on_audio)  # kept alive while the lib may call it
        lib.espeak_SetSynthCallback(self._callback)
        self._lib = lib

    def _apply_voice(self, voice: Voice) -> None:
        language = voice.language.lower()
        if voice.name:
            names = [voice.name, self.default_voice]
        elif self.default_voice.lower().startswith(language.split("-")[0]):
            names = [self.default_voice]
        else:
            names = [language, self.default_voice]
        if self.variant:
            names = [n if "+" in n else f"{n}+{self.variant}" for n in names]
        rate = max(80, min(450, round(self.rate_wpm * (voice.rate or 1.0))))
        pitch = max(0, min(100, round(self.pitch * (1.0 + voice.pitch / 100.0))))
        if self._applied == (names[0], rate, pitch):
            return
        chosen = next(
            (n for n in names if self._lib.espeak_SetVoiceByName(n.encode()) == _EE_OK), None
        )
        if chosen is None:
            raise ProviderUnavailableError(
                f"espeak-ng has none of the voices {names}", port="text_to_speech"
            )
        if chosen != names[0]:
            logger.warning("espeak-ng has no voice %s; using %s", names[0], chosen)
        self._lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        self._lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        self._applied = (names[0], rate, pitch)

    def _synthesise_piece(self, job: _Job, index: int) -> None:
        offset, piece = job.pieces[index]
        if job.converter is None:
            job.converter = FormatConverter(AudioFormat(ESPEAK_RATE_HZ), job.fmt)
        self._apply_voice(job.voice)
        data = piece.encode("utf-8", errors="replace") + b"\0"
        self._current = job
        self._piece = (offset, job.samples_done)
        try:
            result = self._lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
        finally:
            self._current = None
        if job.cancelled.is_set():
            return
        if result != _EE_OK:
            raise ProviderUnavailableError(
                f"espeak_Synth failed (error {result})", port="text_to_speech"
            )
        if index == len(job.pieces) - 1:
            tail = job.converter.flush()
            if tail is not None and tail.data:
                job.emit(SpeechChunk(tail, tuple(job.pending_words)))
            job.emit(_END)
        else:
            job.emit(_PIECE_DONE)

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:
        """The synth callback (worker thread, inside ``espeak_Synth``): 1 aborts synthesis."""
        job = self._current
        if job is None or job.cancelled.is_set():
            return 1
        try:
            offset, piece_start = self._piece
            words = job.pending_words
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                event = events[i]
                if event.type == _EVENT_WORD and event.length > 0:
                    at_ms = max(
                        job.last_word_ms,
                        piece_start * 1000.0 / ESPEAK_RATE_HZ + event.audio_position,
                    )
                    job.last_word_ms = at_ms
                    words.append(
                        WordBoundary(offset + event.text_position - 1, event.length, at_ms)
                    )
                i += 1
            if count <= 0 or not wav:
                return 0
            start_ms = job.samples_done * 1000.0 / ESPEAK_RATE_HZ
            pcm = ctypes.string_at(wav, count * 2)
            job.samples_done += count
            assert job.converter is not None  # noqa: S101
            out = job.converter.convert(AudioFrame(pcm, AudioFormat(ESPEAK_RATE_HZ), start_ms))
            if out.data:
                job.emit(SpeechChunk(out, tuple(words)))
                job.pending_words = []
        except Exception:  # never let an exception unwind through C
            logger.exception("espeak-ng callback failed")
            job.cancelled.set()
            job.emit(_Failure(ProviderUnavailableError("callback failed", port="text_to_speech")))
            return 1
        return 0
