"""AzureTextToSpeech: streaming synthesis with the Azure AI Speech SDK (``ports.TextToSpeech``).

* A ``SpeechSynthesizer`` with ``audio_config=None``; audio streams through its
  ``synthesizing`` event, one event per service ``audio`` frame. ``PullAudioOutputStream.read``
  is never used: it can block forever after synthesis completes (docs/wire-protocols.md,
  "Azure AI Speech SDK").
* Output format ``Raw8/16/24/48Khz16BitMonoPcm`` or ``Raw8Khz8BitMonoMULaw`` matched to the
  requested :class:`~ports.AudioFormat`, so the call's audio is never resampled; any other
  format is synthesised at 24 kHz and converted with :mod:`adapters.audio.convert`.
* SSML (:mod:`adapters.azure_speech.ssml`) carries voice, style, rate and pitch.
* ``synthesis_word_boundary`` events (``BoundaryType`` Word) become
  :class:`~ports.WordBoundary` values: the audio offset (100 ns ticks -> ms) comes from the
  service; the text offset is found by matching the word in the caller's text from a cursor,
  because the SDK's own ``text_offset`` indexes the SSML (and is -1 in text-stream mode).
  The SDK raises boundary events on another thread than audio events (seen arriving after
  the audio they describe under load), so a chunk is held until the boundaries of words
  starting in it are known (a later word arrived, or the text has no word left), at most
  ``word_wait_ms`` (default 150 ms); then each word rides on the chunk during which it
  starts. The service produces audio faster than real time, so the hold costs little time to
  first audio; ``word_wait_ms=0`` yields at once and a late word rides on the next chunk.
* Closing the iterator (``aclose()`` or cancelling the consumer) calls ``stop_speaking_async``
  without waiting and returns at once (well under 50 ms); the stopped synthesizer is
  reconnected in the background by the pool.
* Text-stream input (optional): :meth:`AzureTextToSpeech.synthesize_stream` feeds text pieces
  (language-model deltas) to a ``SpeechSynthesisRequest(TextStream)`` on the v2 endpoint
  (``/cognitiveservices/websocket/v2``) for the lowest time to first audio. The voice name is
  then a config setting; style, rate and pitch are not applied (no SSML in that mode).

Warm-up pool: a cold synthesis connection costs about 200 ms (TLS + WebSocket upgrade).
:class:`SynthesizerPool` keeps up to ``pool_size`` synthesizers per (output format, mode,
voice) with their WebSocket already open (``Connection.from_speech_synthesizer(s).open(True)``).
It belongs to one :class:`AzureTextToSpeech` instance (no module state); :meth:`warm_up` fills
it ahead of need (bootstrap calls it at start), :meth:`aclose` empties it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.audio import FormatConverter
from adapters.azure_speech._sdk import speechsdk
from adapters.azure_speech.bridge import ThreadBridge
from adapters.azure_speech.config import AzureSpeechAuth, TokenCache, build_speech_config
from adapters.azure_speech.errors import translate_cancellation
from adapters.azure_speech.ssml import build_ssml
from ports import (
    MULAW_8K,
    PCM16_24K,
    AudioFormat,
    AudioFrame,
    ProviderError,
    ProviderTimeoutError,
    SpeechChunk,
    Voice,
    WordBoundary,
)

logger = logging.getLogger(__name__)

PORT = "text_to_speech"
TICKS_PER_MS = 10_000

_Format = speechsdk.SpeechSynthesisOutputFormat
NATIVE_FORMATS: dict[AudioFormat, Any] = {
    AudioFormat(8000): _Format.Raw8Khz16BitMonoPcm,
    AudioFormat(16000): _Format.Raw16Khz16BitMonoPcm,
    AudioFormat(24000): _Format.Raw24Khz16BitMonoPcm,
    AudioFormat(48000): _Format.Raw48Khz16BitMonoPcm,
    MULAW_8K: _Format.Raw8Khz8BitMonoMULaw,
}
"""Formats the service produces directly (no conversion)."""


@dataclass(frozen=True, slots=True)
class SynthesisOptions:
    """Synthesis settings.

    Attributes:
        default_voice: Voice when ``Voice.name`` is ``None``.
        pool_size: Pre-connected synthesizers kept per output format (0: no pool).
        text_stream: Make :meth:`AzureTextToSpeech.synthesize` use the v2 text-stream input.
        first_audio_timeout_ms: Longest wait for the first audio of a synthesis.
        chunk_timeout_ms: Longest wait between audio chunks.
        max_chars: Longer text is split at sentence ends into requests of at most this size.
        word_wait_ms: Longest hold of a chunk waiting for the boundaries of words starting in
            it (their events travel on another SDK thread); also the wait for straggling
            boundaries after the synthesis completed. 0 yields audio at once (a late word
            then rides on the next chunk).
    """

    default_voice: str = "en-US-AvaMultilingualNeural"
    pool_size: int = 2
    text_stream: bool = False
    first_audio_timeout_ms: int = 5000
    chunk_timeout_ms: int = 5000
    max_chars: int = 3000
    word_wait_ms: int = 150


@dataclass(frozen=True, slots=True)
class _PoolKey:
    sdk_format: Any
    text_stream: bool
    voice: str | None


@dataclass(slots=True)
class _Pooled:
    """A synthesizer, its connection and the request currently listening to it."""

    key: _PoolKey
    synthesizer: Any
    connection: Any
    sink: _Sink | None = None
    finished_ids: deque[str] = field(default_factory=lambda: deque(maxlen=8))


@dataclass(slots=True)
class _Sink:
    """Loop-side receiver of one synthesis request's events."""

    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)


class SynthesizerPool:
    """Pre-connected synthesizers for one :class:`AzureTextToSpeech` (see module docstring).

    Background work (refilling, reconnecting a synthesizer after ``stop_speaking_async``)
    runs in short-lived daemon threads that hand the result back with
    ``loop.call_soon_threadsafe``, so no asyncio task outlives a synthesis.

    Args:
        engine: The owning adapter (builds synthesizers).
        size: Idle synthesizers kept per key.
    """

    def __init__(self, engine: AzureTextToSpeech, size: int) -> None:
        self._engine = engine
        self._size = size
        self._idle: dict[_PoolKey, deque[_Pooled]] = {}
        self.hits = 0
        """Requests served by a synthesizer taken from the pool (connected ahead of need)."""
        self.misses = 0
        """Requests that found the pool empty and made a synthesizer on the spot."""
        self._coming: dict[_PoolKey, int] = {}
        self._closed = False

    def idle_count(self, key: _PoolKey | None = None) -> int:
        """Idle synthesizers (for one key, or all)."""
        if key is not None:
            return len(self._idle.get(key, ()))
        return sum(len(q) for q in self._idle.values())

    async def acquire(self, key: _PoolKey) -> _Pooled:
        """An idle synthesizer for ``key``, or a new one (connecting on first use)."""
        self._closed = False
        token = await self._engine.token()
        idle = self._idle.get(key)
        if idle:
            pooled = idle.popleft()
            self.hits += 1
            if token is not None:
                pooled.synthesizer.authorization_token = token
        else:
            self.misses += 1
            pooled = await self._engine.create(key, preconnect=False)
        self._refill(key, token)
        return pooled

    def release(self, pooled: _Pooled, *, stopped: Any = None) -> None:
        """Give a synthesizer back.

        Args:
            pooled: The synthesizer.
            stopped: The ``stop_speaking_async`` future when the request was cut short; the
                synthesizer reconnects in the background once it resolves, then returns.
        """
        pooled.sink = None
        if stopped is None:
            self._put(pooled)
            return
        if self._closed or self._size <= 0:
            self._background(lambda: _settle(stopped), None)
            return

        def reopen() -> _Pooled:
            _settle(stopped)
            pooled.connection.open(True)
            return pooled

        self._background(reopen, pooled.key)

    async def warm_up(self, keys: Iterable[_PoolKey]) -> None:
        """Fill the pool for ``keys`` up to its size, connections open."""
        self._closed = False
        jobs = []
        for key in keys:
            missing = self._size - self.idle_count(key)
            jobs += [self._engine.create(key, preconnect=True) for _ in range(missing)]
        for pooled in await asyncio.gather(*jobs):
            self._put(pooled)

    async def aclose(self) -> None:
        """Drop every idle synthesizer; late background results are discarded."""
        self._closed = True
        self._idle.clear()

    def _put(self, pooled: _Pooled) -> None:
        idle = self._idle.setdefault(pooled.key, deque())
        if len(idle) < self._size and not self._closed:
            idle.append(pooled)

    def _refill(self, key: _PoolKey, token: str | None) -> None:
        # Keep the pool warm for the next caller without delaying this one.
        wanted = self._size - self.idle_count(key) - self._coming.get(key, 0)
        for _ in range(max(0, wanted)):
            self._background(lambda: self._engine.build(key, token, preconnect=True), key)

    def _background(self, work: Callable[[], _Pooled | None], key: _PoolKey | None) -> None:
        loop = asyncio.get_running_loop()
        if key is not None:
            self._coming[key] = self._coming.get(key, 0) + 1

        def arrived(pooled: _Pooled | None) -> None:
            if key is not None:
                self._coming[key] -= 1
            if pooled is not None:
                self._put(pooled)

        def target() -> None:
            pooled: _Pooled | None = None
            try:
                pooled = work()
            except Exception as exc:
                logger.warning("azure tts pool: background work failed: %r", exc)
            with contextlib.suppress(RuntimeError):  # the loop is gone: drop the result
                loop.call_soon_threadsafe(arrived, pooled)

        threading.Thread(target=target, name="azure-tts-pool", daemon=True).start()


def _settle(future: Any) -> None:
    with contextlib.suppress(Exception):
        future.get()


class AzureTextToSpeech:
    """``ports.TextToSpeech`` over the Azure AI Speech SDK; one instance serves every call.

    Args:
        auth: Where the service is and how to authenticate.
        options: Synthesis settings (voice, pool size, text-stream mode, timeouts).
    """

    def __init__(self, auth: AzureSpeechAuth, options: SynthesisOptions | None = None) -> None:
        self.auth = auth
        self.options = options or SynthesisOptions()
        self._tokens = TokenCache(auth) if auth.credential is not None else None
        self.pool = SynthesizerPool(self, self.options.pool_size)
        self._bridge: ThreadBridge | None = None
        self._bridge_loop: asyncio.AbstractEventLoop | None = None

    # ----- lifecycle ---------------------------------------------------------------------

    async def warm_up(
        self, formats: Iterable[AudioFormat] = (AudioFormat(16000),), voice: str | None = None
    ) -> None:
        """Open ``pool_size`` synthesizer connections per format ahead of need.

        Raises:
            InvalidAudioError: A format cannot be produced.
        """
        text_stream = self.options.text_stream
        keys = [
            _PoolKey(
                self._plan(fmt)[0],
                text_stream,
                (voice or self.options.default_voice) if text_stream else None,
            )
            for fmt in formats
        ]
        await self.pool.warm_up(keys)

    async def aclose(self) -> None:
        """Close the pool (its connections go with the synthesizers)."""
        await self.pool.aclose()

    async def health_check(self) -> None:
        """Cheap readiness: the configuration builds and a token (if any) can be had.

        Raises:
            AuthenticationError: The Entra credential fails.
            ProviderError: The SDK refuses the configuration.
        """
        build_speech_config(self.auth, await self.token())

    async def token(self) -> str | None:
        """The Entra token to use now (``None`` with key auth)."""
        return await self._tokens.get() if self._tokens is not None else None

    async def create(self, key: _PoolKey, *, preconnect: bool) -> _Pooled:
        """Build a synthesizer for ``key`` (the blocking SDK work runs in a thread)."""
        token = await self.token()
        self._bridge_for_loop()
        return await asyncio.to_thread(self.build, key, token, preconnect=preconnect)

    def build(self, key: _PoolKey, token: str | None, *, preconnect: bool) -> _Pooled:
        """Build a synthesizer for ``key`` (blocking; any thread, after :meth:`create` once)."""
        bridge = self._bridge
        assert bridge is not None  # noqa: S101 - set by create() on the loop
        endpoint = self.auth.synthesis_url(text_stream=key.text_stream)
        config = build_speech_config(self.auth, token, endpoint=endpoint)
        config.set_speech_synthesis_output_format(key.sdk_format)
        if key.voice:
            config.speech_synthesis_voice_name = key.voice
        synthesizer = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
        connection = speechsdk.Connection.from_speech_synthesizer(synthesizer)
        pooled = _Pooled(key, synthesizer, connection)
        _wire(pooled, bridge)
        if preconnect:
            connection.open(True)
        return pooled

    def _bridge_for_loop(self) -> ThreadBridge:
        loop = asyncio.get_running_loop()
        if self._bridge is None or self._bridge_loop is not loop:
            self._bridge = ThreadBridge(loop, "azure tts")
            self._bridge_loop = loop
        return self._bridge

    # ----- port API ----------------------------------------------------------------------

    async def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise ``text`` into chunks in ``fmt`` with word boundaries.

        Raises:
            InvalidAudioError: ``fmt`` cannot be produced.
            AuthenticationError: Credentials refused.
            ProviderTimeoutError: No audio within the configured timeouts.
            ProviderError: Any other synthesis failure.
        """
        if not text.strip():
            return
        if self.options.text_stream:
            async for chunk in self.synthesize_stream(_one(text), voice=voice, fmt=fmt):
                yield chunk
            return
        sdk_format, native = self._plan(fmt)
        state = _ChunkState(fmt, native, self.options.word_wait_ms)
        for base, piece in split_text(text, self.options.max_chars):
            key = _PoolKey(sdk_format, False, None)
            ssml = build_ssml(piece, voice, self.options.default_voice)
            state.begin_piece(text, base)
            async for chunk in self._run(key, state, lambda s, m=ssml: s.speak_ssml_async(m)):
                yield chunk

    async def synthesize_stream(
        self, pieces: AsyncIterable[str], *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Synthesise text arriving in pieces (language-model deltas) on the v2 endpoint.

        Word boundaries index the concatenation of the pieces.

        Raises:
            As :meth:`synthesize`.
        """
        sdk_format, native = self._plan(fmt)
        state = _ChunkState(fmt, native, self.options.word_wait_ms)
        state.begin_piece("", 0)
        key = _PoolKey(sdk_format, True, voice.name or self.options.default_voice)
        request = speechsdk.SpeechSynthesisRequest(
            input_type=speechsdk.SpeechSynthesisRequestInputType.TextStream
        )

        async def feed() -> None:
            try:
                async for piece in pieces:
                    if piece:
                        state.text += piece
                        request.input_stream.write(piece)
            finally:
                request.input_stream.close()

        writer = asyncio.create_task(feed(), name="azure-tts-text-stream")
        try:
            async for chunk in self._run(key, state, lambda s: s.speak_async(request)):
                yield chunk
            await writer
        finally:
            if not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    # ----- one request -------------------------------------------------------------------

    async def _run(
        self, key: _PoolKey, state: _ChunkState, start: Any
    ) -> AsyncGenerator[SpeechChunk, None]:
        pooled = await self.pool.acquire(key)
        sink = _Sink()
        pooled.sink = sink
        loop = asyncio.get_running_loop()
        completed = False
        result_id: str | None = None
        done_at: float | None = None
        try:
            start(pooled.synthesizer)
            audio_deadline = loop.time() + self.options.first_audio_timeout_ms / 1000
            while True:
                now = loop.time()
                if done_at is not None and (state.all_words_seen() or now >= done_at):
                    for chunk in state.release(now, force=True):
                        yield chunk
                    completed = True
                    return
                wake = audio_deadline if done_at is None else done_at
                hold = state.next_release_at()
                if hold is not None:
                    wake = min(wake, hold)
                try:
                    kind, value = await asyncio.wait_for(sink.queue.get(), max(0.0, wake - now))
                except TimeoutError:
                    now = loop.time()
                    if done_at is None and now >= audio_deadline:
                        raise ProviderTimeoutError(
                            "no synthesis audio within the configured timeout", port=PORT
                        ) from None
                    for chunk in state.release(now):
                        yield chunk
                    continue
                now = loop.time()
                if kind == "audio":
                    result_id, data = value
                    audio_deadline = now + self.options.chunk_timeout_ms / 1000
                    state.audio(data, now)
                elif kind == "word":
                    state.word(*value)
                elif kind == "done":
                    result_id, full = value
                    state.finish(full, now)
                    # Word events travel on another SDK thread: give stragglers a moment.
                    done_at = now + self.options.word_wait_ms / 1000
                elif kind == "canceled":
                    result_id, reason, code, details = value
                    completed = True  # the service ended it; nothing to stop
                    error = translate_cancellation(reason, code, details, port=PORT)
                    raise error or ProviderError("synthesis canceled", port=PORT)
                for chunk in state.release(now):
                    yield chunk
        finally:
            if result_id is not None:
                pooled.finished_ids.append(result_id)
            if completed:
                self.pool.release(pooled)
            else:
                # Cut short (closed, cancelled or timed out): stop without waiting.
                pooled.sink = None
                self.pool.release(pooled, stopped=pooled.synthesizer.stop_speaking_async())

    def _plan(self, fmt: AudioFormat) -> tuple[Any, AudioFormat]:
        sdk_format = NATIVE_FORMATS.get(fmt)
        if sdk_format is not None:
            return sdk_format, fmt
        FormatConverter(PCM16_24K, fmt)  # raises InvalidAudioError when impossible
        return NATIVE_FORMATS[PCM16_24K], PCM16_24K


def _wire(pooled: _Pooled, bridge: ThreadBridge) -> None:
    """Connect the synthesizer's events once; they go to whichever request listens now."""
    synth = pooled.synthesizer

    def deliver(item: tuple[str, Any]) -> None:
        kind, value = item
        sink = pooled.sink
        if sink is None:
            return
        if kind != "word" and value[0] in pooled.finished_ids:
            return  # a late event of an earlier request on this synthesizer
        sink.queue.put_nowait(item)

    def on_audio(event: Any) -> tuple[str, Any]:
        return "audio", (event.result.result_id, event.result.audio_data)

    def on_word(event: Any) -> tuple[str, Any] | None:
        if event.boundary_type != speechsdk.SpeechSynthesisBoundaryType.Word:
            return None
        duration_ms = event.duration.total_seconds() * 1000.0
        return "word", (event.text, event.audio_offset / TICKS_PER_MS, duration_ms)

    def on_done(event: Any) -> tuple[str, Any]:
        return "done", (event.result.result_id, event.result.audio_data)

    def on_canceled(event: Any) -> tuple[str, Any]:
        details = event.result.cancellation_details
        return "canceled", (
            event.result.result_id,
            details.reason,
            details.error_code,
            details.error_details or "",
        )

    synth.synthesizing.connect(bridge.sdk_handler(on_audio, deliver))
    synth.synthesis_word_boundary.connect(bridge.sdk_handler(on_word, deliver))
    synth.synthesis_completed.connect(bridge.sdk_handler(on_done, deliver))
    synth.synthesis_canceled.connect(bridge.sdk_handler(on_canceled, deliver))


class _ChunkState:
    """Builds :class:`SpeechChunk` values from the audio and word events of one synthesis.

    Audio is held back until the words that start in it are known, so each boundary rides on
    the chunk during which its word starts: a held chunk is released once a word starting at
    or after its end has arrived (boundaries come in order), once the text has no word left
    to hear about, or after ``hold_ms`` at most (then a late word rides on the next chunk).
    """

    def __init__(self, fmt: AudioFormat, native: AudioFormat, hold_ms: float) -> None:
        self.fmt = fmt
        self.native = native
        self.hold_s = hold_ms / 1000
        self.converter = None if fmt == native else FormatConverter(native, fmt)
        self.text = ""
        self.text_complete = False
        self.cursor = 0  # where the next word is searched in ``text``
        self.received_ms = 0.0  # native audio received (whole synthesis), ms
        self.emitted_ms = 0.0  # output audio yielded, ms (chunk timestamps)
        self.piece_start_ms = 0.0  # audio offset where the current request began
        self.piece_bytes = 0  # native bytes received in the current request
        self.held: deque[tuple[bytes, float, float]] = deque()  # data, end ms, arrival
        self.pending: list[WordBoundary] = []
        self.words_until_ms = -1.0  # offset of the latest word boundary seen
        self.carry: tuple[WordBoundary, ...] = ()  # words of an empty converted chunk

    def begin_piece(self, text: str, base: int) -> None:
        self.text = text if text else self.text
        self.text_complete = bool(text)
        self.cursor = max(self.cursor, base)
        self.piece_start_ms = self.received_ms
        self.piece_bytes = 0

    def word(self, text: str, offset_ms: float, duration_ms: float) -> None:
        index = self.text.find(text, self.cursor)
        if index < 0:
            index = self.text.lower().find(text.lower(), self.cursor)
        if index < 0:
            logger.debug("azure tts: word boundary %r not found in the text", text)
            return
        self.cursor = index + len(text)
        at_ms = max(self.words_until_ms, self.piece_start_ms + offset_ms, 0.0)
        self.words_until_ms = at_ms
        self.pending.append(WordBoundary(index, len(text), at_ms, duration_ms))

    def audio(self, data: bytes, now: float) -> None:
        if data:
            self.piece_bytes += len(data)
            self.received_ms += self.native.duration_ms(len(data))
            self.held.append((data, self.received_ms, now))

    def finish(self, full: bytes, now: float) -> None:
        """End of one request: keep audio the events did not carry; the text is complete."""
        if len(full) > self.piece_bytes:
            self.audio(full[self.piece_bytes :], now)
        self.text_complete = True

    def all_words_seen(self) -> bool:
        return self.text_complete and not _WORD.search(self.text, self.cursor)

    def next_release_at(self) -> float | None:
        return self.held[0][2] + self.hold_s if self.held else None

    def release(self, now: float, *, force: bool = False) -> list[SpeechChunk]:
        chunks: list[SpeechChunk] = []
        done_words = self.all_words_seen()
        while self.held:
            data, end_ms, arrived = self.held[0]
            if not (
                force or done_words or self.words_until_ms >= end_ms or now >= arrived + self.hold_s
            ):
                break
            self.held.popleft()
            chunk = self._emit(data, end_ms)
            if chunk is not None:
                chunks.append(chunk)
        if force:
            tail = self.converter.flush() if self.converter is not None else None
            words = self.carry + tuple(self.pending)
            self.carry, self.pending = (), []
            if tail is not None and tail.data:
                chunks.append(SpeechChunk(AudioFrame(tail.data, self.fmt, self.emitted_ms), words))
                self.emitted_ms += tail.duration_ms
            elif words and chunks:
                last = chunks[-1]
                chunks[-1] = SpeechChunk(last.audio, last.words + words)
        return chunks

    def _emit(self, data: bytes, end_ms: float) -> SpeechChunk | None:
        words = self.carry + tuple(w for w in self.pending if w.audio_offset_ms < end_ms)
        self.pending = [w for w in self.pending if w.audio_offset_ms >= end_ms]
        if self.converter is not None:
            data = self.converter.convert(AudioFrame(data, self.native)).data
        if not data:
            self.carry = words  # nothing to carry them on yet
            return None
        self.carry = ()
        frame = AudioFrame(data, self.fmt, self.emitted_ms)
        self.emitted_ms += frame.duration_ms
        return SpeechChunk(frame, words)


_WORD = re.compile(r"\w")


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def split_text(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Split long text at sentence ends into pieces of at most ``max_chars``.

    Returns:
        ``(offset in text, piece)`` pairs covering the whole text in order.
    """
    if len(text) <= max_chars:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            cuts = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
            if cuts and cuts[-1] > start:
                end = cuts[-1]
            else:
                space = text.rfind(" ", start, end)
                end = space + 1 if space > start else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


async def _one(text: str) -> AsyncGenerator[str, None]:
    yield text


__all__ = [
    "NATIVE_FORMATS",
    "AzureTextToSpeech",
    "SynthesisOptions",
    "SynthesizerPool",
    "split_text",
]
