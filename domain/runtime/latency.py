"""Per-turn latency (end of the caller's speech to the first frame) and barge-in reaction.

The call marks moments as they happen (speech onset and stop, final transcript, first model
event, the answer's first synthesised audio and first sent frame); when the answer's first
frame leaves, the turn's stages go to ``CallMetrics.latency`` and, as one record, to the
transcript log (``kind="turn_latency"``, ``data`` = stage name -> ms, plus ``"marks"``: the
clock times, ms, the stages were measured between, so that a report can place the record on
the call's timeline and attribute it to the caller turn it answers).

Barge-in reaction runs from the caller's speech onset *during the agent's audio* to the
``stop_audio()`` call: when the caller was already speaking as the interrupted reply began
(a long utterance answered mid-way), it counts from the reply's first frame, not from the
start of the utterance.
"""

from __future__ import annotations

from collections.abc import Callable

from ports import CallMetrics, JsonObject, LatencyStage
from ports.tracing import NO_CALL_TRACE, CallTrace


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

    def marks(self) -> JsonObject:
        """The known clock marks (ms, rounded to 0.1) by name, for the record's ``"marks"``."""
        named = (
            ("speech_stopped", self.speech_stopped_ms),
            ("final", self.final_ms),
            ("first_token", self.first_token_ms),
            ("first_audio", self.first_audio_ms),
            ("first_frame", self.first_frame_ms),
        )
        return {name: round(ms, 1) for name, ms in named if ms is not None}


def latency_data(stages: dict[LatencyStage, float]) -> JsonObject:
    """The transcript-log ``data`` of a latency record: stage value -> ms, rounded to 0.1."""
    return {stage.value: round(ms, 1) for stage, ms in stages.items()}


class LatencyTracker:
    """Follows one call's turns and reports their latency.

    Args:
        metrics: Gets one ``latency(stage, ms)`` per known stage.
        record: Takes the transcript-log ``data`` of each record (the call queues the entry).

    Attributes:
        trace: The call's trace; gets speech onset, each final and each answered turn.
    """

    __slots__ = (
        "_agent_since_ms",
        "_metrics",
        "_onset_ms",
        "_record",
        "_speech_stopped_ms",
        "_turn",
        "trace",
    )

    def __init__(self, metrics: CallMetrics, record: Callable[[JsonObject], None]) -> None:
        self._metrics = metrics
        self._record = record
        self._onset_ms: float | None = None
        self._speech_stopped_ms: float | None = None
        self._turn: TurnLatency | None = None
        self._agent_since_ms: float | None = None
        self.trace: CallTrace = NO_CALL_TRACE

    @property
    def onset_ms(self) -> float | None:
        """Onset of the caller's latest speech, ms."""
        return self._onset_ms

    @property
    def barge_in_onset_ms(self) -> float | None:
        """Onset of the caller's speech over the agent's audio (the start of a barge-in), ms.

        The later of the caller's latest speech onset and the first frame of the agent audio
        now playing: speech that began before the agent started talking only overlaps it
        from that first frame on. ``None`` without a speech onset.
        """
        onset = self._onset_ms
        since = self._agent_since_ms
        if onset is None or since is None:
            return onset
        return max(onset, since)

    def speech_started(self, onset_ms: float) -> None:
        """The caller started speaking at ``onset_ms``."""
        self._onset_ms = onset_ms
        self._speech_stopped_ms = None
        self.trace.speech_started(onset_ms)

    def speech_stopped(self, now_ms: float) -> None:
        """The caller stopped speaking (VAD end of speech)."""
        self._speech_stopped_ms = now_ms

    def final_transcript(self, now_ms: float, words: int = 0) -> None:
        """A final transcript with ``words`` words arrived: a turn starts (or moves, merged)."""
        self.trace.final_transcript(now_ms, words=words)
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
        if self._agent_since_ms is None:
            self._agent_since_ms = now_ms
        turn = self._turn
        if turn is None or turn.speech_id != speech_id:
            return
        turn.first_frame_ms = now_ms
        self._turn = None
        self.trace.turn_answered(now_ms)
        stages = turn.stages()
        for stage, ms in stages.items():
            self._metrics.latency(stage, ms)
        data = latency_data(stages)
        data["marks"] = turn.marks()
        self._record(data)

    def agent_silent(self) -> None:
        """Nothing of the agent's is queued to play any more (the next frame starts anew)."""
        self._agent_since_ms = None

    def barge_in(self, at_ms: float) -> None:
        """The answer was interrupted at ``at_ms`` (the time of the event that decided it).

        A turn whose final came before the barge-in and whose answer never played is
        dropped; a turn begun by the very final that triggered the barge-in (final at
        ``at_ms``) is the new turn and keeps its record.
        """
        self._agent_since_ms = None
        turn = self._turn
        if turn is not None and turn.first_frame_ms is None and turn.final_ms < at_ms:
            self._turn = None

    def stop_audio_called(self, onset_ms: float | None, now_ms: float) -> None:
        """``stop_audio()`` is being called for a barge-in whose speech began at ``onset_ms``.

        ``onset_ms`` is :attr:`barge_in_onset_ms` as it was when the barge-in was decided.
        """
        if onset_ms is None:
            return
        reaction = max(0.0, now_ms - onset_ms)
        self._metrics.latency(LatencyStage.BARGE_IN_REACTION, reaction)
        self._record(
            {
                LatencyStage.BARGE_IN_REACTION.value: round(reaction, 1),
                "marks": {"onset": round(onset_ms, 1), "stop_audio": round(now_ms, 1)},
            }
        )
