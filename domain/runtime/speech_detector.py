"""Smoothing of per-frame speech probabilities into speech started / stopped transitions."""

from __future__ import annotations

from typing import Final

NO_CHANGE: Final = 0
""":meth:`SpeechDetector.update` result: nothing changed."""
STARTED: Final = 1
""":meth:`SpeechDetector.update` result: user speech started (onset in ``onset_ms``)."""
STOPPED: Final = 2
""":meth:`SpeechDetector.update` result: user speech stopped."""


class SpeechDetector:
    """Hysteresis that turns per-frame speech probabilities into speech started / stopped.

    Speech starts after ``start_ms`` of consecutive frames at or above the threshold and stops
    after ``stop_ms`` of consecutive frames below it.

    Durations are counted in audio time (the frames' own durations), so the decision does not
    depend on how late frames arrive. It runs once per inbound frame and allocates nothing.

    Args:
        threshold: Probability (0..1) at or above which a frame counts as speech.
        start_ms: Speech needed before reporting a start, ms.
        stop_ms: Silence needed before reporting a stop, ms.

    Attributes:
        speaking: Whether the caller is currently speaking (after smoothing).
        onset_ms: Clock time of the first speech frame of the current (or pending) run.
    """

    __slots__ = (
        "_above_ms",
        "_below_ms",
        "_start_ms",
        "_stop_ms",
        "_threshold",
        "onset_ms",
        "speaking",
    )

    def __init__(self, threshold: float, start_ms: float, stop_ms: float) -> None:
        self._threshold = threshold
        self._start_ms = start_ms
        self._stop_ms = stop_ms
        self._above_ms = 0.0
        self._below_ms = 0.0
        self.speaking = False
        self.onset_ms = 0.0

    def update(self, probability: float, duration_ms: float, now_ms: float) -> int:
        """Account one frame.

        Args:
            probability: The frame's speech probability, 0..1.
            duration_ms: The frame's duration, ms.
            now_ms: Clock time the frame arrived, ms (kept as the onset of a new run).

        Returns:
            :data:`NO_CHANGE`, :data:`STARTED` or :data:`STOPPED`.
        """
        if probability >= self._threshold:
            self._below_ms = 0.0
            if self.speaking:
                return NO_CHANGE
            if self._above_ms == 0.0:
                self.onset_ms = now_ms
            self._above_ms += duration_ms
            if self._above_ms >= self._start_ms:
                self.speaking = True
                self._above_ms = 0.0
                return STARTED
            return NO_CHANGE
        self._above_ms = 0.0
        if not self.speaking:
            return NO_CHANGE
        self._below_ms += duration_ms
        if self._below_ms >= self._stop_ms:
            self.speaking = False
            self._below_ms = 0.0
            return STOPPED
        return NO_CHANGE
