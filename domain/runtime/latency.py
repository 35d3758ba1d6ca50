"""Per-turn latency (end of the caller's speech to the first frame) and barge-in reaction.

The call marks moments as they happen (speech onset and stop, final transcript, first model
event, the answer's first synthesised audio and first sent frame); when the answer's first
frame leaves, the turn's stages go to ``CallMetrics.latency`` and, as one record, to the
transcript log (``kind="turn_latency"``, ``data`` = stage name -> ms).
"""

from __future__ import annotations

from collections.abc import Callable

from ports import CallMetrics, JsonObject, LatencyStage


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


class LatencyTracker:
    """Follows one call's turns and reports their latency.

    Args:
        metrics: Gets one ``latency(stage, ms)`` per known stage.
        record: Takes the transcript-log ``data`` of each record (the call queues the entry).
    """

    __slots__ = ("_metrics", "_onset_ms", "_record", "_speech_stopped_ms", "_turn")

    def __init__(self, metrics: CallMetrics, record: Callable[[JsonObject], None]) -> None:
        self._metrics = metrics
        self._record = record
        self._onset_ms: float | None = None
        self._speech_stopped_ms: float | None = None
        self._turn: TurnLatency | None = None

    @property
    def onset_ms(self) -> float | None:
        """Onset of the caller's latest speech (the start of a barge-in), ms."""
        return self._onset_ms

    def speech_started(self, onset_ms: float) -> None:
        """The caller started speaking at ``onset_ms``."""
        self._onset_ms = onset_ms
        self._speech_stopped_ms = None

    def speech_stopped(self, now_ms: float) -> None:
        """The caller stopped speaking (VAD end of speech)."""
        self._speech_stopped_ms = now_ms

    def final_transcript(self, now_ms: float) -> None:
        """A final transcript with words arrived: a turn starts (or a merged final moves it)."""
        turn = self._turn
        if turn is not None and turn.first_token_ms is None:
            # Another final of the same turn (merged by the conversation): measure from it.
            turn.final_ms = now_ms
            return
        self._turn = TurnLatency(self._speech_stopped_ms, now_ms)
        self._speech_stopped_ms = None

    def first_token(self, now_ms: float) -> None:
        """A model stream produced its first event."""
        turn = self._turn
        if turn is not None and turn.first_token_ms is None:
            turn.first_token_ms = now_ms

    def speech_queued(self, speech_id: str, response_id: str | None) -> None:
        """A ``Speak`` was queued; the first one of a response after the first token counts."""
        turn = self._turn
        if (
            turn is not None
            and turn.speech_id is None
            and response_id is not None
            and turn.first_token_ms is not None
        ):
            turn.speech_id = speech_id

    def first_audio(self, speech_id: str, now_ms: float) -> None:
        """The first synthesised audio of ``speech_id`` arrived."""
        turn = self._turn
        if turn is not None and turn.speech_id == speech_id and turn.first_audio_ms is None:
            turn.first_audio_ms = now_ms

    def first_frame(self, speech_id: str, now_ms: float) -> None:
        """The first frame of ``speech_id`` left: the turn's record is complete."""
        turn = self._turn
        if turn is None or turn.speech_id != speech_id:
            return
        turn.first_frame_ms = now_ms
        self._turn = None
        stages = turn.stages()
        for stage, ms in stages.items():
            self._metrics.latency(stage, ms)
        self._record(latency_data(stages))

    def barge_in(self) -> None:
        """The answer was interrupted; a turn whose answer never played is dropped."""
        turn = self._turn
        if turn is not None and turn.first_frame_ms is None:
            self._turn = None

    def stop_audio_called(self, onset_ms: float | None, now_ms: float) -> None:
        """``stop_audio()`` is being called for a barge-in whose speech began at ``onset_ms``."""
        if onset_ms is None:
            return
        reaction = max(0.0, now_ms - onset_ms)
        self._metrics.latency(LatencyStage.BARGE_IN_REACTION, reaction)
        self._record({LatencyStage.BARGE_IN_REACTION.value: round(reaction, 1)})
