"""Realtime mode against the cascade, on the same machine in the same run.

Realtime: N concurrent calls over the real ``azure-ai-voicelive`` SDK to the realtime stand-in
running in a subprocess (``python -m tests.emulators.realtime_standin --scripted``), so the
service's CPU is not this process's. Cascade: N concurrent calls on zero-latency in-memory
engines (the figures of ``bench_runtime.py``, at the same 24 kHz). Both get the same caller
on a real-time schedule (a question, the agent's long answer, a barge-in into it, silence)
with ``min_speech_ms`` 0, so a barge-in is decided on the first speech event.

Figures (the stand-in's own delays are outside every interval measured here):

* framework CPU per 20 ms frame, in and out: this process's CPU time over every frame the
  calls received and sent (realtime: runtime, adapter, JSON and base64, the SDK's socket);
* barge-in: realtime, the service's ``speech_started`` event leaving the adapter to
  ``stop_audio()`` on the media stream; cascade, the frame on which the VAD reports speech
  (the one completing ``speech_start_ms``) to ``stop_audio()``;
* first response audio chunk to first ACS frame: the first audio of an answer reaching the
  output (realtime: a response audio delta; cascade: the first synthesised chunk) to its
  first frame sent.

    python benchmarks/bench_realtime.py                # 10 calls, 12 s each mode
    python benchmarks/bench_realtime.py --calls 50 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.memory import (  # noqa: E402
    FakeSpeechToText,
    FunctionToolExecutor,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
    ScriptedLanguageModel,
    ScriptedTurn,
    tone_frame,
)
from adapters.system.clock import SystemClock  # noqa: E402
from domain.agents import AgentGraph, AgentSpec  # noqa: E402
from domain.policies import BargeInPolicy, ConversationPolicy, EndpointingPolicy  # noqa: E402
from domain.runtime import CallRuntime, RuntimeConfig, RuntimeDeps  # noqa: E402
from domain.runtime.realtime import RealtimeCallRuntime, RealtimeDeps  # noqa: E402
from domain.session import Conversation  # noqa: E402
from ports import (  # noqa: E402
    PCM16_24K,
    AudioFormat,
    AudioFrame,
    AudioReceived,
    CallInfo,
    ChatMessage,
    InboundCall,
    LatencyStage,
    MediaEvent,
    ModelOptions,
    Role,
    SpeechChunk,
    StreamClosed,
    StreamStarted,
    ToolSpec,
    Voice,
)
from ports.realtime import (  # noqa: E402
    InputTranscript,
    RealtimeConfig,
    ResponseAudio,
    ResponseFinished,
    ResponseRequest,
    ResponseStarted,
    ResponseTranscript,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
    TurnDetectionOptions,
)
from tests.emulators.realtime_standin import BENCH_REPLIES  # noqa: E402

FMT = PCM16_24K
FRAME_MS = 20
LOUD = tone_frame(FMT, FRAME_MS, amplitude=3000)
QUIET = tone_frame(FMT, FRAME_MS, amplitude=0)
SPEECH_START_MS = 60.0
LOUD_EVENT = AudioReceived(LOUD)
QUIET_EVENT = AudioReceived(QUIET)


class IdentityVad:
    """Speech when the frame is the loud test frame: no DSP, so the runtime is measured.

    Keeps the time of each frame on which the runtime's smoothing reports speech (the one
    that completes ``speech_start_ms`` of loud frames): the cascade's speech event.
    """

    def __init__(self, detections: list[float]) -> None:
        self._detections = detections
        self._run = 0

    def speech_probability(self, frame: AudioFrame) -> float:
        if frame.data is LOUD.data:
            self._run += 1
            if self._run == int(SPEECH_START_MS // FRAME_MS):
                self._detections.append(time.monotonic() * 1000.0)
            return 1.0
        self._run = 0
        return 0.0


class LeanTextToSpeech:
    """Zero-latency synthesis: one shared 20 ms chunk per 20 ms of speech."""

    def __init__(self, ms_per_char: float = 60.0) -> None:
        self.ms_per_char = ms_per_char

    async def synthesize(self, text: str, *, voice: Voice, fmt: AudioFormat) -> Any:
        for _ in range(int(len(text) * self.ms_per_char // FRAME_MS)):
            yield SpeechChunk(LOUD)


class BenchMedia:
    """A lean MediaStream: inbound queue; outbound counted (``try_send_audio`` as ACS's), stops
    timed."""

    def __init__(self, call_id: str) -> None:
        self.queue: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self.queue.put_nowait(StreamStarted(FMT, call_id))
        self.frames_out = 0
        self.stop_times: list[float] = []
        self.closed = False

    async def events(self) -> AsyncIterator[MediaEvent]:
        while True:
            event = await self.queue.get()
            yield event
            if type(event) is StreamClosed:
                return

    async def send_audio(self, frame: AudioFrame) -> None:
        self.frames_out += 1

    def try_send_audio(self, frame: AudioFrame) -> bool:
        # As AcsMediaStream: a synchronous send, so the process pacer sends every call's
        # frames (ADR 0005), in both modes.
        self.frames_out += 1
        return True

    async def stop_audio(self) -> None:
        self.stop_times.append(time.monotonic() * 1000.0)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(StreamClosed("closed"))


class TimedSession:
    """A realtime session whose speech-started events are timed as they leave the adapter."""

    def __init__(self, inner: Any, speech_times: list[float]) -> None:
        self._inner = inner
        self._speech_times = speech_times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> TimedSession:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    async def events(self) -> AsyncIterator[Any]:
        async for event in self._inner.events():
            if type(event) is SpeechStarted:
                self._speech_times.append(time.monotonic() * 1000.0)
            yield event


class LeanRealtimeSession:
    """A zero-cost realtime service in this process, as the cascade's engines are zero-cost.

    Speech is the loud test frame (an identity check, as :class:`IdentityVad`): its first frame
    gives ``SpeechStarted``, 300 ms of other frames ``SpeechStopped`` and the final transcript.
    ``create_response`` streams the next of ``BENCH_REPLIES`` as the stand-in does: 100 ms
    audio deltas (one shared buffer, 60 ms of audio per character as :class:`LeanTextToSpeech`)
    in real time, each after its words. With it the realtime column measures the runtime,
    the domain and the pacer, and no service connection (the SDK column adds that).
    """

    DELTA_MS = 100

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._responses = 0
        self._audio_ms = 0.0
        self._speaking = False
        self._quiet_ms = 0.0
        self._items = 0
        self._response: asyncio.Task[None] | None = None
        delta = fmt.frame_bytes(self.DELTA_MS)
        self._delta = AudioFrame(bytes(LOUD.data * (delta // len(LOUD.data) + 1))[:delta], fmt)

    async def __aenter__(self) -> LeanRealtimeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def dropped_events(self) -> int:
        return 0

    def push_audio(self, frame: AudioFrame) -> None:
        at = self._audio_ms
        self._audio_ms += frame.duration_ms
        if frame.data is LOUD.data:
            self._quiet_ms = 0.0
            if not self._speaking:
                self._speaking = True
                self._items += 1
                self._queue.put_nowait(SpeechStarted(at, f"user-{self._items}"))
        elif self._speaking:
            self._quiet_ms += frame.duration_ms
            if self._quiet_ms >= 300.0:
                self._speaking = False
                item = f"user-{self._items}"
                self._queue.put_nowait(SpeechStopped(self._audio_ms, item))
                self._queue.put_nowait(InputTranscript(item, "what is my balance", True))

    async def events(self) -> AsyncIterator[Any]:
        while True:
            yield await self._queue.get()

    async def create_response(self, request: ResponseRequest) -> None:
        self._responses += 1
        text = request.line or BENCH_REPLIES[(self._responses - 1) % 2]
        self._response = asyncio.get_running_loop().create_task(
            self._stream(f"resp-{self._responses}", text)
        )

    async def _stream(self, rid: str, text: str) -> None:
        item = f"{rid}-item"
        put = self._queue.put_nowait
        put(ResponseStarted(rid))
        words = text.split()
        pieces = max(1, int(len(text) * 60.0 // self.DELTA_MS))
        per_piece = max(1, len(words) // pieces + 1)
        try:
            for index in range(pieces):
                chunk = words[index * per_piece : (index + 1) * per_piece]
                if chunk:
                    put(ResponseTranscript(rid, item, " ".join(chunk) + " "))
                put(ResponseAudio(rid, item, self._delta))
                await asyncio.sleep(self.DELTA_MS / 1000.0)
        except asyncio.CancelledError:
            put(ResponseFinished(rid, "cancelled"))
            raise
        put(ResponseFinished(rid, "completed"))

    async def cancel_response(self) -> None:
        if self._response is not None and not self._response.done():
            self._response.cancel()

    async def update(self, config: RealtimeConfig) -> None:
        return None

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        return None

    async def send_tool_output(self, call_id: str, output: str) -> None:
        return None

    async def add_messages(self, messages: Sequence[ChatMessage]) -> None:
        return None

    async def commit_input(self) -> None:
        return None

    async def clear_input(self) -> None:
        return None

    async def aclose(self) -> None:
        if self._response is not None:
            self._response.cancel()


class LeanRealtimeModel:
    """Makes :class:`LeanRealtimeSession` sessions (speech events timed like the SDK's)."""

    name = "lean"

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> LeanRealtimeSession:
        return LeanRealtimeSession(fmt)


class TimedModel:
    """Wraps a realtime model so that each call's sessions are timed."""

    name = "voicelive"

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.speech_times: dict[int, list[float]] = {}

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> TimedSession:
        times: list[float] = []
        self.speech_times[len(self.speech_times)] = times
        return TimedSession(self._inner.session(config, fmt), times)


def caller_cycle() -> list[bool]:
    """One 7 s cycle: question (800 ms), silence into the long answer, barge-in (700 ms)."""
    pattern = [(True, 800), (False, 2200), (True, 700), (False, 3300)]
    frames: list[bool] = []
    for loud, ms in pattern:
        frames.extend([loud] * (ms // FRAME_MS))
    return frames


def responder(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
) -> ScriptedTurn:
    users = sum(1 for m in messages if m.role is Role.USER)
    return ScriptedTurn(text=BENCH_REPLIES[(users - 1) % 2])


def conversation() -> Conversation:
    agent = AgentSpec("desk", greeting="")
    policy = ConversationPolicy(
        barge_in=BargeInPolicy(min_speech_ms=0.0, resume_false_interruption=False),
        endpointing=EndpointingPolicy(end_of_turn_grace_ms=0.0),
    )
    return Conversation(AgentGraph("desk", (agent,)), policy)


def deps(
    metrics: RecordingMetrics, clock: SystemClock, detections: dict[int, list[float]]
) -> RuntimeDeps:
    def vad_factory(fmt: AudioFormat) -> IdentityVad:
        times: list[float] = []
        detections[len(detections)] = times
        return IdentityVad(times)

    return RuntimeDeps(
        stt=FakeSpeechToText(["what is my balance"] * 1000),
        tts=LeanTextToSpeech(),
        llm=ScriptedLanguageModel(responder=responder),
        vad_factory=vad_factory,
        tools=FunctionToolExecutor(),
        sessions=MemorySessionStore(clock),
        transcripts=MemoryTranscriptLog(clock),
        clock=clock,
        metrics=metrics,
    )


async def feed(media: BenchMedia, seconds: float, offset_ms: float) -> int:
    """The caller's frames on a real-time schedule; returns frames sent."""
    cycle = caller_cycle()
    loop = asyncio.get_running_loop()
    start = loop.time() + offset_ms / 1000.0
    total = int(seconds * 1000 // FRAME_MS)
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n * FRAME_MS / 1000.0 - loop.time()))
        media.queue.put_nowait(LOUD_EVENT if cycle[n % len(cycle)] else QUIET_EVENT)
    await media.close()
    return total


async def run_mode(realtime: Any, calls: int, seconds: float) -> dict[str, Any]:
    clock = SystemClock()
    metrics = RecordingMetrics()
    config = RuntimeConfig(speech_start_ms=SPEECH_START_MS, speech_stop_ms=300.0)
    detections: dict[int, list[float]] = {}
    ports = deps(metrics, clock, detections)
    if realtime is None:
        runtime: Any = CallRuntime(conversation(), ports, config)
    else:
        runtime = RealtimeCallRuntime(conversation(), ports, realtime, config)
    medias = [BenchMedia(f"call-{i}") for i in range(calls)]
    handles = [
        asyncio.create_task(runtime.handle_call(InboundCall(CallInfo(f"call-{i}"), media)))
        for i, media in enumerate(medias)
    ]
    await asyncio.sleep(1.0)  # sessions open, greetings (none) settle
    cpu0 = time.process_time()
    frames_in = sum(
        await asyncio.gather(*(feed(m, seconds, (i % 20) * 1.0) for i, m in enumerate(medias)))
    )
    cpu = time.process_time() - cpu0
    await asyncio.gather(*handles, return_exceptions=True)
    frames_out = sum(m.frames_out for m in medias)
    return {
        "cpu_us_per_frame": cpu * 1e6 / max(1, frames_in + frames_out),
        "frames_in": frames_in,
        "frames_out": frames_out,
        "medias": medias,
        "metrics": metrics,
        "detections": detections,
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def barge_ins(speech_times: dict[int, list[float]], medias: list[BenchMedia]) -> list[float]:
    """Per StopAudio: ms since the speech event before it (same call)."""
    out = []
    for index, media in enumerate(medias):
        speech = speech_times.get(index, [])
        for stop in media.stop_times:
            before = [t for t in speech if t <= stop]
            if before:
                out.append(stop - before[-1])
    return out


def start_standin() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(  # noqa: S603 (our own module)
        [sys.executable, "-m", "tests.emulators.realtime_standin", "--scripted"],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    endpoint = line.split("AZURE_VOICELIVE_ENDPOINT=")[1].split()[0]
    return proc, endpoint


async def main_async(calls: int, seconds: float, chunk_ms: int) -> None:
    from azure.core.credentials import AzureKeyCredential

    from adapters.realtime.voicelive import VoiceLiveRealtimeModel
    from tests.emulators.realtime_standin import API_KEY

    base = RealtimeConfig(
        turn_detection=TurnDetectionOptions(
            TurnDetection.SERVER_VAD, prefix_padding_ms=0, silence_duration_ms=300
        )
    )
    lean_model = TimedModel(LeanRealtimeModel())
    lean = await run_mode(RealtimeDeps(lean_model, base), calls, seconds)
    proc, endpoint = start_standin()
    try:
        model = TimedModel(
            VoiceLiveRealtimeModel(
                endpoint, AzureKeyCredential(API_KEY), "bench", input_chunk_ms=chunk_ms
            )
        )
        realtime = await run_mode(RealtimeDeps(model, base), calls, seconds)
        cascade = await run_mode(None, calls, seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    modes = (
        (lean, barge_ins(lean_model.speech_times, lean["medias"])),
        (realtime, barge_ins(model.speech_times, realtime["medias"])),
        (cascade, barge_ins(cascade["detections"], cascade["medias"])),
    )
    stage = LatencyStage.FIRST_AUDIO_TO_FIRST_FRAME
    rows = [
        (
            "framework CPU per 20 ms frame (in+out), us",
            [m["cpu_us_per_frame"] for m, _ in modes],
            "in-process realtime <= cascade",
        ),
        ("barge-in: speech event -> StopAudio, p50 ms", [pct(b, 50) for _, b in modes], "< 5 ms"),
        ("barge-in: speech event -> StopAudio, p95 ms", [pct(b, 95) for _, b in modes], "< 5 ms"),
        (
            "first audio chunk -> first frame, p50 ms",
            [pct(m["metrics"].latencies[stage], 50) for m, _ in modes],
            "< 5 ms",
        ),
        (
            "first audio chunk -> first frame, p95 ms",
            [pct(m["metrics"].latencies[stage], 95) for m, _ in modes],
            "< 5 ms",
        ),
    ]
    out = sys.stdout
    out.write(
        f"\nrealtime (a zero-cost service in this process; the Voice Live SDK -> stand-in"
        f" subprocess) vs cascade (in-memory engines): {calls} calls x {seconds:.0f} s each,"
        f" 24 kHz, SDK appends of {chunk_ms} ms\n"
    )
    out.write(f"{'figure':46} {'realtime':>10} {'rt (SDK)':>10} {'cascade':>10}  target\n")
    for name, values, target in rows:
        cells = " ".join(f"{v:10.1f}" for v in values)
        out.write(f"{name:46} {cells}  {target}\n")
    counts = ", ".join(
        f"{label} {m['frames_in']}/{m['frames_out']} ({len(b)} barge-ins)"
        for label, (m, b) in zip(("realtime", "rt (SDK)", "cascade"), modes, strict=True)
    )
    out.write(f"frames in/out: {counts}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--chunk-ms", type=int, default=40, help="PARLEY_REALTIME_INPUT_CHUNK_MS")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args.calls, args.duration, args.chunk_ms))


if __name__ == "__main__":
    main()
