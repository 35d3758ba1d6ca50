"""Benchmark: the embedded default's figures (issue 15), old and new engines in one run.

Prints, for pocketsphinx + webrtcvad + espeak-ng (no end-of-turn model) beside Whisper +
Silero VAD + Piper + Smart Turn:

* pooled WER on the 12 shared clips through one whole ``parley call`` each (ACS emulator,
  in-process server, real time), per clip and pooled;
* pooled WER of the four call clips at 8 kHz mu-law (each engine's streaming session);
* caller turns started by noise-only and silent audio (each VAD with the runtime's
  smoothing, default thresholds);
* end of caller speech -> first agent audio on the wire, p50 / p90, from the whole calls
  ("end of speech" is the clip's last 20 ms frame above -45 dBFS, not the end of its file;
  the p50 / p90 with the earlier -40 dBFS line are printed beside it), and
  where that time goes, per turn and as medians, from the runtime's latency marks (the
  ``turn_latency`` transcript records) and the wire: end of speech -> VAD end of speech
  (the smoothing's silence plus the VAD's own lag) -> final transcript (Whisper's decode)
  -> first model event (the offline dialog model, plus any end-of-turn hold) -> first
  synthesised audio -> first frame sent (pacer) -> first frame on the caller's wire;
* per caller turn, that latency and its stages, so a turn the end-of-turn model held shows
  (its 'model' stage is the hold); with ``--compare-endpointing`` the new engines also run
  with acoustic-only endpointing (every pause judged incomplete waits
  ``max_endpointing_delay_ms`` whatever the final transcript ends with: the policy before
  its punctuation tiers), before and after in one run;
* event-loop lag p99 while the calls ran (a 5 ms ticker in the server's loop);
* CPU per Whisper decode, per Smart Turn prediction and per Piper piece (process CPU time,
  which other processes' load does not inflate) beside wall time;
* concurrent offline calls sustained in real time: N simulated calls, each feeding a looped
  clip in 20 ms frames through the VAD and a Whisper session, asking Smart Turn at each end
  of utterance and, as a real call does, synthesising a reply sentence with Piper once the
  final has arrived; sustained while the p95 time from end of utterance to its final stays
  under 1.5 s;
* install size of the ``local`` extra (the files of its distributions beyond the base
  dependencies) and the process RSS.

Needs ../shared/audio (PARLEY_SHARED_DIR). Run
``python benchmarks/bench_embedded_default.py [--no-calls] [--only-calls] [--repeat N]
[--compare-endpointing] [--no-old] [--ramp 1,2,3,4] [--seconds 20]``; about ten minutes with
the whole calls (``--repeat`` places each whole call N times and pools the latencies). The
machine is shared: CPU figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata as md
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from adapters.audio import FormatConverter, read_wav, read_wav_frames, split_frames
from ports import MULAW_8K, PCM16_16K, AudioFrame, Voice

SHARED = Path(os.environ.get("PARLEY_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.e2e.local_support: the noise signals the tests use
OLD = {"stt": "local", "tts": "local", "vad": "webrtc", "turn": "off"}
NEW = {"stt": "whisper", "tts": "piper", "vad": "silero", "turn": "smart_turn"}


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=False)))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))


def words(text: str) -> list[str]:
    return re.sub(r"[.,?!]", "", text.lower()).split()


def errors(ref: str, hyp: str) -> tuple[int, int]:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(words(ref), words(hyp)), len(words(ref))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


SPEECH_END_DBFS = -45.0
"""A clip's end of speech: its last 20 ms frame above this level.

-40 dBFS (the first choice) cut ldc93s1_timit.wav's quiet last word: it ended that clip at
1.96 s, while its frames stay at -41 to -48 dBFS until 2.8 s, Whisper's word alignment
(faster-whisper ``word_timestamps``, beam 5) ends "year." at 2.80 s and Silero scores 0.99
until 2.84 s. At -45 dBFS every clip's end is at or before Whisper's aligned end of its last
word, or within 20 ms of the -40 dBFS end where it is not (docs/local-engines.md has the
table), so the latency no longer counts a quiet last word as the agent's delay.
"""


def trailing_silence_ms(pcm: bytes, rate: int = 16000, dbfs: float = SPEECH_END_DBFS) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    size = rate // 50
    frames = len(x) // size
    for i in range(frames - 1, -1, -1):
        rms = np.sqrt(np.mean(x[i * size : (i + 1) * size] ** 2)) / 32768
        if 20 * np.log10(max(rms, 1e-9)) > dbfs:
            return (len(x) - (i + 1) * size) / rate * 1000
    return 0.0


def manifest() -> list[dict[str, Any]]:
    return list(json.loads((SHARED / "audio" / "manifest.json").read_text()))


# -- whole calls --------------------------------------------------------------------------


def acoustic_only_agents(target: Path) -> Path:
    """A copy of the bundled agents whose endpointing ignores the transcript's punctuation.

    Every agent file gets ``sentence_endpointing_delay_ms`` and
    ``question_endpointing_delay_ms`` equal to its ``max_endpointing_delay_ms``: a pause the
    end-of-turn model judges incomplete waits the maximum whatever the final ends with (the
    policy before the punctuation tiers), so one run compares both.
    """
    import shutil

    import yaml

    shutil.copytree(REPO / "agents", target)
    for path in target.glob("*.yaml"):
        spec = yaml.safe_load(path.read_text())
        if "name" not in spec:
            continue  # not an agent (conversation.yaml)
        endpointing = spec.setdefault("endpointing", {}) or {}
        delay = endpointing.get("max_endpointing_delay_ms", 1500.0)
        endpointing["sentence_endpointing_delay_ms"] = delay
        endpointing["question_endpointing_delay_ms"] = delay
        spec["endpointing"] = endpointing
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


async def whole_call(engines: dict[str, str], agents_dir: Path | None = None) -> dict[str, Any]:
    from bootstrap.call_command import open_stack, place_call, wav_turns
    from bootstrap.settings import load_settings

    settings = load_settings(None)
    server = settings.server.model_copy(
        update={"agents_dir": agents_dir or REPO / "agents", "log_level": "WARNING"}
    )
    settings = dataclasses.replace(
        settings, server=server, providers=settings.providers.model_copy(update=engines)
    )
    clips = manifest()
    lags: list[float] = []

    async def tick() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - started - 0.005) * 1000)

    async with open_stack(settings, warm_decoders=1) as stack:
        turns = wav_turns([SHARED / "audio" / c["file"] for c in clips], stack.format)
        ticker = asyncio.create_task(tick())
        outcome = await place_call(
            stack, turns, speed=1.0, reply_timeout_s=30.0, settle_s=1.5, linger_s=1.0
        )
        ticker.cancel()
    result = outcome.result
    heard: dict[str, list[str]] = {c["file"]: [] for c in clips}
    for entry in outcome.transcript:
        if entry["kind"] == "user":
            started = [t for t in result.turns if t.spoke_at * 1000 <= entry["at_ms"]]
            if started:
                heard[started[-1].name].append(entry["text"])
    latencies = []
    latencies_40 = []  # the same turns, speech ending at the earlier -40 dBFS line
    stages: list[dict[str, float]] = []
    per_turn: list[dict[str, Any]] = []
    records = [
        e["data"]["marks"]
        for e in outcome.transcript
        if e["kind"] == "turn_latency" and "first_frame" in (e["data"] or {}).get("marks", {})
    ]
    for turn, clip in zip(result.turns, turns, strict=False):
        row: dict[str, Any] = {"clip": turn.name, "latency": None, "stages": {}}
        per_turn.append(row)
        if turn.stop_audio_at:
            row["note"] = "barge-in"
        if turn.latency_ms is not None and not turn.stop_audio_at:
            silence = trailing_silence_ms(clip.pcm)
            row["latency"] = turn.latency_ms + silence
            latencies.append(row["latency"])
            latencies_40.append(turn.latency_ms + trailing_silence_ms(clip.pcm, dbfs=-40.0))
            assert turn.reply_at is not None  # noqa: S101 - latency_ms implies it
            marks = [m for m in records if turn.spoke_at * 1000 <= m["first_frame"]]
            marks = [m for m in marks if m["first_frame"] <= turn.reply_at * 1000 + 50]
            if marks:
                speech_end = turn.finished_at * 1000 - silence
                row["stages"] = breakdown(marks[-1], speech_end, turn.reply_at * 1000)
                stages.append(row["stages"])
    return {
        "heard": {k: " ".join(v) for k, v in heard.items()},
        "latencies": latencies,
        "latencies_40": latencies_40,
        "stages": stages,
        "per_turn": per_turn,
        "loop_p99": pct(lags, 0.99),
        "ok": result.ok,
    }


STAGES = (
    ("VAD end", "speech_stopped"),
    ("final", "final"),
    ("model", "first_token"),
    ("TTS", "first_audio"),
    ("pacer", "first_frame"),
)
"""Breakdown columns: each runs from the previous mark (the clip's end of speech first)."""


def breakdown(marks: dict[str, float], speech_end_ms: float, wire_ms: float) -> dict[str, float]:
    """One answered turn's stages, ms: each mark minus the previous one, then the wire."""
    out: dict[str, float] = {}
    previous = speech_end_ms
    for name, mark in STAGES:
        if mark in marks:
            out[name] = marks[mark] - previous
            previous = marks[mark]
    out["wire"] = wire_ms - previous
    out["total"] = wire_ms - speech_end_ms
    return out


async def repeated(
    engines: dict[str, str], repeat: int, agents_dir: Path | None = None
) -> dict[str, Any]:
    """``repeat`` whole calls: the first call's words, every call's latencies and stages."""
    runs = [await whole_call(engines, agents_dir) for _ in range(repeat)]
    return {
        **runs[0],
        "latencies": [x for r in runs for x in r["latencies"]],
        "latencies_40": [x for r in runs for x in r["latencies_40"]],
        "stages": [x for r in runs for x in r["stages"]],
        "per_turn": [x for r in runs for x in r["per_turn"]],
        "loop_p99": max(r["loop_p99"] for r in runs),
    }


async def bench_whole_calls(
    repeat: int = 1, compare_endpointing: bool = False, old: bool = True
) -> None:
    runs: dict[str, dict[str, Any]] = {"old": await repeated(OLD, 1)} if old else {}
    if compare_endpointing:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            agents = acoustic_only_agents(Path(tmp) / "agents")
            runs["new, acoustic only"] = await repeated(NEW, repeat, agents)
    runs["new"] = await repeated(NEW, repeat)
    rows: list[tuple[object, ...]] = []
    totals = {name: [0, 0] for name in runs}
    for clip in manifest():
        row: list[object] = [clip["file"]]
        for name, run in runs.items():
            e, n = errors(clip["ref"], run["heard"][clip["file"]])
            totals[name][0] += e
            totals[name][1] += n
            row += [f"{e / n:.2f}", run["heard"][clip["file"]][:48]]
        rows.append(tuple(row))
    rows.append(
        ("pooled", *(x for r in totals.values() for x in (f"{r[0] / r[1]:.3f}", f"{r[0]}/{r[1]}")))
    )  # Late finals are attributed to the clip during which they arrived, so also score the
    # whole call at once: every reference in order against everything heard in order.
    reference = " ".join(c["ref"] for c in manifest())
    for name, run in runs.items():
        e, n = errors(reference, " ".join(run["heard"][c["file"]] for c in manifest()))
        row = [f"whole call in order ({name})", f"{e / n:.3f}", f"{e}/{n}"]
        rows.append(tuple(row + [""] * (1 + 2 * len(runs) - len(row))))

    table(
        "WER through one whole parley call (12 shared clips, 16 kHz, real time)",
        ("clip", *(f"{name} {x}" for name in runs for x in ("WER", "heard"))),
        rows,
    )
    table(
        "end of caller speech -> first agent audio on the wire (ms), event-loop lag",
        ("engines", "turns", "p50", "p90", "p50, p90 (-40 dBFS end)", "loop lag p99 ms"),
        [
            (
                name,
                len(run["latencies"]),
                f"{pct(run['latencies'], 0.5):.0f}",
                f"{pct(run['latencies'], 0.9):.0f}",
                f"{pct(run['latencies_40'], 0.5):.0f}, {pct(run['latencies_40'], 0.9):.0f}",
                f"{run['loop_p99']:.1f}",
            )
            for name, run in runs.items()
        ],
    )
    columns = [name for name, _ in STAGES] + ["wire", "total"]
    for name, run in runs.items():
        if name == "old":
            continue
        table(
            f"per caller turn, {name} engines: end of caller speech -> first agent audio on the"
            " wire and its stages (ms from the previous mark; 'model' includes any end-of-turn"
            " hold)",
            ("clip", "latency", *columns[:-1], "note"),
            [
                (
                    t["clip"],
                    "-" if t["latency"] is None else f"{t['latency']:.0f}",
                    *(f"{t['stages'][c]:.0f}" if c in t["stages"] else "-" for c in columns[:-1]),
                    t.get("note", ""),
                )
                for t in run["per_turn"]
            ],
        )
    for name, run in runs.items():
        if not run["stages"]:
            continue
        medians = {c: statistics.median(s.get(c, 0.0) for s in run["stages"]) for c in columns}
        table(
            f"where the time goes, {name} engines: median ms per stage over"
            f" {len(run['stages'])} answered turns (from the previous mark; 'model' includes"
            " any end-of-turn hold)",
            ("from end of caller speech to", *columns),
            [("median", *(f"{medians[c]:.0f}" for c in columns))],
        )


# -- engines ------------------------------------------------------------------------------


async def transcribe(stt: Any, frames: list[AudioFrame]) -> str:
    async with stt.session(frames[0].format) as session:
        for i, frame in enumerate(frames):
            session.push(frame)
            if i % 50 == 0:
                await asyncio.sleep(0)
        session.end_of_speech()
        await session.flush()
        return " ".join([e.text async for e in session.events() if e.is_final])


async def bench_narrowband(whisper: Any, pocketsphinx: Any) -> None:
    clips = [c for c in manifest() if c["file"].startswith("call_")]
    rows: list[tuple[object, ...]] = []
    totals = {"pocketsphinx": [0, 0], "whisper": [0, 0]}
    for clip in clips:
        frames = read_wav_frames(SHARED / "audio" / clip["file"], MULAW_8K)
        row: list[object] = [clip["file"]]
        for name, stt in (("pocketsphinx", pocketsphinx), ("whisper", whisper)):
            e, n = errors(clip["ref"], await transcribe(stt, frames))
            totals[name][0] += e
            totals[name][1] += n
            row.append(f"{e / n:.2f}")
        rows.append(tuple(row))
    rows.append(("pooled", *(f"{e / n:.3f} ({e}/{n})" for e, n in totals.values())))
    table("WER, the four call clips at 8 kHz mu-law", ("clip", "pocketsphinx", "whisper"), rows)


def bench_noise() -> None:
    from adapters.local.silero_vad import SileroVadFactory
    from adapters.local.vad import WebRtcVadFactory
    from domain.runtime import RuntimeConfig
    from domain.runtime.speech_detector import STARTED, SpeechDetector
    from tests.e2e.local_support import noises

    config = RuntimeConfig()
    rows: list[tuple[object, ...]] = []
    for name, signal in noises(seconds=10.0).items():
        pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()
        row: list[object] = [name]
        for fmt in (PCM16_16K, MULAW_8K):
            clip = AudioFrame(pcm, PCM16_16K)
            if fmt != PCM16_16K:
                clip = FormatConverter(PCM16_16K, fmt).convert(clip)
            frames = split_frames(clip, 20, pad=True)
            for factory in (WebRtcVadFactory(2), SileroVadFactory()):
                vad = factory(fmt)
                smooth = SpeechDetector(
                    config.vad_threshold, config.speech_start_ms, config.speech_stop_ms
                )
                starts = sum(
                    smooth.update(vad.speech_probability(f), 20.0, i * 20.0) == STARTED
                    for i, f in enumerate(frames)
                )
                row.append(starts)
        rows.append(tuple(row))
    table(
        "caller turns started by 10 s of noise-only audio (runtime smoothing, default thresholds)",
        ("signal", "webrtc 16k", "silero 16k", "webrtc 8k mu-law", "silero 8k mu-law"),
        rows,
    )


def cpu_ms(fn: Any, *args: Any) -> tuple[float, float]:
    """(process CPU ms, wall ms) of one call of ``fn``, run alone in this process.

    Process CPU time counts the engines' own worker threads (CTranslate2 and onnxruntime
    compute outside the calling thread) and not other processes' load.
    """
    wall = time.perf_counter()
    cpu = time.process_time()
    fn(*args)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


async def bench_costs(whisper: Any) -> None:
    from adapters.local.piper_tts import PiperTextToSpeech
    from adapters.local.smart_turn import SmartTurnDetector
    from adapters.local.tts import EspeakTextToSpeech

    rows: list[tuple[object, ...]] = []
    for clip in ("book_a_room.wav", "go_forward.wav", "jfk.wav"):
        pcm = read_wav(SHARED / "audio" / clip, PCM16_16K).data
        runs = [cpu_ms(whisper.decoder.decode, pcm) for _ in range(3)]
        rows.append(
            (
                f"Whisper decode, {clip} ({len(pcm) / 32000:.1f} s)",
                f"{statistics.median(r[0] for r in runs):.0f}",
                f"{statistics.median(r[1] for r in runs):.0f}",
            )
        )
    turn = SmartTurnDetector()
    turn.warm_up()
    pcm = read_wav(SHARED / "audio" / "go_forward.wav", PCM16_16K).data
    runs = [cpu_ms(turn._run, pcm) for _ in range(5)]  # noqa: SLF001 - the model call alone
    rows.append(
        (
            "Smart Turn prediction (8 s window)",
            f"{statistics.median(r[0] for r in runs):.0f}",
            f"{statistics.median(r[1] for r in runs):.0f}",
        )
    )
    await turn.aclose()
    piper = PiperTextToSpeech(cache_entries=0)
    for text in ("How can I help?", "Your checking balance is 2,450.75 dollars."):
        runs = [cpu_ms(piper._synthesise, text, 1.0) for _ in range(3)]  # noqa: SLF001
        rows.append(
            (
                f"Piper piece: {text!r}",
                f"{statistics.median(r[0] for r in runs):.0f}",
                f"{statistics.median(r[1] for r in runs):.0f}",
            )
        )
    table(
        "CPU per operation (process CPU ms; wall ms on the shared machine)",
        ("op", "CPU", "wall"),
        rows,
    )
    first = []
    for engine in (piper, EspeakTextToSpeech()):
        for text in ("Sure, let me check that for you.", "Your balance is forty two dollars."):
            started = time.perf_counter()
            stream = engine.synthesize(text, voice=Voice(), fmt=PCM16_16K)
            await anext(stream)
            first.append((type(engine).__name__, text, (time.perf_counter() - started) * 1000))
            await stream.aclose()
        await engine.aclose()
    table(
        "text-to-speech: first audio of one clause (ms, uncached)",
        ("engine", "clause", "first audio ms"),
        [(e, t, f"{ms:.0f}") for e, t, ms in first],
    )


async def simulated_call(
    stt: Any, vad_factory: Any, turn: Any, tts: Any, frames: list[AudioFrame], seconds: float,
    finals: list[float],
) -> None:  # fmt: skip
    """Real-time 20 ms frames of a looped clip: VAD per frame, a final per loop, Smart Turn
    at each end of utterance, a Piper reply sentence per final (a call answers its final)."""
    vad = vad_factory(PCM16_16K)
    async with stt.session(PCM16_16K) as session:

        async def read() -> None:
            async for event in session.events():
                if event.is_final:
                    finals.append((time.monotonic() - ended[0]) * 1000)
                    background.add(asyncio.create_task(quietly(drain(tts))))

        ended = [time.monotonic()]
        background: set[asyncio.Task[None]] = set()
        reader = asyncio.create_task(read())
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:
            frame = frames[i % len(frames)]
            session.push(frame)
            vad.speech_probability(frame)
            i += 1
            if i % len(frames) == 0:
                ended[0] = time.monotonic()
                session.end_of_speech()
                utterance = AudioFrame(b"".join(f.data for f in frames), PCM16_16K)
                background.add(asyncio.create_task(quietly(turn.predict(utterance))))
            await asyncio.sleep(max(start + i * 0.02 - time.monotonic(), 0))
        await session.flush()
        await reader
        await asyncio.gather(*background)


async def quietly(work: Any) -> None:
    """Background work of a simulated call: a late or failed prediction only counts as late."""
    try:
        await work
    except Exception:  # noqa: BLE001 - the final latency is what the ramp measures
        return


async def drain(tts: Any) -> None:
    async for _ in tts.synthesize(
        "Your checking balance is 2,450.75 dollars.", voice=Voice(rate=1.01), fmt=PCM16_16K
    ):
        pass


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench_concurrency(whisper: Any, ramp: list[int], seconds: float) -> None:
    from adapters.local.piper_tts import PiperTextToSpeech
    from adapters.local.silero_vad import SileroVadFactory
    from adapters.local.smart_turn import SmartTurnDetector

    frames = read_wav_frames(SHARED / "audio" / "go_forward.wav", PCM16_16K)
    turn = SmartTurnDetector()
    tts = PiperTextToSpeech(cache_entries=0)
    vad = SileroVadFactory()
    rows: list[tuple[object, ...]] = []
    sustained = 0
    base = rss_mb()
    for n in ramp:
        finals: list[float] = []
        lags: list[float] = []

        async def watch(lags: list[float] = lags) -> None:
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append((time.perf_counter() - t - 0.005) * 1000)

        watcher = asyncio.create_task(watch())
        await asyncio.gather(
            *(simulated_call(whisper, vad, turn, tts, frames, seconds, finals) for _ in range(n))
        )
        watcher.cancel()
        ok = bool(finals) and pct(finals, 0.95) <= 1500
        rows.append(
            (
                n,
                len(finals),
                f"{pct(finals, 0.5):.0f}",
                f"{pct(finals, 0.95):.0f}",
                f"{pct(lags, 0.99):.1f}",
                f"{rss_mb():.0f}",
                "yes" if ok else "no",
            )
        )
        if not ok:
            break
        sustained = n
    await turn.aclose()
    await tts.aclose()
    table(
        f"concurrent real-time calls, new engines ({seconds:.0f} s per step; process RSS"
        f" {base:.0f} MB with the models loaded)",
        ("calls", "finals", "final p50 ms", "final p95 ms", "loop lag p99", "RSS MB", "ok"),
        rows,
    )
    print(
        f"  sustained in real time: {sustained} concurrent calls (os.cpu_count()={os.cpu_count()})"
    )


def closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = [re.split(r"[\s<>=!~;\[]", n, maxsplit=1)[0].lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0].lower())
    return seen


def dist_mb(name: str) -> float:
    dist = md.distribution(name)
    total = 0
    for f in dist.files or []:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total / 1e6


def bench_install_size() -> None:
    parley = md.distribution("parley")
    requires = parley.requires or []
    base = [r for r in requires if "extra ==" not in r]
    local = [r for r in requires if 'extra == "local"' in r]
    models = ["pipecat-ai"]  # installed without dependencies (requirements/local-models.txt)
    extra = (closure(local) | set(models)) - closure(base)
    rows = sorted(((name, dist_mb(name)) for name in extra), key=lambda r: -r[1])
    shown: list[tuple[object, ...]] = [(n, f"{mb:.1f}") for n, mb in rows if mb >= 1.0]
    shown.append(
        ("total (local extra beyond the base dependencies)", f"{sum(r[1] for r in rows):.0f}")
    )
    table("install size of the local extra (MB on disk)", ("distribution", "MB"), shown)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-calls", action="store_true", help="skip the whole-call runs")
    parser.add_argument("--only-calls", action="store_true", help="only the whole-call runs")
    parser.add_argument("--repeat", type=int, default=1, help="whole calls with the new engines")
    parser.add_argument(
        "--compare-endpointing",
        action="store_true",
        help="also run the new engines with acoustic-only endpointing (no punctuation tiers)",
    )
    parser.add_argument("--no-old", action="store_true", help="whole calls: skip the old engines")
    parser.add_argument("--ramp", default="1,2,3,4,6", help="concurrent calls per step")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per ramp step")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (shared: CPU figures indicative)")
    if args.only_calls:
        await bench_whole_calls(args.repeat, args.compare_endpointing, not args.no_old)
        return
    bench_install_size()
    bench_noise()
    from adapters.local.stt import PocketsphinxSpeechToText
    from adapters.local.whisper_stt import WhisperSpeechToText

    whisper = WhisperSpeechToText()
    await whisper.warm_up()
    pocketsphinx = PocketsphinxSpeechToText()
    await bench_narrowband(whisper, pocketsphinx)
    await pocketsphinx.aclose()
    await bench_costs(whisper)
    await bench_concurrency(whisper, [int(x) for x in args.ramp.split(",")], args.seconds)
    await whisper.aclose()
    if not args.no_calls:
        await bench_whole_calls(args.repeat, args.compare_endpointing, not args.no_old)


if __name__ == "__main__":  # spawn re-imports this module in pocketsphinx's decoder processes
    asyncio.run(main())
