"""Runtime configuration and the ports one call runtime drives."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ports import (
    BeepDetectorFactory,
    CallControl,
    CallMetrics,
    Clock,
    EndOfTurnDetector,
    LanguageModel,
    SessionStore,
    SpeechToText,
    TextToSpeech,
    ToolExecutor,
    TranscriptLog,
    VadFactory,
)
from ports.tracing import NoTracing, Tracing


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Tuning of the call runtime: VAD smoothing, pacing and timeouts.

    Every duration is in milliseconds. Timeouts that decide behaviour (the language model's
    first-token and between-event deadlines, timers, the media idle watchdog) run on the
    injected :class:`~ports.Clock`, so tests can step them; the rest are safety nets around
    single port calls and use the event loop's time.

    Attributes:
        vad_threshold: Speech probability (0..1) at or above which a frame counts as speech.
        speech_start_ms: Speech must last this long above the threshold before the runtime
            reports user speech started; the event carries the onset time.
        speech_stop_ms: Silence must last this long before the runtime reports user speech
            stopped (and hints end of speech to speech-to-text).
        frame_ms: Duration of each outbound frame (20 on every ACS path).
        pacing_lead_ms: How far ahead of real-time playback the sender may run; the far end
            buffers at most this much, so stop-audio has little to clear.
        pacing_batch_ms: One tick of the process's pacer also sends frames due within this
            many ms after it (they leave at most this much early); bounds the pacer's
            wake-ups to ``1000 / pacing_batch_ms`` per second whatever the number of calls.
        progress_interval_ms: Audio between two playback-progress events of a speech whose
            engine gave no word boundaries; with boundaries, progress is reported whenever a
            new word has been sent (and so carries the exact played text).
        synth_ahead_ms: Synthesised but unsent audio above which synthesis waits for the sender
            (bounds memory per call on long replies).
        first_token_timeout_ms: Deadline from response start to the model's first event.
        token_timeout_ms: Deadline between two model events after the first.
        tts_chunk_timeout_ms: Deadline for each synthesised chunk.
        port_timeout_ms: Deadline for single port calls (stop-audio, call control, stores,
            closing sessions and streams).
        send_timeout_ms: Deadline for one ``send_audio``.
        tool_timeout_margin_ms: Added to a tool's own timeout for the runtime's safety net.
        stream_start_timeout_ms: Deadline for the media stream's ``StreamStarted``.
        media_idle_timeout_ms: The call ends when no media event arrives for this long;
            ``0`` disables the watchdog.
        drain_timeout_ms: Longest wait for queued speech to play before a hang-up or transfer.
        save_debounce_ms: Session saves within this window are merged into one write.
        stt_max_restarts: Times a failed speech-to-text session is reopened in one call.
        watchdog_tick_ms: Period of the per-call watchdog that enforces the deadlines of hot
            awaits (sends, synthesis chunks, model events, media reads) and so their precision.
        shutdown_timeout_ms: Longest wait for cancelled tasks at call end.
        consult_timeout_ms: How long a warm transfer's person may take to answer.
        language: BCP-47 recognition language, ``None`` for the adapter's default.

    Raises:
        ValueError: A duration is negative or not finite, or the threshold is outside 0..1;
            the message names the field.
    """

    vad_threshold: float = 0.5
    speech_start_ms: float = 60.0
    speech_stop_ms: float = 500.0
    frame_ms: int = 20
    pacing_lead_ms: float = 100.0
    pacing_batch_ms: float = 2.0
    progress_interval_ms: float = 100.0
    synth_ahead_ms: float = 3000.0
    first_token_timeout_ms: float = 8000.0
    token_timeout_ms: float = 5000.0
    tts_chunk_timeout_ms: float = 5000.0
    port_timeout_ms: float = 5000.0
    send_timeout_ms: float = 1000.0
    tool_timeout_margin_ms: float = 1000.0
    stream_start_timeout_ms: float = 10000.0
    media_idle_timeout_ms: float = 60000.0
    drain_timeout_ms: float = 30000.0
    save_debounce_ms: float = 500.0
    stt_max_restarts: int = 2
    watchdog_tick_ms: float = 500.0
    shutdown_timeout_ms: float = 2000.0
    consult_timeout_ms: float = 30000.0
    language: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.vad_threshold <= 1.0:
            raise ValueError(
                f"RuntimeConfig.vad_threshold must be in 0..1, got {self.vad_threshold}"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("vad_threshold", "language") or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and (value < 0 or not math.isfinite(value)):
                raise ValueError(f"RuntimeConfig.{f.name} must be a finite value >= 0, got {value}")
        if self.watchdog_tick_ms <= 0:
            raise ValueError(
                f"RuntimeConfig.watchdog_tick_ms must be positive, got {self.watchdog_tick_ms}"
            )
        if self.frame_ms <= 0:
            raise ValueError(f"RuntimeConfig.frame_ms must be positive, got {self.frame_ms}")


@dataclass(frozen=True, slots=True)
class RuntimeDeps:
    """The ports one call runtime drives; shared by every call of a process.

    Attributes:
        stt: Speech-to-text; one recognition session per call.
        tts: Text-to-speech.
        llm: The language model.
        vad_factory: Makes one voice activity detector per call.
        tools: Tool registry and runner.
        sessions: Session state store.
        transcripts: Transcript log (messages and per-turn latency records).
        clock: Time source; all sleeping and behavioural deadlines go through it.
        metrics: Counters and latency histograms.
        call_control: Telephony operations for calls with ``CallInfo.telephony``; ``None``
            when the process has no telephony (browser and test calls).
        tracing: One trace per call, fed from the runtime's hooks (default: none).
        end_of_turn: The end-of-turn model asked at each pause of the caller (default: none;
            the domain's endpointing policy then takes each final at once).
        beep_detectors: Makes a beep detector per outbound call (voicemail beeps); None
            leaves the beep to the outbound policy's ``beep_timeout_ms``.
    """

    stt: SpeechToText
    tts: TextToSpeech
    llm: LanguageModel
    vad_factory: VadFactory
    tools: ToolExecutor
    sessions: SessionStore
    transcripts: TranscriptLog
    clock: Clock
    metrics: CallMetrics
    call_control: CallControl | None = None
    tracing: Tracing = NoTracing()
    end_of_turn: EndOfTurnDetector | None = None
    beep_detectors: BeepDetectorFactory | None = None
