"""FakeSpeechToText: a :class:`ports.SpeechToText` that turns loud audio into scripted words."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from adapters.memory.signals import frame_rms
from ports import (
    AudioFormat,
    AudioFrame,
    InvalidAudioError,
    ParleyError,
    StreamClosedError,
    TranscriptEvent,
)


@dataclass(frozen=True, slots=True)
class ScriptedUtterance:
    """What the fake "hears" for one utterance.

    Attributes:
        text: The final transcript.
        partials: Partial hypotheses in order; empty means "growing prefixes of ``text``,
            one more word per partial".
        confidence: Confidence of the final.
    """

    text: str
    partials: tuple[str, ...] = ()
    confidence: float = 0.9


class FakeSpeechToText:
    """Scripted recognizer: every utterance of speech consumes the next scripted text.

    The rule, per session:

    * A pushed frame is *speech* when ``is_speech(frame)`` is true (default: RMS amplitude of
      at least ``speech_rms`` on the PCM16 scale; silence and quiet noise are ignored).
    * The first speech frame after the previous final opens an utterance; its ``start_ms`` is
      that frame's stream offset (ms of audio pushed before it).
    * Every ``partial_every_ms`` of speech in the open utterance emits the next partial.
    * The final (the full scripted text, ``end_ms`` = audio pushed so far) is emitted on
      ``end_of_speech()``, on ``flush()``, or after ``endpoint_silence_ms`` of non-speech
      audio when that is set (engines that endpoint by themselves).
    * An utterance with less than ``min_speech_ms`` of speech is dropped without a final.
    * When the script is exhausted, further speech yields nothing (like unintelligible noise).

    The script belongs to the instance and is shared by its sessions in the order they
    consume it. ``fail_with`` makes ``events()`` raise that error once ``fail_after_ms`` of
    audio has been pushed (provoke provider failures in tests).

    Args:
        utterances: The script; a ``str`` is an utterance with automatic partials.
        partial_every_ms: Speech duration between partials, ms.
        speech_rms: RMS threshold (PCM16 scale) of the default speech rule.
        is_speech: Custom rule deciding whether a frame is speech.
        min_speech_ms: Minimum speech in an utterance for it to produce a final, ms.
        endpoint_silence_ms: Non-speech after speech that finalises by itself, ms; ``None``
            waits for ``end_of_speech()``/``flush()``.
        fail_with: Error raised by ``events()`` of every session.
        fail_after_ms: Audio pushed before ``fail_with`` is raised, ms.
        language: Reported on events.

    Attributes:
        sessions: Every session opened, in order (for assertions: ``pushed_ms``,
            ``end_of_speech_calls``, ``closed``).
    """

    def __init__(
        self,
        utterances: Iterable[ScriptedUtterance | str] = (),
        *,
        partial_every_ms: float = 200.0,
        speech_rms: float = 500.0,
        is_speech: Callable[[AudioFrame], bool] | None = None,
        min_speech_ms: float = 0.0,
        endpoint_silence_ms: float | None = None,
        fail_with: ParleyError | None = None,
        fail_after_ms: float = 0.0,
        language: str | None = None,
    ) -> None:
        self._script: deque[ScriptedUtterance] = deque(
            ScriptedUtterance(u) if isinstance(u, str) else u for u in utterances
        )
        self.partial_every_ms = partial_every_ms
        self.speech_rms = speech_rms
        self._is_speech = is_speech
        self.min_speech_ms = min_speech_ms
        self.endpoint_silence_ms = endpoint_silence_ms
        self.fail_with = fail_with
        self.fail_after_ms = fail_after_ms
        self.language = language
        self.sessions: list[FakeRecognitionSession] = []

    def add_utterance(self, utterance: ScriptedUtterance | str) -> None:
        """Append an utterance to the script."""
        self._script.append(
            ScriptedUtterance(utterance) if isinstance(utterance, str) else utterance
        )

    @property
    def remaining(self) -> int:
        """Utterances left in the script."""
        return len(self._script)

    def session(self, fmt: AudioFormat, *, language: str | None = None) -> FakeRecognitionSession:
        """Open a recognition session for frames in ``fmt`` (any format is accepted)."""
        session = FakeRecognitionSession(self, fmt, language or self.language)
        self.sessions.append(session)
        return session

    def _speech(self, frame: AudioFrame) -> bool:
        if self._is_speech is not None:
            return self._is_speech(frame)
        return frame_rms(frame) >= self.speech_rms

    def _take(self) -> ScriptedUtterance | None:
        return self._script.popleft() if self._script else None


_END = object()


class FakeRecognitionSession:
    """One session of :class:`FakeSpeechToText`; see there for the recognition rule.

    Attributes:
        format: The session's audio format.
        pushed_ms: Audio pushed so far, ms.
        end_of_speech_calls: How many times ``end_of_speech()`` was called.
        closed: True after ``flush()`` or ``aclose()``.
    """

    def __init__(self, owner: FakeSpeechToText, fmt: AudioFormat, language: str | None) -> None:
        self._owner = owner
        self.format = fmt
        self._language = language
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.pushed_ms = 0.0
        self.end_of_speech_calls = 0
        self.closed = False
        self._failed = False
        self._speech_ms = 0.0
        self._silence_ms = 0.0
        self._start_ms: float | None = None
        self._partials_sent = 0
        self._utterance: ScriptedUtterance | None = None

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
        """Take a frame; may queue a partial or (self-endpointing) a final.

        Raises:
            InvalidAudioError: The frame's format differs from the session's.
            StreamClosedError: The session is closed.
        """
        if self.closed:
            raise StreamClosedError("recognition session is closed")
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"expected {self.format}, got {frame.format}")
        offset = self.pushed_ms
        self.pushed_ms += frame.duration_ms
        owner = self._owner
        if owner.fail_with is not None and not self._failed:
            if self.pushed_ms >= owner.fail_after_ms:
                self._failed = True
                self._queue.put_nowait(owner.fail_with)
            return
        if owner._speech(frame):
            self._silence_ms = 0.0
            if self._start_ms is None:
                self._start_ms = offset
                self._speech_ms = 0.0
                self._partials_sent = 0
                self._utterance = None
            self._speech_ms += frame.duration_ms
            due = int(self._speech_ms // owner.partial_every_ms) if owner.partial_every_ms else 0
            while self._partials_sent < due and self._emit_partial():
                pass
        elif self._start_ms is not None:
            self._silence_ms += frame.duration_ms
            limit = owner.endpoint_silence_ms
            if limit is not None and self._silence_ms >= limit:
                self._finalise(self.pushed_ms - self._silence_ms)

    def end_of_speech(self) -> None:
        """Finalise the open utterance now (the VAD says the caller stopped)."""
        self.end_of_speech_calls += 1
        if not self.closed:
            self._finalise(self.pushed_ms - self._silence_ms)

    async def events(self) -> AsyncIterator[TranscriptEvent]:
        """Partials and finals in order; ends after ``flush()`` or ``aclose()``.

        Raises:
            ParleyError: The owner's ``fail_with``, once ``fail_after_ms`` of audio is pushed.
        """
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, ParleyError):
                raise item
            assert isinstance(item, TranscriptEvent)  # noqa: S101 (queue holds only these)
            yield item

    async def flush(self) -> None:
        """Emit the final of the open utterance (if any), then end ``events()``."""
        if self.closed:
            return
        self._finalise(self.pushed_ms - self._silence_ms)
        self.closed = True
        self._queue.put_nowait(_END)

    async def aclose(self) -> None:
        """Stop at once without a final; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._queue.put_nowait(_END)

    def _current(self) -> ScriptedUtterance | None:
        if self._utterance is None:
            self._utterance = self._owner._take()
        return self._utterance

    def _emit_partial(self) -> bool:
        utterance = self._current()
        if utterance is None:
            return False
        if utterance.partials:
            if self._partials_sent >= len(utterance.partials):
                return False
            text = utterance.partials[self._partials_sent]
        else:
            words = utterance.text.split()
            if self._partials_sent >= len(words):
                return False
            text = " ".join(words[: self._partials_sent + 1])
        self._partials_sent += 1
        assert self._start_ms is not None  # noqa: S101 (only called inside an utterance)
        self._queue.put_nowait(
            TranscriptEvent(
                text=text,
                is_final=False,
                start_ms=self._start_ms,
                end_ms=self.pushed_ms,
                language=self._language,
            )
        )
        return True

    def _finalise(self, end_ms: float) -> None:
        start = self._start_ms
        if start is None:
            return
        speech_ms = self._speech_ms
        self._start_ms = None
        self._silence_ms = 0.0
        if speech_ms < self._owner.min_speech_ms:
            # Too short to be words: give a consumed utterance back to the script.
            if self._utterance is not None:
                self._owner._script.appendleft(self._utterance)
            self._utterance = None
            return
        utterance = self._current()
        self._utterance = None
        if utterance is None or not utterance.text:
            return
        self._queue.put_nowait(
            TranscriptEvent(
                text=utterance.text,
                is_final=True,
                start_ms=start,
                end_ms=end_ms,
                confidence=utterance.confidence,
                language=self._language,
            )
        )
