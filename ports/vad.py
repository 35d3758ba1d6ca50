"""The ``VoiceActivityDetector`` port: per-frame speech probability.

Promise:
    * One detector per call (it may keep state between frames); synchronous and cheap
      (target: tens of microseconds per 20 ms frame), so the runtime calls it inline.
    * ``speech_probability(frame)`` returns 0..1. Binary engines (WebRTC VAD) return 0.0 or 1.0.
    * Frames the engine cannot take (wrong rate or duration) raise
      :class:`~ports.errors.InvalidAudioError`.
    * Smoothing into speech-started and speech-stopped events is the runtime's job, not the
      detector's.
"""

from __future__ import annotations

from typing import Protocol

from ports.audio import AudioFormat, AudioFrame


class VoiceActivityDetector(Protocol):
    """Scores each frame of one call's inbound audio."""

    def speech_probability(self, frame: AudioFrame) -> float:
        """Probability 0..1 that ``frame`` holds speech.

        Raises:
            InvalidAudioError: The engine cannot take this frame's rate or duration.
        """
        ...


class VadFactory(Protocol):
    """Makes a fresh detector for a call's inbound format."""

    def __call__(self, fmt: AudioFormat) -> VoiceActivityDetector:
        """Return a new detector for audio in ``fmt``.

        Raises:
            InvalidAudioError: The engine cannot take ``fmt``.
        """
        ...
