"""Offline speech-to-text with Whisper (faster-whisper) behind ``ports.SpeechToText``.

Whisper is a batch recogniser: it transcribes a finished utterance, not a stream. A session
therefore buffers the call's audio (converted to 16 kHz PCM16 by :mod:`adapters.audio` as it
is pushed) and decodes it when the runtime's VAD calls ``end_of_speech()``, or at
``flush()``; the final carries the whole utterance. The runtime calls ``end_of_speech()`` at
a short pause (``PARLEY_RUNTIME_SPEECH_STOP_MS``, 250 ms with an end-of-turn model), so the
decode starts speculatively, before the turn is known to be over: when the caller goes on,
the domain merges the next final into the same turn (and cancels a response that had not
spoken yet, :mod:`domain.conversation.caller`), and when the end-of-turn model says the
turn is complete, the final is ready. It gives no partials: the VAD alone drives barge-in
(``min_words`` barge-in policies need partials: use ``PARLEY_STT=local`` or ``azure``).

Threads and isolation: decodes run in a thread pool of ``workers`` threads shared by every
call (CTranslate2 releases the GIL; one model serves them all). A session has at most one
decode in flight and one waiting (a second pause while both are busy merges its audio into
the waiting one), so no call can queue more than two decodes ahead of the others. Each
decode has a deadline (``decode_timeout_s``, ProviderTimeoutError on ``events()``); a thread
stuck past it is reported by :meth:`WhisperSpeechToText.health_check`.

Buffering: audio since the last final is kept, at most ``max_buffer_s`` (older audio is
dropped); silence before the speech is trimmed by the decoder (Silero VAD), so pauses
between turns cost nothing. Offsets are ms of pushed audio from the session's first frame.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from adapters.audio import FormatConverter
from adapters.audio.convert import check_resample
from adapters.local._imports import shutdown_pool
from adapters.local.whisper_decode import SAMPLE_RATE_HZ, Decoded, WhisperDecoder
from ports import (
    PCM16_16K,
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    StreamClosedError,
    TranscriptEvent,
)

logger = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True, slots=True)
class _Failure:
    error: ProviderError


@dataclass(slots=True)
class _Utterance:
    start_sample: int  # 16 kHz sample index of data[0] since the session's first frame
    data: bytes


class WhisperSpeechToText:
    """Factory of Whisper recognition sessions (``ports.SpeechToText``); see the module doc.

    Args:
        decoder: The loaded-on-demand model; None builds one with the defaults (tiny.en).
        workers: Threads decoding at once, shared by every call (match the decoder's).
        decode_timeout_s: Deadline of one decode, from the request to its result, seconds.
        max_buffer_s: Most audio kept for one utterance, seconds.

    Raises:
        ProviderUnavailableError: The model files are missing.
        ValueError: A parameter is out of range.
    """

    def __init__(
        self,
        decoder: WhisperDecoder | None = None,
        *,
        workers: int | None = None,
        decode_timeout_s: float = 20.0,
        max_buffer_s: float = 60.0,
    ) -> None:
        if decode_timeout_s <= 0 or max_buffer_s <= 0:
            raise ValueError("decode_timeout_s and max_buffer_s must be positive")
        self.decoder = decoder if decoder is not None else WhisperDecoder()
        self.workers = workers or self.decoder.workers
        self.decode_timeout_s = decode_timeout_s
        self.max_buffer_bytes = int(max_buffer_s * SAMPLE_RATE_HZ) * 2
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._busy: dict[int, float] = {}  # decode id -> monotonic start (worker threads)
        self._next_id = 0
        self._closed = False

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> WhisperSession:
        """Open a recognition session for frames in ``fmt`` (mono, any rate; resampled).

        Args:
            fmt: Format of the frames that will be pushed.
            language: Only English is bundled (tiny.en); another tag is logged and ignored.

        Raises:
            InvalidAudioError: ``fmt`` is not mono or its rate cannot be resampled to 16 kHz.
            ProviderUnavailableError: The adapter is closed.
        """
        if self._closed:
            raise ProviderUnavailableError("WhisperSpeechToText is closed", port="speech_to_text")
        if fmt.channels != 1:
            raise InvalidAudioError(f"Whisper sessions take mono audio, got {fmt}")
        check_resample(fmt.sample_rate_hz, SAMPLE_RATE_HZ)
        if language is not None and not language.lower().startswith("en"):
            logger.warning("the bundled Whisper model is English only; ignoring %s", language)
        return WhisperSession(self, fmt)

    async def warm_up(self, count: int = 1) -> None:
        """Load the model and run one short decode now (about 0.5 s), in a thread.

        Args:
            count: Accepted for symmetry with pocketsphinx's decoder processes; one model
                serves every call, so it is loaded once whatever ``count`` is.

        Raises:
            ProviderUnavailableError: The model does not load.
        """
        await asyncio.get_running_loop().run_in_executor(self._pool(), self.decoder.load)

    async def health_check(self) -> None:
        """Return when no decode has been running for longer than twice its deadline.

        Raises:
            ProviderUnavailableError: A decode thread is stuck, or the adapter is closed.
        """
        if self._closed:
            raise ProviderUnavailableError("WhisperSpeechToText is closed", port="speech_to_text")
        now = time.monotonic()
        with self._lock:
            oldest = min(self._busy.values(), default=now)
        if now - oldest > 2 * self.decode_timeout_s:
            raise ProviderUnavailableError(
                f"a Whisper decode has run for {now - oldest:.0f} s", port="speech_to_text"
            )

    async def aclose(self) -> None:
        """Stop the decode threads (running decodes finish alone); idempotent."""
        self._closed = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            await shutdown_pool(executor, 5.0)

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix="whisper-decode"
                )
            return self._executor

    def _decode(self, pcm16: bytes) -> Decoded:
        """Worker thread: one decode, registered while it runs (for :meth:`health_check`)."""
        with self._lock:
            self._next_id += 1
            key = self._next_id
            self._busy[key] = time.monotonic()
        try:
            return self.decoder.decode(pcm16)
        finally:
            with self._lock:
                self._busy.pop(key, None)


class WhisperSession:
    """One call's recognition (``ports.RecognitionSession``); see the module docstring.

    Created by :meth:`WhisperSpeechToText.session`.
    """

    def __init__(self, engine: WhisperSpeechToText, fmt: AudioFormat) -> None:
        self.format = fmt
        self._engine = engine
        self._converter = None if fmt == PCM16_16K else FormatConverter(fmt, PCM16_16K)
        self._buffer = bytearray()
        self._buffer_start = 0  # 16 kHz sample index of _buffer[0]
        self._waiting: _Utterance | None = None
        self._decoding: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._ended = False  # flushed or closed: no more audio
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
        """Buffer a frame (converted to 16 kHz); returns at once.

        Raises:
            InvalidAudioError: The frame's format differs from the session's.
            StreamClosedError: The session was flushed or closed.
        """
        if self._ended:
            raise StreamClosedError("Whisper session is flushed or closed")
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(
                f"frame in {frame.format} pushed to a session for {self.format}"
            )
        data = frame.data if self._converter is None else self._converter.convert(frame).data
        self._buffer += data
        excess = len(self._buffer) - self._engine.max_buffer_bytes
        if excess > 0:
            del self._buffer[:excess]
            self._buffer_start += excess // 2

    def end_of_speech(self) -> None:
        """Decode the audio since the last final; its final follows on ``events()``."""
        if not self._ended:
            self._cut()

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """Finals in stream order; ends after ``flush()`` (last final) or ``aclose()``.

        Raises:
            ProviderTimeoutError: A decode missed its deadline.
            ProviderUnavailableError: The model did not load or the decode failed.
        """
        return self._read()

    async def _read(self) -> AsyncIterator[TranscriptEvent]:
        while True:
            item = await self._events.get()
            if item is _DONE:
                self._events.put_nowait(_DONE)  # later readers end too
                return
            if isinstance(item, _Failure):
                raise item.error
            assert isinstance(item, TranscriptEvent)  # noqa: S101
            yield item

    async def flush(self) -> None:
        """End the audio: the last final (if any words remain) follows, then events end."""
        if self._ended:
            return
        self._ended = True
        if self._converter is not None:
            tail = self._converter.flush()
            if tail is not None:
                self._buffer += tail.data
        self._cut()
        if self._decoding is None:
            self._events.put_nowait(_DONE)

    async def aclose(self) -> None:
        """Stop now without a final (a running decode's result is dropped); idempotent."""
        if self._closed:
            return
        self._closed = self._ended = True
        self._waiting = None
        task, self._decoding = self._decoding, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._events.put_nowait(_DONE)

    def _cut(self) -> None:
        """Close the current utterance and queue its decode (merging into a waiting one)."""
        if not self._buffer:
            return
        data = bytes(self._buffer)
        start = self._buffer_start
        self._buffer_start += len(self._buffer) // 2
        self._buffer.clear()
        if self._waiting is not None:
            self._waiting = _Utterance(self._waiting.start_sample, self._waiting.data + data)
        else:
            self._waiting = _Utterance(start, data)
        if self._decoding is None:
            self._next()

    def _next(self) -> None:
        utterance, self._waiting = self._waiting, None
        if utterance is None or self._closed:
            self._decoding = None
            if self._ended and not self._closed:
                self._events.put_nowait(_DONE)
            return
        self._decoding = asyncio.get_running_loop().create_task(
            self._run(utterance), name="whisper-decode"
        )

    async def _run(self, utterance: _Utterance) -> None:
        engine = self._engine
        try:
            future = asyncio.get_running_loop().run_in_executor(
                engine._pool(),  # noqa: SLF001 - the engine's own pool
                engine._decode,  # noqa: SLF001
                utterance.data,
            )
            async with asyncio.timeout(engine.decode_timeout_s):
                decoded = await future
        except TimeoutError:
            self._events.put_nowait(
                _Failure(
                    ProviderTimeoutError(
                        f"Whisper decode took longer than {engine.decode_timeout_s:g} s",
                        port="speech_to_text",
                    )
                )
            )
        except ProviderError as exc:
            self._events.put_nowait(_Failure(exc))
        except Exception as exc:  # a shut-down pool, a CTranslate2 or numpy failure
            logger.warning("Whisper decode failed: %r", exc)
            self._events.put_nowait(
                _Failure(ProviderUnavailableError(f"Whisper: {exc}", port="speech_to_text"))
            )
        else:
            if decoded.text:
                base_ms = utterance.start_sample * 1000.0 / SAMPLE_RATE_HZ
                self._events.put_nowait(
                    TranscriptEvent(
                        decoded.text,
                        True,
                        base_ms + decoded.start_s * 1000.0,
                        base_ms + decoded.end_s * 1000.0,
                        language="en",
                    )
                )
        if self._decoding is asyncio.current_task():
            self._next()
