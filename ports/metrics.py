"""The ``CallMetrics`` port: what the runtime reports for the server to export.

Promise:
    * Every method is synchronous, cheap (called per frame) and never raises.
    * Latencies are milliseconds. Stage names are the :class:`LatencyStage` values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class LatencyStage(StrEnum):
    """Per-turn latency stages recorded by the runtime, in ms."""

    END_OF_SPEECH_TO_FINAL = "end_of_speech_to_final_transcript"
    """User speech stopped (VAD) to final transcript."""
    FINAL_TO_FIRST_TOKEN = "time_to_first_token"  # noqa: S105 (a metric name)
    """Final transcript to first response token."""
    FIRST_TOKEN_TO_FIRST_AUDIO = "time_to_first_audio"  # noqa: S105 (a metric name)
    """First token to first synthesised audio (text-to-speech time to first byte)."""
    FIRST_AUDIO_TO_FIRST_FRAME = "first_audio_to_first_frame"
    """First synthesised audio to first frame sent on the media stream."""
    VOICE_TO_VOICE = "voice_to_voice"
    """User speech stopped to first frame sent: the sum, as far as the server can see."""
    BARGE_IN_REACTION = "barge_in_reaction"
    """Caller speech onset to ``stop_audio()`` called."""


class CallMetrics(Protocol):
    """Counters and histograms the runtime feeds."""

    def call_started(self) -> None:
        """A call began (active calls +1)."""
        ...

    def call_ended(self) -> None:
        """A call ended (active calls -1)."""
        ...

    def frame_in(self) -> None:
        """One inbound media frame was accepted."""
        ...

    def frame_out(self) -> None:
        """One outbound media frame was sent."""
        ...

    def frame_dropped(self, reason: str) -> None:
        """One media frame or message was dropped, e.g. ``"bad_base64"``, ``"too_large"``."""
        ...

    def barge_in(self) -> None:
        """The caller interrupted the agent."""
        ...

    def false_interruption(self) -> None:
        """A barge-in turned out not to be one; the agent resumed."""
        ...

    def latency(self, stage: LatencyStage, ms: float) -> None:
        """Record a per-turn latency in ms."""
        ...

    def provider_error(self, port: str, code: str) -> None:
        """A port's adapter failed with error ``code``."""
        ...
