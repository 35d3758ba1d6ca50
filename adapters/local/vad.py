"""WebRTC voice activity detection (``webrtcvad-wheels``) behind ``ports.VoiceActivityDetector``.

webrtcvad takes 10, 20 or 30 ms frames of mono PCM16 at 8, 16, 32 or 48 kHz
(py-webrtcvad README). Other inputs are adapted per detector: mu-law is decoded, and other
rates (ACS's 24 kHz) are resampled to 16 kHz by a stateful resampler from
:mod:`adapters.audio`. The frame duration must still be 10, 20 or 30 ms.
"""

from __future__ import annotations

from adapters.audio import FormatConverter
from adapters.local._imports import require
from ports import AudioEncoding, AudioFormat, AudioFrame, InvalidAudioError

_webrtcvad = require("webrtcvad", "webrtcvad-wheels")

NATIVE_RATES_HZ = (8000, 16000, 32000, 48000)
"""Sample rates webrtcvad takes directly."""

FRAME_MS = (10, 20, 30)
"""Frame durations webrtcvad takes, ms."""


class WebRtcVad:
    """One call's detector: 1.0 for a speech frame, 0.0 otherwise.

    Args:
        fmt: Format of the frames the call will pass.
        aggressiveness: 0 (least aggressive about filtering out non-speech) to 3 (most).

    Raises:
        ValueError: ``aggressiveness`` outside 0..3.
    """

    def __init__(self, fmt: AudioFormat, aggressiveness: int = 2) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"webrtcvad aggressiveness must be 0..3, got {aggressiveness}")
        self.format = fmt
        self._vad = _webrtcvad.Vad(aggressiveness)
        native = fmt.sample_rate_hz in NATIVE_RATES_HZ
        self._rate = fmt.sample_rate_hz if native else 16000
        target = AudioFormat(self._rate, 1, AudioEncoding.PCM16)
        self._converter = None if fmt == target else FormatConverter(fmt, target)
        self._pending = b""
        self._last = 0.0

    def speech_probability(self, frame: AudioFrame) -> float:
        """Score one 10, 20 or 30 ms frame.

        Returns:
            1.0 for speech, 0.0 for non-speech. When resampling, the first frame may return
            the previous decision (0.0) while the resampler primes (a few samples).

        Raises:
            InvalidAudioError: The frame's format differs from the detector's, or its
                duration is not 10, 20 or 30 ms.
        """
        if frame.format is not self.format and frame.format != self.format:
            raise InvalidAudioError(f"VAD got a frame in {frame.format}, expected {self.format}")
        duration = frame.duration_ms
        if not any(abs(duration - ms) < 1e-6 for ms in FRAME_MS):
            raise InvalidAudioError(
                f"webrtcvad takes 10, 20 or 30 ms frames, got {duration:g} ms"
                f" ({len(frame.data)} bytes at {frame.format.sample_rate_hz} Hz)"
            )
        if self._converter is None:
            return self._score(frame.data)
        # After resampling the sizes drift by a few samples; score whole frames as they fill.
        self._pending += self._converter.convert(frame).data
        size = self._rate * int(round(duration)) // 1000 * 2
        while len(self._pending) >= size:
            self._last = self._score(self._pending[:size])
            self._pending = self._pending[size:]
        return self._last

    def _score(self, pcm16: bytes) -> float:
        try:
            speech = self._vad.is_speech(pcm16, self._rate)
        except Exception as exc:  # webrtcvad raises a bare Exception on a bad frame
            raise InvalidAudioError(f"webrtcvad refused the frame: {exc}") from exc
        self._last = 1.0 if speech else 0.0
        return self._last


class WebRtcVadFactory:
    """Makes a :class:`WebRtcVad` per call (``ports.VadFactory``).

    Args:
        aggressiveness: 0..3, passed to every detector (3 filters the most non-speech).

    Raises:
        ValueError: ``aggressiveness`` outside 0..3.
    """

    def __init__(self, aggressiveness: int = 2) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"webrtcvad aggressiveness must be 0..3, got {aggressiveness}")
        self.aggressiveness = aggressiveness

    def __call__(self, fmt: AudioFormat) -> WebRtcVad:
        """Return a new detector for audio in ``fmt`` (any rate; see the module docstring)."""
        return WebRtcVad(fmt, self.aggressiveness)
