"""AzureSpeechToText: streaming recognition with the Azure AI Speech SDK (``ports.SpeechToText``).

How a session works:

* Audio goes into a ``PushAudioInputStream`` at the call's format (PCM16 mono, 8/16/24/48 kHz;
  ACS uses 16 or 24 kHz, so nothing is resampled) feeding a ``SpeechRecognizer`` in continuous
  recognition (Speech SDK docs, "How to recognize speech", continuous recognition).
* ``recognizing`` -> partial, ``recognized`` -> final; ``Offset``/``Duration`` are 100 ns ticks
  from the first byte written to that recognizer, converted to ms from the session's first
  pushed sample. ``canceled`` -> a port error (:mod:`adapters.azure_speech.errors`);
  ``session_stopped`` ends ``events()`` after ``flush()``.
* SDK callbacks run on native threads; :class:`~adapters.azure_speech.bridge.ThreadBridge`
  turns each event into plain values there and hands them to the loop with
  ``loop.call_soon_threadsafe``; handler exceptions are logged, never lost silently.
* The service endpoints by itself (segmentation silence timeout), so ``end_of_speech()`` is a
  no-op here.

Reconnect (keeping the call alive): the SDK already survives a dropped socket by itself,
re-sending audio after the last acknowledged offset (seen against the stand-in). When it gives
up it reports ``canceled`` with a connection or service error; the session then opens a new
recognizer with backoff (tenacity, exponential with jitter) and replays its own copy of every
byte pushed since the end of the last final (``recognized``, match or no-match) - so audio
pushed after the drop, and audio in flight before it, is recognised. What can be lost: audio
older than ``replay_max_ms`` before the drop when no result acknowledged it (counted in
:attr:`AzureRecognitionSession.lost_audio_ms`); a partial may be repeated. Authentication and
other non-retryable errors end ``events()`` with the port error at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from adapters.azure_speech._sdk import speechsdk
from adapters.azure_speech.bridge import ThreadBridge, run_detached
from adapters.azure_speech.config import (
    AzureSpeechAuth,
    TokenCache,
    build_speech_config,
    candidate_languages,
)
from adapters.azure_speech.errors import is_retryable, translate_cancellation
from adapters.resilience.retry import run_retrying
from ports import (
    AudioEncoding,
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

PORT = "speech_to_text"
TICKS_PER_MS = 10_000
"""Speech service offsets and durations are 100 ns ticks."""
SUPPORTED_RATES_HZ = frozenset({8000, 16000, 24000, 48000})

_END = object()


@dataclass(frozen=True, slots=True)
class RecognitionOptions:
    """Recognition settings (Speech SDK ``PropertyId`` names in brackets).

    Attributes:
        language: BCP-47 recognition language [``SpeechServiceConnection_RecoLanguage``].
        candidate_languages: When set (2-10 tags), continuous language identification among
            them replaces ``language`` [``SpeechServiceConnection_LanguageIdMode=Continuous``].
        segmentation_silence_timeout_ms: Silence that ends a phrase, 100-5000 ms
            [``Speech_SegmentationSilenceTimeoutMs``]; ``None``: the service default.
        initial_silence_timeout_ms: Silence allowed before speech
            [``SpeechServiceConnection_InitialSilenceTimeoutMs``].
        phrase_list: Words and phrases to bias recognition towards (``PhraseListGrammar``).
        profanity: ``masked`` (service default), ``removed`` or ``raw``.
        connect_timeout_ms: How long one connection attempt may take.
        reconnect_attempts: Connection attempts per outage before ``events()`` fails.
        reconnect_initial_ms: First backoff; doubles per attempt, with jitter.
        reconnect_max_ms: Backoff ceiling.
        replay_max_ms: Audio kept for replay after a drop (since the last final).
        flush_timeout_ms: After ``flush()``, end ``events()`` anyway after this long.
        stop_timeout_ms: Longest wait for the SDK to stop a recognizer.
    """

    language: str = "en-US"
    candidate_languages: tuple[str, ...] = ()
    segmentation_silence_timeout_ms: int | None = None
    initial_silence_timeout_ms: int | None = None
    phrase_list: tuple[str, ...] = ()
    profanity: str = "masked"
    connect_timeout_ms: int = 5000
    reconnect_attempts: int = 5
    reconnect_initial_ms: int = 100
    reconnect_max_ms: int = 2000
    replay_max_ms: int = 30_000
    flush_timeout_ms: int = 10_000
    stop_timeout_ms: int = 2000

    def __post_init__(self) -> None:
        if self.profanity not in ("masked", "removed", "raw"):
            raise ValueError(f"profanity must be masked, removed or raw, got {self.profanity!r}")
        if len(self.candidate_languages) == 1 or len(self.candidate_languages) > 10:
            raise ValueError("candidate_languages takes 2 to 10 language tags")
        seg = self.segmentation_silence_timeout_ms
        if seg is not None and not 100 <= seg <= 5000:
            raise ValueError("segmentation_silence_timeout_ms must be within 100..5000")


_PROFANITY = {
    "masked": speechsdk.ProfanityOption.Masked,
    "removed": speechsdk.ProfanityOption.Removed,
    "raw": speechsdk.ProfanityOption.Raw,
}


class AzureSpeechToText:
    """``ports.SpeechToText`` over the Azure AI Speech SDK; one instance serves every call.

    Args:
        auth: Where the service is and how to authenticate.
        options: Recognition settings.

    Example:
        ``AzureSpeechToText(AzureSpeechAuth(key=..., region="westeurope"))``
    """

    def __init__(self, auth: AzureSpeechAuth, options: RecognitionOptions | None = None) -> None:
        self.auth = auth
        self.options = options or RecognitionOptions()
        self._tokens = TokenCache(auth) if auth.credential is not None else None
        opts = self.options
        self.connect_retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, opts.reconnect_attempts)),
            wait=wait_exponential_jitter(
                multiplier=opts.reconnect_initial_ms / 1000, max=opts.reconnect_max_ms / 1000
            ),
            retry=retry_if_exception_type(_ConnectFailed),
            reraise=True,
        )
        """The template of a session's connect retry: built once, copied per session
        (:func:`adapters.resilience.retry.run_retrying`, no reference cycle per session)."""

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> AzureRecognitionSession:
        """Open a recognition session for PCM16 mono audio at 8, 16, 24 or 48 kHz.

        Raises:
            InvalidAudioError: Another encoding, channel count or rate.
        """
        return AzureRecognitionSession(self, fmt, language)

    async def token(self) -> str | None:
        """The Entra token to use now (``None`` with key auth)."""
        return await self._tokens.get() if self._tokens is not None else None

    def token_expires_on(self) -> float:
        """Epoch seconds when the cached token expires (0 with key auth)."""
        return self._tokens.expires_on if self._tokens is not None else 0.0

    async def health_check(self) -> None:
        """Cheap readiness: the configuration builds and a token (if any) can be had.

        It does not open a connection (the port promises no long connection).

        Raises:
            AuthenticationError: The Entra credential fails.
            ProviderError: The configuration is refused by the SDK.
        """
        build_speech_config(self.auth, await self.token())

    def build_recognizer(
        self, fmt: AudioFormat, language: str | None, token: str | None
    ) -> tuple[Any, Any]:
        """A new ``(SpeechRecognizer, PushAudioInputStream)`` pair (blocking; run in a thread)."""
        opts = self.options
        config = build_speech_config(self.auth, token)
        lid = not language and len(opts.candidate_languages) >= 2
        if lid:
            config.set_property(
                speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous"
            )
        else:
            config.speech_recognition_language = language or opts.language
        if opts.segmentation_silence_timeout_ms is not None:
            config.set_property(
                speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs,
                str(opts.segmentation_silence_timeout_ms),
            )
        if opts.initial_silence_timeout_ms is not None:
            config.set_property(
                speechsdk.PropertyId.SpeechServiceConnection_InitialSilenceTimeoutMs,
                str(opts.initial_silence_timeout_ms),
            )
        config.set_profanity(_PROFANITY[opts.profanity])
        stream_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=fmt.sample_rate_hz, bits_per_sample=16, channels=1
        )
        stream = speechsdk.audio.PushAudioInputStream(stream_format)
        audio_config = speechsdk.audio.AudioConfig(stream=stream)
        kwargs: dict[str, Any] = {}
        if lid:
            kwargs["auto_detect_source_language_config"] = candidate_languages(
                opts.candidate_languages
            )
        recognizer = speechsdk.SpeechRecognizer(config, audio_config=audio_config, **kwargs)
        if opts.phrase_list:
            grammar = speechsdk.PhraseListGrammar.from_recognizer(recognizer)
            for phrase in opts.phrase_list:
                grammar.addPhrase(phrase)
        return recognizer, stream


class _ConnectFailed(Exception):  # noqa: N818 - a retry signal carrying the port error
    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class _Attempt:
    """One recognizer and its push stream; callbacks of older attempts are ignored."""

    recognizer: Any
    stream: Any
    connection: Any
    base_ms: float
    outcome: asyncio.Future[tuple[ProviderError, bool] | None]
    """Resolved by the first of: connected (``None``) or canceled (error, retryable)."""
    connected: bool = False
    lost: bool = False
    stream_closed: bool = False
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class _Result:
    final: bool
    matched: bool
    text: str
    offset: int
    duration: int
    language: str | None


@dataclass(frozen=True, slots=True)
class _Cancel:
    reason: Any
    code: Any
    details: str


class AzureRecognitionSession:
    """One continuous recognition for one call (see the module docstring).

    Attributes:
        reconnects: Recognizers opened after the first one (drops survived).
        lost_audio_ms: Audio (ms) pushed before a drop that could not be replayed because it
            fell out of the replay window; 0 when nothing was lost.
    """

    def __init__(self, engine: AzureSpeechToText, fmt: AudioFormat, language: str | None) -> None:
        if (
            fmt.encoding is not AudioEncoding.PCM16
            or fmt.channels != 1
            or fmt.sample_rate_hz not in SUPPORTED_RATES_HZ
        ):
            raise InvalidAudioError(
                f"Azure Speech takes PCM16 mono at {sorted(SUPPORTED_RATES_HZ)} Hz, got {fmt}"
            )
        self._engine = engine
        self._fmt = fmt
        self._language = language
        self._opts = engine.options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bridge: ThreadBridge | None = None
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._attempt: _Attempt | None = None
        self._opening: _Attempt | None = None
        self._runner: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closed = False
        self._flushing = False
        self._finished = False
        self._flush_timer: asyncio.TimerHandle | None = None
        self._connected_once = False
        self._pushed_ms = 0.0
        self._acked_ms = 0.0
        self._replay: deque[tuple[float, bytes]] = deque()
        self._trimmed_unacked_ms = 0.0
        self.reconnects = 0
        self.lost_audio_ms = 0.0

    async def __aenter__(self) -> Self:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ----- port API ----------------------------------------------------------------------

    def push(self, frame: AudioFrame) -> None:
        """Queue a frame; it is also kept for replay until a final acknowledges it.

        Raises:
            InvalidAudioError: The frame's format differs from the session's.
            StreamClosedError: The session is closed or flushed.
        """
        if self._closed or self._flushing:
            raise StreamClosedError("recognition session is closed")
        if frame.format != self._fmt:
            raise InvalidAudioError(f"frame format {frame.format} differs from {self._fmt}")
        self._start()
        data = bytes(frame.data)
        self._replay.append((self._pushed_ms, data))
        self._pushed_ms += self._fmt.duration_ms(len(data))
        self._trim_replay()
        attempt = self._attempt
        if attempt is not None and not attempt.lost and not attempt.stream_closed:
            attempt.stream.write(data)

    def end_of_speech(self) -> None:
        """Ignored: the service endpoints by itself (segmentation silence timeout)."""

    async def events(self) -> AsyncIterator[TranscriptEvent]:
        """Partials and finals in stream order; ends after ``flush()``/``aclose()``.

        Raises:
            AuthenticationError: Credentials refused.
            ProviderError: Recognition failed and could not be recovered by reconnecting.
        """
        self._start()
        while True:
            item = await self._queue.get()
            if item is _END:
                self._queue.put_nowait(_END)  # later readers end too
                return
            if isinstance(item, ProviderError):
                raise item
            assert isinstance(item, TranscriptEvent)  # noqa: S101 - queue holds nothing else
            yield item

    async def flush(self) -> None:
        """Close the audio stream; the last final follows, then ``events()`` ends."""
        if self._closed or self._flushing:
            return
        self._flushing = True
        if self._runner is None:
            self._finish()
            return
        attempt = self._attempt
        if attempt is not None and not attempt.lost:
            self._close_stream(attempt)
        loop = asyncio.get_running_loop()
        self._flush_timer = loop.call_later(self._opts.flush_timeout_ms / 1000, self._flush_due)

    async def aclose(self) -> None:
        """Stop now, without a final; idempotent; waits for the SDK at most ``stop_timeout_ms``."""
        if self._closed:
            return
        self._closed = True
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            await self._stop_attempt(attempt)
        self._finish()

    def _flush_due(self) -> None:
        # The flush deadline ends a session whose service went quiet after connecting; a
        # session that never connected has recognised nothing, and ending it quietly would
        # drop every pushed frame without a word, so that is an error the caller must see.
        if self._connected_once:
            self._finish()
        else:
            self._fail(
                ProviderUnavailableError(
                    "Azure Speech never connected before the flush deadline", port=PORT
                )
            )

    # ----- lifecycle ---------------------------------------------------------------------

    def _start(self) -> None:
        if self._runner is not None or self._closed:
            return
        self._loop = asyncio.get_running_loop()
        self._bridge = ThreadBridge(self._loop, "azure stt")
        self._runner = self._loop.create_task(self._run(), name="azure-stt-session")

    async def _run(self) -> None:
        refresher: asyncio.Task[None] | None = None
        try:
            if self._engine.auth.credential is not None:
                refresher = asyncio.create_task(self._refresh_tokens(), name="azure-stt-token")
            while not self._closed and not self._finished:
                await self._connect_with_retry()
                await self._lost.wait()
                self._lost.clear()
                if self._closed or self._finished:
                    return
                old, self._attempt = self._attempt, None
                if old is not None:
                    await self._stop_attempt(old)
                self.reconnects += 1
        except ProviderError as exc:
            self._fail(exc)
        except Exception as exc:
            logger.exception("azure stt: session runner failed")
            self._fail(ProviderError(f"recognition failed: {type(exc).__name__}: {exc}", port=PORT))
        finally:
            if refresher is not None:
                refresher.cancel()

    async def _connect_with_retry(self) -> None:
        try:
            await run_retrying(self._engine.connect_retrying, self._open_once)
        except _ConnectFailed as exc:
            raise exc.error from exc

    async def _open_once(self) -> None:
        token = await self._engine.token()
        recognizer, stream = await asyncio.to_thread(
            self._engine.build_recognizer, self._fmt, self._language, token
        )
        loop = asyncio.get_running_loop()
        attempt = _Attempt(
            recognizer=recognizer,
            stream=stream,
            connection=speechsdk.Connection.from_recognizer(recognizer),
            base_ms=0.0,
            outcome=loop.create_future(),
        )
        self._wire(attempt)
        self._opening = attempt  # its events count; pushes still go to the replay buffer only
        try:
            await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
        except asyncio.CancelledError:
            self._opening = None
            await self._stop_attempt(attempt)  # closed while connecting: release it, then go
            raise
        self._opening = None
        # No await from here until the attempt is current: the replay snapshot and the live
        # pushes after it reach the stream in order, each byte once.
        if self._trimmed_unacked_ms and self.reconnects:
            self.lost_audio_ms += self._trimmed_unacked_ms
            logger.warning(
                "azure stt: %.0f ms of audio before the drop fell out of the replay window",
                self._trimmed_unacked_ms,
            )
        self._trimmed_unacked_ms = 0.0
        base_ms = self._replay[0][0] if self._replay else self._pushed_ms
        attempt.base_ms = base_ms
        for _, data in self._replay:
            stream.write(data)
        self._attempt = attempt
        if self._flushing:
            self._close_stream(attempt)
        outcome: tuple[ProviderError, bool] | None
        try:
            outcome = await asyncio.wait_for(
                asyncio.shield(attempt.outcome), self._opts.connect_timeout_ms / 1000
            )
        except TimeoutError:
            timeout = ProviderTimeoutError("Azure Speech connection timed out", port=PORT)
            outcome = (timeout, True)
        if outcome is None:
            logger.info("azure stt: connected (replayed %.0f ms)", self._pushed_ms - base_ms)
            return
        self._attempt = None
        await self._stop_attempt(attempt)
        error, retryable = outcome
        if retryable:
            logger.warning("azure stt: connection attempt failed: %s", error)
            raise _ConnectFailed(error)
        raise error

    def _wire(self, attempt: _Attempt) -> None:
        bridge = self._bridge
        assert bridge is not None  # noqa: S101 - set in _start before any attempt
        rec = attempt.recognizer

        def on_result(result: _Result) -> None:
            self._on_result(attempt, result)

        rec.recognizing.connect(bridge.sdk_handler(_extract_partial, on_result))
        rec.recognized.connect(bridge.sdk_handler(_extract_final, on_result))
        rec.canceled.connect(
            bridge.sdk_handler(_extract_cancel, lambda c: self._on_cancel(attempt, c))
        )
        rec.session_stopped.connect(
            bridge.sdk_handler(lambda _e: True, lambda _v: self._on_stopped(attempt))
        )
        attempt.connection.connected.connect(
            bridge.sdk_handler(lambda _e: True, lambda _v: self._on_connected(attempt))
        )

    # ----- loop-side event handlers ------------------------------------------------------

    def _on_connected(self, attempt: _Attempt) -> None:
        attempt.connected = True
        self._connected_once = True
        if not attempt.outcome.done():
            attempt.outcome.set_result(None)

    def _on_result(self, attempt: _Attempt, result: _Result) -> None:
        if not self._is_current(attempt):
            return
        self._on_connected(attempt)
        start_ms = attempt.base_ms + result.offset / TICKS_PER_MS
        end_ms = start_ms + result.duration / TICKS_PER_MS
        if result.final:
            self._acked_ms = max(self._acked_ms, end_ms)
            self._trim_replay()
        if result.matched and result.text:
            self._queue.put_nowait(
                TranscriptEvent(
                    text=result.text,
                    is_final=result.final,
                    start_ms=start_ms,
                    end_ms=end_ms,
                    language=result.language,
                )
            )

    def _on_cancel(self, attempt: _Attempt, cancel: _Cancel) -> None:
        if not self._is_current(attempt):
            return
        error = translate_cancellation(cancel.reason, cancel.code, cancel.details, port=PORT)
        if error is None:
            return
        if not attempt.outcome.done():
            attempt.outcome.set_result((error, is_retryable(cancel.code)))  # the opener decides
            return
        if is_retryable(cancel.code) and not attempt.lost:
            logger.warning("azure stt: connection lost (%s); reconnecting", error)
            attempt.lost = True
            self._lost.set()
        elif not is_retryable(cancel.code):
            self._fail(error)

    def _on_stopped(self, attempt: _Attempt) -> None:
        attempt.stopped = True
        if not self._is_current(attempt):
            return
        if self._flushing and attempt.stream_closed:
            if attempt.connected:
                self._finish()
            # Not connected: the cancellation before this stop decides (retry or fail).
        elif attempt.connected and not attempt.lost:
            logger.warning("azure stt: session stopped unexpectedly; reconnecting")
            attempt.lost = True
            self._lost.set()

    # ----- helpers -----------------------------------------------------------------------

    def _is_current(self, attempt: _Attempt) -> bool:
        if self._closed or self._finished:
            return False
        return attempt is self._attempt or attempt is self._opening

    def _trim_replay(self) -> None:
        frame_end = 0.0
        while self._replay:
            start, data = self._replay[0]
            frame_end = start + self._fmt.duration_ms(len(data))
            if frame_end <= self._acked_ms:
                self._replay.popleft()
            elif self._pushed_ms - start > self._opts.replay_max_ms:
                self._replay.popleft()
                self._trimmed_unacked_ms += frame_end - start
            else:
                break

    def _close_stream(self, attempt: _Attempt) -> None:
        if not attempt.stream_closed:
            attempt.stream_closed = True
            attempt.stream.close()

    def _fail(self, error: ProviderError) -> None:
        if self._finished:
            return
        logger.error("azure stt: recognition failed: %s", error)
        self._queue.put_nowait(error)
        self._finish()
        if self._runner is not None and self._runner is not asyncio.current_task():
            self._runner.cancel()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._lost.set()
        self._queue.put_nowait(_END)
        attempt = self._attempt
        if attempt is not None and not self._closed and self._loop is not None:
            # The SDK session is over (flushed or failed); release it in the background.
            self._attempt = None
            self._loop.create_task(self._stop_attempt(attempt), name="azure-stt-stop")

    async def _stop_attempt(self, attempt: _Attempt) -> None:
        self._close_stream(attempt)
        recognizer = attempt.recognizer
        signals = (
            recognizer.recognizing,
            recognizer.recognized,
            recognizer.canceled,
            recognizer.session_stopped,
            attempt.connection.connected,
        )

        def stop() -> None:
            if not attempt.stopped:  # a stopped session needs no stop (and may block on it)
                recognizer.stop_continuous_recognition_async().get()
            for signal in signals:
                signal.disconnect_all()

        await run_detached(stop, self._opts.stop_timeout_ms / 1000, "azure stt stop")

    async def _refresh_tokens(self) -> None:
        margin = self._engine.auth.refresh_margin_s
        while True:
            wait_s = max(5.0, self._engine.token_expires_on() - margin - time.time() + 1)
            await asyncio.sleep(wait_s)
            try:
                token = await self._engine.token()
            except ProviderError as exc:
                logger.warning("azure stt: token refresh failed: %s", exc)
                continue
            attempt = self._attempt
            if attempt is not None and token is not None:
                attempt.recognizer.authorization_token = token


# ----- SDK-thread extractors: SDK event -> plain values (never the event itself) ---------


def _language_of(result: Any) -> str | None:
    value = result.properties.get(
        speechsdk.PropertyId.SpeechServiceConnection_AutoDetectSourceLanguageResult, ""
    )
    return str(value) or None


def _extract_partial(event: Any) -> _Result | None:
    result = event.result
    return _Result(False, True, result.text, result.offset, result.duration, _language_of(result))


def _extract_final(event: Any) -> _Result | None:
    result = event.result
    matched = result.reason == speechsdk.ResultReason.RecognizedSpeech
    return _Result(
        True,
        matched,
        result.text if matched else "",
        result.offset,
        result.duration,
        _language_of(result) if matched else None,
    )


def _extract_cancel(event: Any) -> _Cancel:
    details = event.cancellation_details
    return _Cancel(details.reason, details.code, details.error_details or "")


def supported_formats() -> Sequence[AudioFormat]:
    """Formats a session accepts (PCM16 mono)."""
    return [AudioFormat(rate) for rate in sorted(SUPPORTED_RATES_HZ)]


__all__ = [
    "AzureRecognitionSession",
    "AzureSpeechToText",
    "RecognitionOptions",
    "supported_formats",
]
