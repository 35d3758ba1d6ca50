"""FakeVad: a :class:`ports.VoiceActivityDetector` from frame energy, or from a script."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from adapters.memory.history import DEFAULT_HISTORY, check_history, remember
from adapters.memory.signals import frame_rms
from ports import AudioFormat, AudioFrame, InvalidAudioError


class FakeVad:
    """Speech probability ``rms / (rms + speech_rms)``, unless a scripted value is pending.

    With the default ``speech_rms`` of 500 (PCM16 scale), digital silence scores 0.0, a frame
    at RMS 500 scores 0.5 and a normal speaking level (RMS 2000+) scores 0.8 or more. Scripted
    probabilities, when given, are returned first, one per frame, in order.

    Args:
        speech_rms: RMS amplitude (PCM16 scale) that scores 0.5.
        script: Probabilities (0..1) to return for the first frames, in order.
        frame_ms: Frame durations (ms) it accepts, like WebRTC VAD's 10/20/30; ``None`` for
            any duration.

    Attributes:
        frames: Frames scored so far.
    """

    def __init__(
        self,
        *,
        speech_rms: float = 500.0,
        script: Iterable[float] = (),
        frame_ms: Collection[float] | None = None,
    ) -> None:
        self.speech_rms = speech_rms
        self._script = deque(script)
        self._frame_ms = frozenset(frame_ms) if frame_ms is not None else None
        self.frames = 0

    def push_script(self, probabilities: Iterable[float]) -> None:
        """Queue more scripted probabilities."""
        self._script.extend(probabilities)

    def speech_probability(self, frame: AudioFrame) -> float:
        """Probability 0..1 that ``frame`` holds speech.

        Raises:
            InvalidAudioError: The frame's duration is not among ``frame_ms``.
        """
        if self._frame_ms is not None and frame.duration_ms not in self._frame_ms:
            raise InvalidAudioError(f"{frame.duration_ms} ms frames are not supported")
        self.frames += 1
        if self._script:
            return min(1.0, max(0.0, self._script.popleft()))
        rms = frame_rms(frame)
        return rms / (rms + self.speech_rms) if rms > 0 else 0.0


class FakeVadFactory:
    """Makes one :class:`FakeVad` per call.

    Args:
        speech_rms: Passed to every detector.
        scripts: Per-detector scripts, used by the detectors in creation order.
        frame_ms: Passed to every detector.
        formats: Formats it accepts; ``None`` for any.
        history: Most recent detectors kept in ``created``.

    Raises:
        ValueError: ``history`` is below 1.

    Attributes:
        created: The last ``history`` detectors made, in order (with the format each was
            made for).
    """

    def __init__(
        self,
        *,
        speech_rms: float = 500.0,
        scripts: Iterable[Iterable[float]] = (),
        frame_ms: Collection[float] | None = None,
        formats: Collection[AudioFormat] | None = None,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        self._history = check_history(history)
        self.speech_rms = speech_rms
        self._scripts = deque(list(s) for s in scripts)
        self._frame_ms = frame_ms
        self._formats = frozenset(formats) if formats is not None else None
        self.created: list[tuple[AudioFormat, FakeVad]] = []

    def __call__(self, fmt: AudioFormat) -> FakeVad:
        """Return a fresh detector for audio in ``fmt``.

        Raises:
            InvalidAudioError: ``fmt`` is not among ``formats``.
        """
        if self._formats is not None and fmt not in self._formats:
            raise InvalidAudioError(f"FakeVad does not take {fmt}")
        script = self._scripts.popleft() if self._scripts else []
        vad = FakeVad(speech_rms=self.speech_rms, script=script, frame_ms=self._frame_ms)
        remember(self.created, (fmt, vad), self._history)
        return vad
