"""Per-turn latency marks: from the end of the caller's speech to the agent's first frame."""

from __future__ import annotations

from ports import JsonObject, LatencyStage


class TurnLatency:
    """Clock marks (ms) of one user turn, filled in as the turn's answer makes progress.

    Attributes:
        speech_stopped_ms: VAD end of speech, when the turn came from speech.
        final_ms: The (latest) final transcript of the turn.
        first_token_ms: First model event of any response after the final.
        speech_id: The first response speech, once queued.
        first_audio_ms: First synthesised audio of ``speech_id``.
        first_frame_ms: First frame of ``speech_id`` sent.
    """

    __slots__ = (
        "final_ms",
        "first_audio_ms",
        "first_frame_ms",
        "first_token_ms",
        "speech_id",
        "speech_stopped_ms",
    )

    def __init__(self, speech_stopped_ms: float | None, final_ms: float) -> None:
        self.speech_stopped_ms = speech_stopped_ms
        self.final_ms = final_ms
        self.first_token_ms: float | None = None
        self.speech_id: str | None = None
        self.first_audio_ms: float | None = None
        self.first_frame_ms: float | None = None

    def stages(self) -> dict[LatencyStage, float]:
        """Every stage whose two marks are known, in ms (never negative).

        ``VOICE_TO_VOICE`` runs from the end of speech when known, else from the final.
        """
        out: dict[LatencyStage, float] = {}

        def put(stage: LatencyStage, begin: float | None, end: float | None) -> None:
            if begin is not None and end is not None:
                out[stage] = max(0.0, end - begin)

        put(LatencyStage.END_OF_SPEECH_TO_FINAL, self.speech_stopped_ms, self.final_ms)
        put(LatencyStage.FINAL_TO_FIRST_TOKEN, self.final_ms, self.first_token_ms)
        put(LatencyStage.FIRST_TOKEN_TO_FIRST_AUDIO, self.first_token_ms, self.first_audio_ms)
        put(LatencyStage.FIRST_AUDIO_TO_FIRST_FRAME, self.first_audio_ms, self.first_frame_ms)
        origin = self.speech_stopped_ms if self.speech_stopped_ms is not None else self.final_ms
        put(LatencyStage.VOICE_TO_VOICE, origin, self.first_frame_ms)
        return out


def latency_data(stages: dict[LatencyStage, float]) -> JsonObject:
    """The transcript-log ``data`` of a latency record: stage value -> ms, rounded to 0.1."""
    return {stage.value: round(ms, 1) for stage, ms in stages.items()}
