"""Call runtime at scale: N concurrent in-process calls on zero-latency fakes, in real time.

Each call gets 20 ms caller frames on a real-time schedule (SystemClock), with a scripted
caller: a question, the agent's long answer, a barge-in 1.3 s into it, then a short answer;
repeated for the whole duration. Engines are in-memory fakes with no latency, and the frame
classifiers are identity checks, so the figures are the runtime's (plus the in-process media
queue and fakes), not an engine's.

Prints a table: CPU per inbound frame per call, event-loop lag, barge-in overhead beyond the
policy window, final transcript to first outbound frame, memory per call.

    python benchmarks/bench_runtime.py                 # 100 calls, 10 s
    python benchmarks/bench_runtime.py --calls 500     # the scale target
    python benchmarks/bench_runtime.py --calls 500 --duration 20
    python benchmarks/bench_runtime.py --calls 500 --tune-gc   # fewer, shorter GC pauses
    python benchmarks/bench_runtime.py --tracing               # OpenTelemetry spans on
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import random
import re
import statistics
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.memory import (  # noqa: E402
    FakeSpeechToText,
    FunctionToolExecutor,
    ManualClock,
    MemorySessionStore,
    MemoryTranscriptLog,
    RecordingMetrics,
    ScriptedLanguageModel,
    ScriptedTurn,
    tone_frame,
)
from adapters.system.clock import SystemClock  # noqa: E402
from domain.agents import AgentGraph, AgentSpec  # noqa: E402
from domain.policies import BargeInPolicy, ConversationPolicy  # noqa: E402
from domain.runtime import CallRuntime, RuntimeConfig, RuntimeDeps  # noqa: E402
from domain.session import Conversation  # noqa: E402
from ports import (  # noqa: E402
    PCM16_16K,
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
    WordBoundary,
)

FRAME_MS = 20
GROUPS = 20  # calls are fed in 20 phase groups, 1 ms apart, as real calls arrive at any phase
MIN_SPEECH_MS = 300.0
LONG_REPLY = (
    "Your current balance is one thousand two hundred dollars. Your last payment was received"
    " on Monday. Is there anything else I can help you with today?"
)
SHORT_REPLY = "Sure, happy to help."
FMT = PCM16_16K
LOUD = tone_frame(FMT, FRAME_MS, amplitude=3000)
QUIET = tone_frame(FMT, FRAME_MS, amplitude=0)


class IdentityVad:
    """Speech when the frame is the loud test frame: no DSP, so the runtime is measured."""

    def speech_probability(self, frame: AudioFrame) -> float:
        return 1.0 if frame.data is LOUD.data else 0.0


class LeanTextToSpeech:
    """Zero-latency synthesis: one shared 20 ms chunk per 20 ms of speech, with word boundaries.

    ``FakeTextToSpeech`` slices a fresh tone per chunk; this reuses one frame so the figures
    show the runtime's cost, not the fake's.
    """

    def __init__(self, ms_per_char: float) -> None:
        self.ms_per_char = ms_per_char
        self.chunk = AudioFrame(LOUD.data, FMT)

    async def synthesize(
        self, text: str, *, voice: Voice, fmt: AudioFormat
    ) -> AsyncGenerator[SpeechChunk, None]:
        words = [
            WordBoundary(m.start(), len(m.group()), m.start() * self.ms_per_char)
            for m in re.finditer(r"\S+", text)
        ]
        chunks = int(len(text) * self.ms_per_char // FRAME_MS)
        w = 0
        for k in range(chunks):
            end = (k + 1) * FRAME_MS
            start = w
            while w < len(words) and words[w].audio_offset_ms < end:
                w += 1
            yield SpeechChunk(self.chunk, tuple(words[start:w]) if w > start else ())


def vad_factory(fmt: AudioFormat) -> IdentityVad:
    return IdentityVad()


class BenchMedia:
    """A lean MediaStream: an inbound queue, outbound counted and time-stamped (not stored)."""

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
        # As the ACS stream on `parley serve`: sent at once, so the process pacer sends it.
        self.frames_out += 1
        return True

    async def stop_audio(self) -> None:
        self.stop_times.append(time.monotonic() * 1000.0)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(StreamClosed("closed"))


def responder(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
) -> ScriptedTurn:
    users = sum(1 for m in messages if m.role is Role.USER)
    return ScriptedTurn(text=LONG_REPLY if users % 2 else SHORT_REPLY)


# The caller's part of one 6 s cycle, in frames: question (800 ms), silence while the long
# answer starts, barge-in speech 1300 ms into the answer (700 ms), silence for the short answer.
def caller_cycle() -> list[bool]:
    pattern: list[tuple[bool, int]] = [(True, 800), (False, 1800), (True, 700), (False, 2700)]
    frames: list[bool] = []
    for loud, ms in pattern:
        frames.extend([loud] * (ms // FRAME_MS))
    return frames


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def lag_monitor(stop: asyncio.Event, lags: list[float], period_s: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + period_s
        await asyncio.sleep(period_s)
        lags.append(max(0.0, (loop.time() - expected) * 1000.0))


async def drain(media: BenchMedia) -> None:
    """Baseline consumer: reads the media events and does nothing else."""
    async for _ in media.events():
        pass


def make_tracing(enabled: bool) -> dict[str, object]:
    """RuntimeDeps extras: OpenTelemetry tracing into a discarding exporter behind the batch
    processor (as in production, minus the network), or nothing."""
    if not enabled:
        return {}
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from adapters.otel import OtelTracing
    from adapters.otel.setup import make_provider

    class Discard(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    return {"tracing": OtelTracing(make_provider(Discard()))}


async def run(
    calls: int,
    duration_s: float,
    listen_only: bool,
    baseline: bool = False,
    extras: dict[str, object] | None = None,
) -> dict[str, float]:
    clock = SystemClock()
    agent = AgentSpec(name="concierge", greeting="" if listen_only else "Hello, how can I help?")
    policy = ConversationPolicy(barge_in=BargeInPolicy(min_speech_ms=MIN_SPEECH_MS))
    conversation = Conversation(AgentGraph(start="concierge", agents=(agent,)), policy)
    utterances = ["I have a question about my account", "wait, stop please"] * (
        calls * int(duration_s / 6 + 2)
    )
    stt = FakeSpeechToText(utterances, is_speech=lambda frame: frame.data is LOUD.data)
    metrics = RecordingMetrics()
    transcripts = MemoryTranscriptLog(clock)
    deps = RuntimeDeps(
        stt=stt,
        tts=LeanTextToSpeech(ms_per_char=50.0),
        llm=ScriptedLanguageModel(responder=responder),
        vad_factory=vad_factory,
        tools=FunctionToolExecutor(),
        sessions=MemorySessionStore(clock),
        transcripts=transcripts,
        clock=clock,
        metrics=metrics,
        **(extras or {}),  # type: ignore[arg-type]
    )
    runtime = CallRuntime(conversation, deps, RuntimeConfig())
    cycle = caller_cycle()
    medias = [BenchMedia(f"call-{i}") for i in range(calls)]
    loud_starts: list[list[float]] = [[] for _ in range(calls)]

    gc.collect()
    rss_before = rss_bytes()
    handlers = [
        asyncio.create_task(
            drain(medias[i])
            if baseline
            else runtime.handle_call(InboundCall(CallInfo(m_id(i)), medias[i]))
        )
        for i in range(calls)
    ]
    stop = asyncio.Event()
    lags: list[float] = []
    monitor = asyncio.create_task(lag_monitor(stop, lags))
    rng = random.Random(7)
    offsets = [rng.randrange(len(cycle)) for _ in range(calls)]
    frames_in = 0
    peak_rss = rss_before

    async def feed_group(group: int) -> None:
        nonlocal frames_in, peak_rss
        members = range(group, calls, GROUPS)
        start = clock.now_ms() + group * (FRAME_MS / GROUPS)
        n = 0
        end = start + duration_s * 1000.0
        while True:
            due = start + n * FRAME_MS
            if due >= end:
                return
            await clock.sleep_until(due)
            for i in members:
                loud = False if listen_only else cycle[(offsets[i] + n) % len(cycle)]
                if loud and not cycle[(offsets[i] + n - 1) % len(cycle)]:
                    loud_starts[i].append(clock.now_ms())
                medias[i].queue.put_nowait(AudioReceived(LOUD if loud else QUIET))
            frames_in += len(members)
            n += 1
            if group == 0 and n % 50 == 0:
                peak_rss = max(peak_rss, rss_bytes())

    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    await asyncio.gather(*(feed_group(g) for g in range(GROUPS)))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    peak_rss = max(peak_rss, rss_bytes())
    stop.set()
    await monitor
    for media in medias:
        await media.close()
    await asyncio.gather(*handlers)

    # Barge-in overhead, end to end: stop-audio called, minus (first loud frame fed + policy
    # window); it includes the inbound frame's own loop delay.
    overheads: list[float] = []
    for i, media in enumerate(medias):
        for stop_at in media.stop_times:
            onsets = [t for t in loud_starts[i] if t <= stop_at]
            if onsets:
                overheads.append(stop_at - onsets[-1] - MIN_SPEECH_MS)
    final_to_frame: list[float] = []
    for i in range(calls):
        for entry in await transcripts.read(m_id(i)):
            data = entry.data
            if LatencyStage.FIRST_AUDIO_TO_FIRST_FRAME.value in data:
                final_to_frame.append(
                    sum(
                        float(data[s.value])  # type: ignore[arg-type]
                        for s in (
                            LatencyStage.FINAL_TO_FIRST_TOKEN,
                            LatencyStage.FIRST_TOKEN_TO_FIRST_AUDIO,
                            LatencyStage.FIRST_AUDIO_TO_FIRST_FRAME,
                        )
                    )
                )
    reaction = metrics.latencies.get(LatencyStage.BARGE_IN_REACTION, [])
    return {
        "cpu_us_per_frame": cpu * 1e6 / max(1, frames_in),
        "busy": cpu / wall,
        "frames_in": float(frames_in),
        "frames_out": float(sum(m.frames_out for m in medias)),
        "lag_p50": pct(lags, 50),
        "lag_p99": pct(lags, 99),
        "lag_max": max(lags) if lags else float("nan"),
        "barge_ins": float(len(overheads)),
        "barge_p50": pct(overheads, 50),
        "barge_p99": pct(overheads, 99),
        "reaction_p50": pct([r - MIN_SPEECH_MS for r in reaction], 50),
        "reaction_p99": pct([r - MIN_SPEECH_MS for r in reaction], 99),
        "turns": float(len(final_to_frame)),
        "f2f_p50": pct(final_to_frame, 50),
        "f2f_p99": pct(final_to_frame, 99),
        "mem_per_call_kb": (peak_rss - rss_before) / calls / 1024.0,
        "dropped": float(sum(metrics.dropped.values())),
        "provider_errors": float(sum(metrics.provider_errors.values())),
        "mean_lag": statistics.fmean(lags) if lags else float("nan"),
    }


async def code_path_costs(
    frames: int = 50_000, extras: dict[str, object] | None = None
) -> tuple[float, float]:
    """CPU µs of the runtime's own per-frame code, without event-loop wake-ups.

    Inbound: frames queued in bulk to one listening call (the reader never suspends).
    Outbound: one long speech sent unpaced (huge lead), synthesis included.
    """
    clock = ManualClock()

    def deps() -> RuntimeDeps:
        return RuntimeDeps(
            stt=FakeSpeechToText(is_speech=lambda frame: frame.data is LOUD.data),
            tts=LeanTextToSpeech(ms_per_char=50.0),
            llm=ScriptedLanguageModel(),
            vad_factory=vad_factory,
            tools=FunctionToolExecutor(),
            sessions=MemorySessionStore(clock),
            transcripts=MemoryTranscriptLog(clock),
            clock=clock,
            metrics=RecordingMetrics(),
            **(extras or {}),  # type: ignore[arg-type]
        )

    quiet = Conversation(AgentGraph(start="a", agents=(AgentSpec(name="a"),)))
    media = BenchMedia("in")
    task = asyncio.create_task(
        CallRuntime(quiet, deps()).handle_call(InboundCall(CallInfo("in"), media))
    )
    await asyncio.sleep(0)
    event = AudioReceived(QUIET)
    cpu0 = time.process_time()
    for _ in range(frames):
        media.queue.put_nowait(event)
    while media.queue.qsize():  # noqa: ASYNC110 (busy-yield on purpose: no timer wake-ups)
        await asyncio.sleep(0)
    inbound = (time.process_time() - cpu0) * 1e6 / frames
    await media.close()
    await task

    text = " ".join(["word"] * (frames // 12))
    talker = Conversation(AgentGraph(start="a", agents=(AgentSpec(name="a", greeting=text),)))
    media = BenchMedia("out")
    config = RuntimeConfig(pacing_lead_ms=1e12, synth_ahead_ms=1e12)
    cpu0 = time.process_time()
    task = asyncio.create_task(
        CallRuntime(talker, deps(), config).handle_call(InboundCall(CallInfo("out"), media))
    )
    while media.frames_out < frames * 0.95:  # noqa: ASYNC110 (busy-yield on purpose)
        await asyncio.sleep(0)
    outbound = (time.process_time() - cpu0) * 1e6 / media.frames_out
    await media.close()
    await task
    return inbound, outbound


def m_id(i: int) -> str:
    return f"call-{i}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each run")
    parser.add_argument(
        "--tune-gc",
        action="store_true",
        help="gc.freeze() and gc.set_threshold(20000, 50, 1000) first, as a server could at start",
    )
    parser.add_argument(
        "--tracing", action="store_true", help="OpenTelemetry tracing on (spans discarded)"
    )
    args = parser.parse_args()
    extras = make_tracing(args.tracing)
    if args.tune_gc:
        # Full collections over every call's objects are the loop's longest pauses (tens of
        # ms at 500 calls); a server can trade a little memory for fewer of them.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 1000)
    logging.basicConfig(level=logging.ERROR)
    inbound_us, outbound_us = asyncio.run(code_path_costs(extras=extras))
    short = min(args.duration, 5.0)
    base = asyncio.run(run(args.calls, short, listen_only=True, baseline=True))
    listen = asyncio.run(run(args.calls, short, listen_only=True, extras=extras))
    full = asyncio.run(run(args.calls, args.duration, listen_only=False, extras=extras))
    rows = [
        (
            "CPU per inbound frame per call, caller talking (all in-process work)",
            f"{full['cpu_us_per_frame']:.1f} µs",
            "<= 20 µs",
        ),
        (
            "CPU per inbound frame per call, listening only",
            f"{listen['cpu_us_per_frame']:.1f} µs",
            "<= 20 µs",
        ),
        (
            "  of which feeding + media queue alone (baseline, no runtime)",
            f"{base['cpu_us_per_frame']:.1f} µs",
            "",
        ),
        (
            "  so the runtime's inbound path (VAD, smoothing, STT push)",
            f"{listen['cpu_us_per_frame'] - base['cpu_us_per_frame']:.1f} µs",
            "",
        ),
        (
            "runtime code per inbound frame (no loop wake-up: VAD, smoothing, STT push)",
            f"{inbound_us:.1f} µs",
            "",
        ),
        (
            "runtime code per outbound frame (no pacing wake-up: synthesis, send, progress)",
            f"{outbound_us:.1f} µs",
            "",
        ),
        (
            "event-loop thread CPU use (process CPU time / wall time), caller talking",
            f"{full['busy'] * 100:.0f} %",
            "",
        ),
        (
            f"event-loop lag p50 / p99 / max ({args.calls} calls)",
            f"{full['lag_p50']:.2f} / {full['lag_p99']:.2f} / {full['lag_max']:.1f} ms",
            "p99 < 20 ms at 500 calls",
        ),
        (
            f"barge-in overhead beyond the {MIN_SPEECH_MS:.0f} ms window p50 / p99"
            f" (n={full['barge_ins']:.0f})",
            f"{full['barge_p50']:.2f} / {full['barge_p99']:.2f} ms",
            "< 1 ms",
        ),
        (
            "  same, from the runtime's onset (its BARGE_IN_REACTION record) p50 / p99",
            f"{full['reaction_p50']:.2f} / {full['reaction_p99']:.2f} ms",
            "< 1 ms",
        ),
        (
            f"final transcript -> first outbound frame p50 / p99 (n={full['turns']:.0f})",
            f"{full['f2f_p50']:.2f} / {full['f2f_p99']:.2f} ms",
            "< 5 ms",
        ),
        (
            "memory per call (peak RSS growth / calls)",
            f"{full['mem_per_call_kb']:.0f} KB",
            "< 1 MB",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(
        f"bench_runtime: {args.calls} calls x {args.duration:g} s, 20 ms frames in real time,"
        f" zero-latency fakes, GC {'tuned' if args.tune_gc else 'Python defaults'}"
    )
    print(f"{'figure':<{width}}  {'measured':>24}  target")
    print("-" * (width + 40))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>24}  {target}")
    load = os.getloadavg()
    print(
        f"load average during the run {load[0]:.1f} on {os.cpu_count()} CPUs"
        " (loop lag and latencies are only meaningful on an otherwise idle machine)"
    )
    print(
        f"frames in {full['frames_in']:.0f}, frames out {full['frames_out']:.0f},"
        f" dropped {full['dropped']:.0f}, provider errors {full['provider_errors']:.0f}"
    )


if __name__ == "__main__":
    main()
