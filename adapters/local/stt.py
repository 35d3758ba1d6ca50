"""Offline speech-to-text with pocketsphinx 5 (CMU Sphinx) behind ``ports.SpeechToText``.

The pocketsphinx wheel on PyPI carries the US English acoustic model, language model and
dictionary (``pocketsphinx.get_model_path()``), so nothing is downloaded at run time.

Processes and threads: pocketsphinx's Python binding holds the GIL while it decodes (measured:
``end_utt`` blocks other threads for up to 480 ms), so a decoder in a thread would stall the
event loop. Each session therefore decodes in a child process (``multiprocessing`` *spawn*
context) that owns one decoder: one decoder per call. ``push()`` only enqueues bytes (a few µs
on the loop); a sender thread writes them to the child's pipe and a receiver thread reads
results, which go back to the loop with ``loop.call_soon_threadsafe`` as
:class:`ports.TranscriptEvent` values only. Resampling to 16 kHz happens in the child. Idle
child processes are kept for the next session (``max_idle_decoders``), so only the first
sessions pay the start-up (about 1 s: interpreter, imports, 0.3 s model load); call
:meth:`PocketsphinxSpeechToText.warm_up` at start-up to pay it early and
:meth:`PocketsphinxSpeechToText.aclose` at shutdown. Scripts that use this adapter need the
usual ``if __name__ == "__main__":`` guard (spawn re-imports the main module).

Isolation: unlike the espeak-ng TTS there is no worker shared by calls: a decoder process
serves one session at a time, so a slow or stuck decode stalls only its own call. Formats are
checked when a session opens (rates outside the resampler's sane range are refused up front,
:func:`adapters.audio.convert.check_resample`), never inside the child.

Endpointing: a final is produced (a) when the runtime calls ``end_of_speech()`` (its VAD
endpoint), (b) when pocketsphinx's own ``Endpointer`` (WebRTC VAD, 0.3 s window) sees the
end of a speech region, if ``own_endpointing`` is on, and (c) at ``flush()``.

Accuracy: the bundled model is a 16 kHz wideband model. Other rates are resampled to 16 kHz
by :mod:`adapters.audio`; 8 kHz narrowband telephone audio (G.711) lacks the 4-8 kHz band the
model was trained with, so accuracy on it is poor (on the shared clips sent as 8 kHz mu-law,
pooled WER 0.65 against 0.51 at 16 kHz; the 8 kHz call clips score 0.5-1.3 even at 16 kHz).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from adapters.audio import FormatConverter
from adapters.audio.convert import check_resample
from adapters.local._imports import require
from ports import (
    PCM16_16K,
    AudioEncoding,
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ProviderError,
    ProviderUnavailableError,
    StreamClosedError,
    TranscriptEvent,
)

_ps = require("pocketsphinx", "pocketsphinx==5.1.1")

logger = logging.getLogger(__name__)

NATIVE_FORMAT = PCM16_16K
"""The bundled en-US model's input: 16 kHz PCM16 mono."""

_FRAME_MS = 10.0
"""pocketsphinx feature frame: 100 frames per second (``-frate 100``)."""

_WARM_UP_AUDIO = bytes(range(256)) * 125
"""One second of low-level noise (16 kHz PCM16) decoded once when a decoder process warms up."""

_END_OF_SPEECH = ("eos",)
_FLUSH = ("flush",)
_CLOSE = ("close",)
_DONE = object()


@dataclass(frozen=True, slots=True)
class _Failure:
    error: ProviderError


@dataclass(frozen=True, slots=True)
class _Settings:
    """What a child process needs to run one session (picklable)."""

    rate: int
    channels: int
    encoding: str
    partial_interval_ms: float
    own_endpointing: bool
    endpointer_window_s: float
    rescore_finals: bool
    rescore_max_s: float


@dataclass(slots=True)
class _Child:
    process: Any  # multiprocessing.context.SpawnProcess
    conn: Connection


class PocketsphinxSpeechToText:
    """Factory of pocketsphinx recognition sessions (``ports.SpeechToText``).

    Args:
        model_dir: Directory holding ``en-us/en-us`` (acoustic model), ``en-us/en-us.lm.bin``
            and ``en-us/cmudict-en-us.dict``; None for the models bundled in the wheel.
        partial_interval_ms: Least time between partial hypotheses, ms (audio and wall time).
        own_endpointing: Also finalise at the end of speech regions found by pocketsphinx's
            ``Endpointer`` (useful when no runtime VAD calls ``end_of_speech()``).
        endpointer_window_s: Window of the Endpointer's decision, seconds (0.3 default).
        max_idle_decoders: Decoder processes kept after a session ends, for the next one;
            each holds about 100 MB. A reused decoder's cepstral mean is reset.
        rescore_finals: Decode each finished utterance a second time in batch mode (cepstral
            mean over the whole utterance) for the final. Live CMN starts from a fixed prior
            and adapts over the first seconds, so first utterances of a call lose words
            (pooled WER on the shared clips 0.61 live, 0.51 rescored). Costs a second decode
            of the utterance (CPU about 0.15 x its duration) before the final.
        rescore_max_s: Longest utterance that is rescored, seconds; longer ones keep the
            live result so a final never waits for more than about 2 s of CPU.
        decoder_options: Extra ``pocketsphinx.Config`` options (``{"beam": 1e-60}``).

    Raises:
        ProviderUnavailableError: ``model_dir`` does not hold the model files.
    """

    def __init__(
        self,
        *,
        model_dir: str | Path | None = None,
        partial_interval_ms: float = 200.0,
        own_endpointing: bool = True,
        endpointer_window_s: float = 0.3,
        max_idle_decoders: int = 4,
        rescore_finals: bool = True,
        rescore_max_s: float = 12.0,
        decoder_options: dict[str, Any] | None = None,
    ) -> None:
        base = Path(model_dir) if model_dir is not None else Path(_ps.get_model_path())
        self._options: dict[str, Any] = {
            "hmm": str(base / "en-us" / "en-us"),
            "lm": str(base / "en-us" / "en-us.lm.bin"),
            "dict": str(base / "en-us" / "cmudict-en-us.dict"),
            "loglevel": "FATAL",
        }
        self._options.update(decoder_options or {})
        missing = [k for k in ("hmm", "lm", "dict") if not Path(self._options[k]).exists()]
        if missing:
            raise ProviderUnavailableError(
                "pocketsphinx model files missing: "
                + ", ".join(str(self._options[k]) for k in missing),
                port="speech_to_text",
            )
        self.partial_interval_ms = partial_interval_ms
        self.own_endpointing = own_endpointing
        self.endpointer_window_s = endpointer_window_s
        self.rescore_finals = rescore_finals
        self.rescore_max_s = rescore_max_s
        self._max_idle = max_idle_decoders
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._closed = False

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> PocketsphinxSession:
        """Open a recognition session for frames in ``fmt`` (any rate; resampled to 16 kHz).

        Args:
            fmt: Format of the frames that will be pushed.
            language: Only US English is bundled; another tag is logged and ignored.

        Raises:
            InvalidAudioError: ``fmt`` has more than 2 channels, or a rate no sane resampling
                ratio reaches 16 kHz from (checked here, before a decoder process is taken,
                rather than failing inside the child).
        """
        if fmt.channels > 2:
            raise InvalidAudioError(f"pocketsphinx sessions take mono or stereo, got {fmt}")
        check_resample(fmt.sample_rate_hz, NATIVE_FORMAT.sample_rate_hz, fmt.channels)
        if language is not None and not language.lower().startswith("en"):
            logger.warning("pocketsphinx has only the en-US model; ignoring language %s", language)
        settings = _Settings(
            fmt.sample_rate_hz,
            fmt.channels,
            str(fmt.encoding),
            self.partial_interval_ms,
            self.own_endpointing,
            self.endpointer_window_s,
            self.rescore_finals,
            self.rescore_max_s,
        )
        return PocketsphinxSession(self, fmt, settings)

    async def warm_up(self, count: int = 1) -> None:
        """Start ``count`` idle decoder processes now (about 1 s each, in parallel).

        Raises:
            ProviderUnavailableError: A decoder process could not start.
        """
        children = await asyncio.gather(
            *(asyncio.to_thread(self._spawn, True) for _ in range(count))
        )
        for child in children:
            self._release(child, healthy=True)

    async def health_check(self) -> None:
        """Return when the model files are present (checked at construction)."""

    async def aclose(self) -> None:
        """Stop the idle decoder processes; later sessions start new ones."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            _stop_child(child)
        for _ in range(500):
            if not any(c.process.is_alive() for c in idle):
                break
            await asyncio.sleep(0.01)

    def _acquire(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    return child
        return self._spawn(False)

    def _spawn(self, wait_ready: bool) -> _Child:
        ctx = multiprocessing.get_context("spawn")
        parent, child_end = ctx.Pipe()
        process = ctx.Process(
            target=_child_main,
            args=(child_end, self._options),
            name="pocketsphinx-decoder",
            daemon=True,
        )
        process.start()
        child_end.close()
        child = _Child(process, parent)
        if wait_ready:
            try:
                parent.send(("ping",))
                ready = parent.poll(30.0) and parent.recv() == ("pong",)
            except (EOFError, OSError):
                ready = False
            if not ready:
                _stop_child(child)
                raise ProviderUnavailableError(
                    "pocketsphinx decoder process did not start (a script using it needs an"
                    ' `if __name__ == "__main__":` guard: processes are spawned)',
                    port="speech_to_text",
                )
        return child

    def _release(self, child: _Child, *, healthy: bool) -> None:
        with self._lock:
            if healthy and len(self._idle) < self._max_idle and child.process.is_alive():
                self._idle.append(child)
                return
        _stop_child(child)


def _stop_child(child: _Child) -> None:
    with contextlib.suppress(OSError, ValueError):
        child.conn.send(("exit",))
    with contextlib.suppress(OSError):
        child.conn.close()


class PocketsphinxSession:
    """One call's streaming recognition (``ports.RecognitionSession``); see the module doc.

    Created by :meth:`PocketsphinxSpeechToText.session`. Its threads start on the first
    ``push()`` (or on ``async with``) and end after ``flush()`` or ``aclose()``.
    """

    def __init__(
        self, engine: PocketsphinxSpeechToText, fmt: AudioFormat, settings: _Settings
    ) -> None:
        self.format = fmt
        self._engine = engine
        self._settings = settings
        self._requests: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._events: asyncio.Queue[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._finished: asyncio.Future[None] | None = None
        self._ended = False  # no more pushes (flushed or closed)
        self._closed = False

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

    def push(self, frame: AudioFrame) -> None:
        """Queue a frame for recognition; returns at once.

        Raises:
            InvalidAudioError: The frame's format differs from the session's.
            StreamClosedError: The session was flushed or closed.
        """
        if self._ended:
            raise StreamClosedError("pocketsphinx session is flushed or closed")
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(
                f"frame in {frame.format} pushed to a session for {self.format}"
            )
        self._start()
        self._requests.put(("audio", frame.data))

    def end_of_speech(self) -> None:
        """Finalise the current utterance (the runtime's VAD saw the caller stop)."""
        if not self._ended:
            self._start()
            self._requests.put(_END_OF_SPEECH)

    async def events(self) -> AsyncIterator[TranscriptEvent]:
        """Partials and finals in stream order; ends after ``flush()`` or ``aclose()``.

        Raises:
            ProviderUnavailableError: The decoder process could not start or died.
        """
        self._start()
        assert self._events is not None  # noqa: S101 - set by _start
        while True:
            item = await self._events.get()
            if item is _DONE:
                self._events.put_nowait(_DONE)  # later readers end too
                return
            if isinstance(item, _Failure):
                raise item.error
            if isinstance(item, TranscriptEvent):
                yield item

    async def flush(self) -> None:
        """End the audio: the last final (if any words remain) follows, then events end."""
        if self._ended:
            return
        self._start()
        self._ended = True
        self._requests.put(_FLUSH)

    async def aclose(self) -> None:
        """Stop now without a final; waits (briefly) for the session's threads to exit."""
        if self._closed:
            return
        self._closed = True
        self._ended = True
        self._stopping.set()
        if not self._threads:
            return
        self._requests.put(_CLOSE)
        if self._finished is not None:
            # The child may be inside end_utt (100+ ms); the receiver signals when it is done.
            try:
                await asyncio.wait_for(asyncio.shield(self._finished), timeout=5.0)
            except TimeoutError:
                logger.warning("pocketsphinx session did not stop within 5 s")
        # Both threads have signalled; they only have to return now. On a loaded machine a
        # thread may wait a while for a core: up to 2 s, polling every 5 ms.
        for _ in range(400):
            if not any(t.is_alive() for t in self._threads):
                break
            await asyncio.sleep(0.005)

    # -- thread side -------------------------------------------------------------------

    def _start(self) -> None:
        if self._events is not None:
            return
        self._events = asyncio.Queue()
        if self._closed:
            self._events.put_nowait(_DONE)
            return
        self._loop = asyncio.get_running_loop()
        self._finished = self._loop.create_future()
        sender = threading.Thread(target=self._send, name="pocketsphinx-send", daemon=True)
        self._threads.append(sender)
        sender.start()

    def _emit(self, item: object) -> None:
        assert self._loop is not None and self._events is not None  # noqa: S101
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self._events.put_nowait, item)

    def _signal_finished(self) -> None:
        assert self._loop is not None and self._finished is not None  # noqa: S101
        finished = self._finished

        def done() -> None:
            if not finished.done():
                finished.set_result(None)

        self._emit(_DONE)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(done)

    def _send(self) -> None:
        if self._stopping.is_set():
            self._signal_finished()
            return
        try:
            child = self._engine._acquire()  # noqa: SLF001 - the engine's own pool
            child.conn.send(("start", self._settings))
        except Exception as exc:
            logger.exception("pocketsphinx decoder process failed to start")
            self._emit(_Failure(_unavailable(f"decoder process failed to start: {exc}")))
            self._signal_finished()
            return
        receiver = threading.Thread(
            target=self._receive, args=(child,), name="pocketsphinx-receive", daemon=True
        )
        self._threads.append(receiver)
        receiver.start()
        try:
            while True:
                item = self._requests.get()
                child.conn.send(item)
                if item is _FLUSH or item is _CLOSE:
                    return
        except (OSError, ValueError):
            return  # the child died; the receiver reports it

    def _receive(self, child: _Child) -> None:
        healthy = False
        try:
            while True:
                message = child.conn.recv()
                kind = message[0]
                if kind == "event":
                    _, is_final, text, start_ms, end_ms = message
                    self._emit(TranscriptEvent(text, is_final, start_ms, end_ms))
                elif kind == "error":
                    self._emit(_Failure(_unavailable(message[1])))
                elif kind == "done":
                    healthy = True
                    return
        except (EOFError, OSError) as exc:
            self._emit(_Failure(_unavailable(f"decoder process ended: {exc!r}")))
        finally:
            self._engine._release(child, healthy=healthy)  # noqa: SLF001
            self._signal_finished()


def _unavailable(message: str) -> ProviderUnavailableError:
    return ProviderUnavailableError(f"pocketsphinx: {message}", port="speech_to_text")


# -- child process ----------------------------------------------------------------------


def _child_main(conn: Connection, options: dict[str, Any]) -> None:
    """Entry point of a decoder process: serve sessions one after another until "exit"."""
    decoder: Any = None
    initial_cmn = ""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "exit":
            return
        if kind == "ping":
            if decoder is None:
                decoder = _ps.Decoder(**options)
                initial_cmn = decoder.get_cmn()
                # Touch the model's pages now: a cold first decode lags by up to a second.
                decoder.start_utt()
                decoder.process_raw(_WARM_UP_AUDIO, False, False)
                decoder.end_utt()
            conn.send(("pong",))
            continue
        if kind != "start":
            continue  # a late message of a session that already ended
        try:
            if decoder is None:
                decoder = _ps.Decoder(**options)
                initial_cmn = decoder.get_cmn()
            else:
                decoder.set_cmn(initial_cmn)  # a new call starts from the prior
            _Worker(message[1], decoder, conn.send).run(conn.recv)
        except (EOFError, OSError):
            return
        except Exception as exc:  # report, then stop: the decoder state is unknown
            with contextlib.suppress(OSError):
                conn.send(("error", f"decoder failed: {exc}"))
                conn.send(("done",))
            return
        conn.send(("done",))


class _Worker:
    """The decode loop of one session, run in the child; owns the decoder while it runs."""

    def __init__(self, settings: _Settings, decoder: Any, send: Callable[[object], None]) -> None:
        self.settings = settings
        self.decoder = decoder
        self.send = send
        fmt = AudioFormat(settings.rate, settings.channels, AudioEncoding(settings.encoding))
        self.format = fmt
        self.interval_s = settings.partial_interval_ms / 1000.0
        self.converter = FormatConverter(fmt, NATIVE_FORMAT)
        self.endpointer = (
            _ps.Endpointer(window=settings.endpointer_window_s, sample_rate=16000)
            if settings.own_endpointing
            else None
        )
        self.ep_pending = b""
        self.samples = 0  # 16 kHz samples decoded since the session started
        self.utt_start = 0  # sample index where the current utterance began
        self.utt_samples = 0
        self.utt_audio = bytearray()
        self.rescore_max_samples = int(settings.rescore_max_s * 16000)
        self.in_utt = False
        self.last_partial_text = ""
        self.last_partial_audio = 0
        self.last_partial_wall = 0.0

    def run(self, recv: Callable[[], Any]) -> None:
        try:
            while True:
                item = recv()
                kind = item[0]
                if kind == "audio":
                    self.audio(self.converter.convert(AudioFrame(item[1], self.format)).data)
                elif kind == "eos":
                    self.finalise()
                elif kind == "flush":
                    tail = self.converter.flush()
                    if tail is not None:
                        self.audio(tail.data)
                    self.finalise()
                    return
                elif kind == "close":
                    return
        finally:
            if self.in_utt:
                self.decoder.end_utt()  # leave the decoder reusable; no final on close

    def audio(self, pcm: bytes) -> None:
        if not pcm:
            return
        if not self.in_utt:
            self.decoder.start_utt()
            self.in_utt = True
            self.utt_start = self.samples
            self.utt_samples = 0
            self.utt_audio.clear()
            self.last_partial_text = ""
            self.last_partial_audio = 0
        self.decoder.process_raw(pcm, False, False)
        if self.settings.rescore_finals:
            self.utt_audio += pcm
        n = len(pcm) // 2
        self.samples += n
        self.utt_samples += n
        self.maybe_partial()
        if self.endpointer is not None and self.speech_ended(pcm):
            self.finalise()

    def speech_ended(self, pcm: bytes) -> bool:
        """Feed the Endpointer; True when a speech region just ended."""
        assert self.endpointer is not None  # noqa: S101
        self.ep_pending += pcm
        size = self.endpointer.frame_bytes
        ended = False
        while len(self.ep_pending) >= size:
            was = self.endpointer.in_speech
            self.endpointer.process(self.ep_pending[:size])
            self.ep_pending = self.ep_pending[size:]
            if was and not self.endpointer.in_speech:
                ended = True
        return ended

    def maybe_partial(self) -> None:
        audio_gap_ms = (self.utt_samples - self.last_partial_audio) / 16.0
        if audio_gap_ms < self.settings.partial_interval_ms:
            return
        now = time.monotonic()
        if now - self.last_partial_wall < self.interval_s:
            return
        hyp = self.decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        self.last_partial_audio = self.utt_samples
        self.last_partial_wall = now
        if text and text != self.last_partial_text:
            self.last_partial_text = text
            self.send(("event", False, text, self.utt_start / 16.0, self.samples / 16.0))

    def finalise(self) -> None:
        if not self.in_utt:
            return
        self.decoder.end_utt()
        self.in_utt = False
        hyp = self.decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        if text and self.settings.rescore_finals and self.utt_samples <= self.rescore_max_samples:
            self.decoder.start_utt()
            self.decoder.process_raw(bytes(self.utt_audio), False, True)
            self.decoder.end_utt()
            hyp = self.decoder.hyp()
            text = hyp.hypstr.strip() if hyp is not None else ""
        self.utt_audio.clear()
        if not text:
            return
        words = [s for s in self.decoder.seg() if not s.word.startswith(("<", "["))]
        base = self.utt_start / 16.0
        start = base + words[0].start_frame * _FRAME_MS if words else base
        end = base + (words[-1].end_frame + 1) * _FRAME_MS if words else self.samples / 16.0
        self.send(("event", True, text, start, end))
