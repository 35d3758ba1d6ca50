"""Audio for contract cases (the ``parley_audio`` fixture): silence, tones, a spoken-like burst.

Engines that recognise real speech need real recordings (Parley's own cases read
``shared/audio`` clips); scripted or echo adapters can use these synthetic frames.
"""

from __future__ import annotations

from adapters.memory import tone_frames
from bootstrap.contract.helpers import silence
from ports import PCM16_16K, AudioFormat, AudioFrame

__all__ = ["silence", "tone", "utterance"]


def tone(
    fmt: AudioFormat = PCM16_16K, duration_ms: int = 1000, *, start_ms: float = 0.0
) -> list[AudioFrame]:
    """Loud 20 ms frames of a 440 Hz tone for ``duration_ms`` (speech to an energy detector)."""
    return tone_frames(fmt, duration_ms, start_ms=start_ms)


def utterance(
    fmt: AudioFormat = PCM16_16K,
    speech_ms: int = 1200,
    *,
    before_ms: int = 200,
    after_ms: int = 300,
) -> list[AudioFrame]:
    """Silence, a tone of ``speech_ms``, silence: one "utterance", timestamps in order (ms)."""
    return (
        tone_frames(fmt, before_ms, amplitude=0)
        + tone_frames(fmt, speech_ms, start_ms=float(before_ms))
        + tone_frames(fmt, after_ms, amplitude=0, start_ms=float(before_ms + speech_ms))
    )
