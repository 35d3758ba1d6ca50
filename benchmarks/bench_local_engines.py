"""Benchmark: the offline engines (pocketsphinx, espeak-ng, webrtcvad, audio conversion).

Prints tables of:

* audio conversion and VAD cost in µs per 20 ms frame;
* text-to-speech time to first audio for a 12-word sentence (target < 50 ms) and its
  real-time factor;
* speech-to-text real-time factor (streaming session, audio pushed as fast as possible) and the
  time from ``flush()`` to the final, with and without rescored finals;
* how many concurrent offline calls one process sustains: N sessions fed 20 ms frames in real
  time, a short ramp, stopping when the p95 partial lag passes 500 ms. Partial lag is the time
  from pushing the audio a partial covers (its ``end_ms``) to the partial reaching the loop.

Needs ../shared/audio (PARLEY_SHARED_DIR) for real speech. Run:
``python benchmarks/bench_local_engines.py [--ramp 1,2,3,4,6,8] [--seconds 6] [--live-finals]``;
about one minute. The ramp feeds continuous speech (a looped clip), the worst case: callers
speak less than half of a call.
Figures depend on the machine's load; the numbers in the report were taken on a 2-core box.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from adapters.audio import FormatConverter, Resampler, mulaw_decode, mulaw_encode, read_wav_frames
from adapters.local.stt import PocketsphinxSpeechToText
from adapters.local.tts import EspeakTextToSpeech
from adapters.local.vad import WebRtcVadFactory
from ports import MULAW_8K, PCM16_16K, PCM16_24K, AudioFormat, AudioFrame, Voice

SHARED = Path(os.environ.get("PARLEY_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
TWELVE_WORDS = "Your card ending in four five six seven is now locked for your safety."
LONG_TEXT = (
    "Thank you for calling. Your current balance is one thousand two hundred dollars. "
    "Your next payment is due on the fifth of next month. "
) * 10


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=False)))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))


def per_frame_us(fn, frames: list[AudioFrame]) -> float:
    started = time.perf_counter()
    for frame in frames:
        fn(frame)
    return (time.perf_counter() - started) / len(frames) * 1e6


def tone_frames(fmt: AudioFormat, count: int) -> list[AudioFrame]:
    import numpy as np

    rate = fmt.sample_rate_hz
    t = np.arange(rate * 20 // 1000 * count) / rate
    pcm = (6000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    clip = AudioFrame(pcm, PCM16_16K if rate == 16000 else AudioFormat(rate))
    if fmt.encoding != clip.format.encoding:
        clip = AudioFrame(mulaw_encode(pcm), fmt)
    size = fmt.frame_bytes(20)
    return [AudioFrame(clip.data[i : i + size], fmt) for i in range(0, len(clip.data), size)]


def bench_conversion() -> None:
    n = 3000
    rows: list[tuple[object, ...]] = []
    for src, dst in [(8000, 16000), (16000, 8000), (24000, 16000), (16000, 24000), (48000, 16000)]:
        frames = tone_frames(AudioFormat(src), n)
        resampler = Resampler(src, dst)
        rows.append(
            (
                f"resample {src // 1000}k -> {dst // 1000}k",
                f"{per_frame_us(lambda f, r=resampler: r.process(f.data), frames):.1f}",
            )
        )
    frames = tone_frames(PCM16_24K, n)
    conv = FormatConverter(PCM16_24K, MULAW_8K)
    rows.append(
        ("24k pcm16 -> 8k mu-law (FormatConverter)", f"{per_frame_us(conv.convert, frames):.1f}")
    )
    frames8 = tone_frames(MULAW_8K, n)
    rows.append(
        ("mu-law decode 8k", f"{per_frame_us(lambda f: mulaw_decode(f.data), frames8):.1f}")
    )
    frames16 = tone_frames(PCM16_16K, n)
    rows.append(
        ("mu-law encode 16k pcm16", f"{per_frame_us(lambda f: mulaw_encode(f.data), frames16):.1f}")
    )
    for fmt, label in [
        (PCM16_16K, "16k pcm16"),
        (PCM16_24K, "24k pcm16 (resampled)"),
        (MULAW_8K, "8k mu-law"),
    ]:
        vad = WebRtcVadFactory(2)(fmt)
        rows.append(
            (
                f"webrtcvad {label}",
                f"{per_frame_us(vad.speech_probability, tone_frames(fmt, n)):.1f}",
            )
        )
    table("audio conversion and VAD (µs per 20 ms frame)", ("operation", "µs/frame"), rows)


async def bench_tts() -> None:
    tts = EspeakTextToSpeech()
    rows: list[tuple[object, ...]] = []
    async for _ in tts.synthesize("Warm up.", voice=Voice(), fmt=PCM16_16K):
        pass
    for fmt, label in [(PCM16_16K, "16k pcm16"), (PCM16_24K, "24k pcm16"), (MULAW_8K, "8k mu-law")]:
        firsts = []
        for _ in range(20):
            started = time.perf_counter()
            stream = tts.synthesize(TWELVE_WORDS, voice=Voice(), fmt=fmt)
            await stream.__anext__()
            firsts.append((time.perf_counter() - started) * 1000)
            await stream.aclose()
        started = time.perf_counter()
        audio_ms = 0.0
        async for chunk in tts.synthesize(LONG_TEXT, voice=Voice(), fmt=fmt):
            audio_ms += chunk.audio.duration_ms
        wall_ms = (time.perf_counter() - started) * 1000
        rows.append(
            (
                label,
                f"{statistics.median(firsts):.2f}",
                f"{max(firsts):.2f}",
                f"{wall_ms / audio_ms:.4f}",
                f"{audio_ms / wall_ms:.0f}x",
            )
        )
    await tts.aclose()
    table(
        "espeak-ng text-to-speech (first audio: 12-word sentence, target < 50 ms;"
        " RTF over ~50 s of speech)",
        ("format", "first audio p50 ms", "max ms", "RTF", "speed"),
        rows,
    )


async def stream_clip(
    stt: PocketsphinxSpeechToText, frames: list[AudioFrame]
) -> tuple[float, float]:
    """Push a clip as fast as possible; (wall s to final, ms from flush to final)."""
    async with stt.session(frames[0].format) as session:
        started = time.perf_counter()
        for i, frame in enumerate(frames):
            session.push(frame)
            if i % 25 == 0:
                await asyncio.sleep(0)
        flushed = time.perf_counter()
        session.end_of_speech()
        await session.flush()
        async for _ in session.events():
            pass
        done = time.perf_counter()
    return done - started, (done - flushed) * 1000


async def final_latency_ms(stt: PocketsphinxSpeechToText, frames: list[AudioFrame]) -> float:
    """Feed an utterance in real time, then ``end_of_speech()``: ms until its final arrives."""
    async with stt.session(frames[0].format) as session:
        start = time.monotonic()
        for i, frame in enumerate(frames):
            session.push(frame)
            await asyncio.sleep(max(start + (i + 1) * 0.02 - time.monotonic(), 0))
        ended = time.perf_counter()
        session.end_of_speech()
        async for event in session.events():
            if event.is_final:
                latency = (time.perf_counter() - ended) * 1000
                await session.aclose()
                return latency
    return float("nan")


async def bench_stt() -> None:
    frames = read_wav_frames(SHARED / "audio" / "jfk.wav", PCM16_16K)
    short = read_wav_frames(SHARED / "audio" / "brooklyn_bridge.wav", PCM16_16K)
    audio_s = sum(f.duration_ms for f in frames) / 1000
    short_s = sum(f.duration_ms for f in short) / 1000
    rows: list[tuple[object, ...]] = []
    for rescore in (False, True):
        stt = PocketsphinxSpeechToText(rescore_finals=rescore, own_endpointing=False)
        started = time.perf_counter()
        await stt.warm_up(1)
        cold = time.perf_counter() - started
        wall, _ = await stream_clip(stt, frames)
        lat = [await final_latency_ms(stt, short) for _ in range(3)]
        rows.append(
            (
                "rescored" if rescore else "live",
                f"{cold:.2f}",
                f"{wall / audio_s:.3f}",
                f"{statistics.median(lat):.0f}",
            )
        )
        await stt.aclose()
    table(
        f"pocketsphinx speech-to-text (RTF: jfk.wav {audio_s:.1f} s pushed as fast as possible)",
        (
            "finals",
            "decoder start s",
            "RTF",
            f"end_of_speech->final ms ({short_s:.1f} s, real time)",
        ),
        rows,
    )


async def one_call(
    stt: PocketsphinxSpeechToText, frames: list[AudioFrame], seconds: float, lags: list[float]
) -> None:
    """A real-time call: 20 ms frames on an absolute schedule, utterance after utterance."""
    push_times: list[float] = []  # wall time at which the i-th frame was pushed
    async with stt.session(PCM16_16K) as session:

        async def read() -> None:
            async for event in session.events():
                if event.is_final:
                    continue
                index = min(int(event.end_ms // 20) - 1, len(push_times) - 1)
                if index >= 0:
                    lags.append((time.monotonic() - push_times[index]) * 1000)

        reader = asyncio.create_task(read())
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:
            frame = frames[i % len(frames)]
            push_times.append(time.monotonic())
            session.push(frame)
            i += 1
            if i % len(frames) == 0:
                session.end_of_speech()
            delay = start + i * 0.02 - time.monotonic()
            await asyncio.sleep(max(delay, 0))
        await session.flush()
        await reader


async def bench_concurrency(ramp: list[int], seconds: float, rescore: bool) -> None:
    frames = read_wav_frames(SHARED / "audio" / "jfk.wav", PCM16_16K)
    stt = PocketsphinxSpeechToText(max_idle_decoders=max(ramp), rescore_finals=rescore)
    rows: list[tuple[object, ...]] = []
    sustained = 0
    for n in ramp:
        await stt.warm_up(n)
        lags: list[float] = []
        loop_lags: list[float] = []

        async def watch_loop(loop_lags: list[float] = loop_lags) -> None:
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                loop_lags.append((time.perf_counter() - t - 0.005) * 1000)

        watcher = asyncio.create_task(watch_loop())
        await asyncio.gather(*(one_call(stt, frames, seconds, lags) for _ in range(n)))
        watcher.cancel()
        lags.sort()
        loop_lags.sort()
        p50 = lags[len(lags) // 2] if lags else float("nan")
        p95 = lags[int(len(lags) * 0.95)] if lags else float("nan")
        loop_p99 = loop_lags[int(len(loop_lags) * 0.99)] if loop_lags else float("nan")
        ok = bool(lags) and p95 <= 500
        rows.append(
            (n, len(lags), f"{p50:.0f}", f"{p95:.0f}", f"{loop_p99:.1f}", "yes" if ok else "no")
        )
        if not ok:
            break
        sustained = n
    await stt.aclose()
    table(
        f"concurrent real-time calls (pocketsphinx, continuous speech, {seconds:.0f} s per step,"
        f" {'rescored' if rescore else 'live'} finals)",
        ("calls", "partials", "lag p50 ms", "lag p95 ms", "loop lag p99 ms", "p95 <= 500 ms"),
        rows,
    )
    print(
        f"  sustained in real time: {sustained} concurrent calls (os.cpu_count()={os.cpu_count()})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ramp", default="1,2,3,4,6,8", help="concurrent calls per step")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per ramp step")
    parser.add_argument("--live-finals", action="store_true", help="ramp with rescore_finals=False")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (figures scale with load)")
    bench_conversion()
    await bench_tts()
    if not (SHARED / "audio" / "jfk.wav").is_file():
        print(f"\n(no shared audio at {SHARED}; skipping speech-to-text figures)")
        return
    await bench_stt()
    ramp = [int(x) for x in args.ramp.split(",")]
    await bench_concurrency(ramp, args.seconds, rescore=not args.live_finals)


if __name__ == "__main__":  # spawn re-imports this module in decoder processes
    asyncio.run(main())
