"""Azure Speech adapter figures against the local Speech protocol stand-in (real SDK, offline).

Measures:
    * the callback-thread bridge: time from an SDK callback (native thread) to the handler
      running on the event loop (``ThreadBridge``), from plain threads and from real SDK
      recognition callbacks; target < 1 ms at p99;
    * text-to-speech time to first audio (request to first chunk in the consumer), cold
      (new synthesizer and connection per request) and warm (pre-connected pool), SSML and
      text-stream (v2) input;
    * how long closing a synthesis iterator mid-way takes (port promise: < 50 ms).

Run: ``python benchmarks/bench_azure_speech.py [--quick]``. The stand-in answers at once, so
the figures are the adapter's and the SDK's own overhead on 127.0.0.1, not the service's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from adapters.azure_speech import (  # noqa: E402
    AzureSpeechAuth,
    AzureSpeechToText,
    AzureTextToSpeech,
    SynthesisOptions,
)
from adapters.azure_speech._sdk import SDK_VERSION, speechsdk  # noqa: E402
from adapters.azure_speech.bridge import ThreadBridge  # noqa: E402
from ports import PCM16_16K, AudioFrame, Voice  # noqa: E402
from tests.emulators.speech_standin import DEFAULT_KEY  # noqa: E402

TEXT = "Your current balance is one thousand two hundred dollars. Anything else?"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def row(name: str, values: list[float], unit: str = "ms", target: str = "") -> str:
    return (
        f"| {name:<44} | {len(values):>5} | {statistics.median(values):>9.3f} "
        f"| {pct(values, 99):>9.3f} | {max(values):>9.3f} | {unit:<4} | {target:<10} |"
    )


async def bridge_from_threads(n: int) -> list[float]:
    loop = asyncio.get_running_loop()
    bridge = ThreadBridge(loop, "bench")
    latencies: list[float] = []
    done = asyncio.Event()

    def deliver(sent: float) -> None:
        latencies.append((time.perf_counter() - sent) * 1000)
        if len(latencies) == n:
            done.set()

    callback = bridge.sdk_handler(lambda _event: time.perf_counter(), deliver)

    def producer() -> None:
        for _ in range(n):
            callback(None)
            time.sleep(0.0002)  # SDK events come tens per second, not in a tight burst

    thread = threading.Thread(target=producer)
    thread.start()
    await asyncio.wait_for(done.wait(), 60)
    thread.join()
    return latencies


async def bridge_from_sdk(host: str, utterances: int) -> list[float]:
    """The same bridge fed by real SDK recognition callbacks (partials and finals)."""
    loop = asyncio.get_running_loop()
    bridge = ThreadBridge(loop, "bench")
    latencies: list[float] = []
    finals = asyncio.Event()
    count = {"finals": 0}

    def deliver(item: tuple[float, bool]) -> None:
        sent, final = item
        latencies.append((time.perf_counter() - sent) * 1000)
        if final:
            count["finals"] += 1
            if count["finals"] == utterances:
                finals.set()

    config = speechsdk.SpeechConfig(host=host, subscription=DEFAULT_KEY)
    stream = speechsdk.audio.PushAudioInputStream(
        speechsdk.audio.AudioStreamFormat(samples_per_second=16000, bits_per_sample=16, channels=1)
    )
    recognizer = speechsdk.SpeechRecognizer(
        config, audio_config=speechsdk.audio.AudioConfig(stream=stream)
    )
    recognizer.recognizing.connect(
        bridge.sdk_handler(lambda e: (time.perf_counter(), False), deliver)
    )
    recognizer.recognized.connect(
        bridge.sdk_handler(lambda e: (time.perf_counter(), True), deliver)
    )
    await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
    t = np.arange(16000 * 9 // 10) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
    quiet = b"\0\0" * 6400
    for _ in range(utterances):
        stream.write(tone + quiet)
        await asyncio.sleep(0.05)
    await asyncio.wait_for(finals.wait(), 30)
    stream.close()
    await asyncio.to_thread(lambda: recognizer.stop_continuous_recognition_async().get())
    return latencies


async def time_to_first_audio(tts: AzureTextToSpeech, n: int, *, stream: bool) -> list[float]:
    results = []
    for _ in range(n):
        started = time.perf_counter()
        if stream:

            async def pieces() -> AsyncIterator[str]:
                for word in TEXT.split(" "):
                    yield word + " "

            generator = tts.synthesize_stream(pieces(), voice=Voice(), fmt=PCM16_16K)
        else:
            generator = tts.synthesize(TEXT, voice=Voice(), fmt=PCM16_16K)
        first = True
        async for _chunk in generator:
            if first:
                results.append((time.perf_counter() - started) * 1000)
                first = False
        await asyncio.sleep(0.02)  # let the pool refill, as between turns of a call
    return results


async def close_latency(tts: AzureTextToSpeech, n: int) -> list[float]:
    results = []
    for _ in range(n):
        generator = tts.synthesize(TEXT * 10, voice=Voice(), fmt=PCM16_16K)
        await anext(generator)
        started = time.perf_counter()
        await generator.aclose()
        results.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.1)
    return results


@contextlib.contextmanager
def standin_process() -> Iterator[str]:
    """The stand-in in its own process (like a real service: no GIL shared with the SDK)."""
    command = [
        sys.executable,
        "-m",
        "tests.emulators.speech_standin",
        "--tones",
        "--silence-ms",
        "200",
        "--script",
        "one two three four",
        "--repeat",
        "1000",
    ]
    root = Path(__file__).resolve().parent.parent
    # Our own interpreter and module, fixed arguments: no untrusted input.
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("LISTENING "):
                yield line.split()[1]
                break
        else:
            raise RuntimeError("stand-in did not start")
    finally:
        process.terminate()
        process.wait(5)


async def main(quick: bool) -> None:
    n = 20 if quick else 50
    with standin_process() as host:
        auth = AzureSpeechAuth(key=DEFAULT_KEY, host=host)
        rows = [
            row(
                "bridge: plain thread -> loop",
                await bridge_from_threads(2000 if quick else 10000),
                target="p99 < 1",
            ),
            row(
                "bridge: SDK recognition callback -> loop",
                await bridge_from_sdk(host, 10 if quick else 30),
                target="p99 < 1",
            ),
        ]
        cold = AzureTextToSpeech(auth, SynthesisOptions(pool_size=0))
        rows.append(
            row(
                "tts time to first audio, cold (no pool)",
                await time_to_first_audio(cold, n, stream=False),
            )
        )
        await cold.aclose()
        warm = AzureTextToSpeech(auth, SynthesisOptions(pool_size=2))
        await warm.warm_up([PCM16_16K])
        rows.append(
            row(
                "tts time to first audio, warm pool (SSML)",
                await time_to_first_audio(warm, n, stream=False),
            )
        )
        rows.append(
            row(
                "tts close mid-synthesis (aclose returns)",
                await close_latency(warm, 10 if quick else 20),
                target="< 50",
            )
        )
        await warm.aclose()
        streaming = AzureTextToSpeech(auth, SynthesisOptions(pool_size=2))
        rows.append(
            row(
                "tts time to first audio, text stream (v2)",
                await time_to_first_audio(streaming, n, stream=True),
            )
        )
        await streaming.aclose()
        stt = AzureSpeechToText(auth)
        session = stt.session(PCM16_16K)
        started = time.perf_counter()
        session.push(AudioFrame(b"\0\0" * 320, PCM16_16K))
        await session.flush()
        async for _ in session.events():
            pass
        rows.append(
            row("stt session: open, push, flush, end", [(time.perf_counter() - started) * 1000])
        )
    print()
    print(f"Azure Speech adapters against the local stand-in (127.0.0.1, SDK {SDK_VERSION})")
    head = f"| {'measure':<44} | {'n':>5} | {'p50':>9} | {'p99':>9} | {'max':>9} |"
    print(head + " unit | target     |")
    print(f"|{'-' * 46}|{'-' * 7}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 6}|{'-' * 12}|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    asyncio.run(main(parser.parse_args().quick))
