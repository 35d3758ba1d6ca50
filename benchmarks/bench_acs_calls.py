"""N concurrent emulated ACS calls against one `parley serve` process with fake engines.

    python benchmarks/bench_acs_calls.py                 # 50 calls, 8 s window (fast default)
    python benchmarks/bench_acs_calls.py --calls 200     # the target
    python benchmarks/bench_acs_calls.py --cores 0       # pin the server to CPU 0 (one core)

The server is a real `parley serve` subprocess (PARLEY_STT/TTS/LLM/VAD=fake, memory stores),
pinned to one core, talking to the local ACS emulator in this process: Event Grid offers, the
SDK's HMAC-signed answers, JWT-signed media sockets, callbacks. Each call streams the caller's
line at 50 frames/s; during the agent's greeting the caller talks (a loud tone) to barge in.

Figures:
  * server CPU per media frame: server process CPU time (utime+stime, /proc) over the window
    divided by media frames in + out in the window;
  * frames dropped: the server's parley_frames_dropped counter (/metrics);
  * outbound pacing jitter: |gap between consecutive agent frames - 20 ms| on the wire,
    skipping the first 6 frames of each utterance (the pacing lead burst);
  * barge-in on the wire: first loud caller frame sent -> StopAudio received;
  * memory per call: server RSS with all calls up minus idle RSS, over the call count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.acs.media_codec import encode_inbound_audio  # noqa: E402
from adapters.acs_emulator.media_client import iso_now  # noqa: E402
from adapters.acs_emulator.server import AcsEmulator, EmulatedCall, free_port  # noqa: E402
from adapters.memory.signals import tone_frame  # noqa: E402
from ports import PCM16_16K  # noqa: E402

FRAME_S = 0.020


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class CallerLine:
    """One call's caller: 50 frames/s of silence, with a loud stretch to barge in."""

    def __init__(self, call: EmulatedCall) -> None:
        self.call = call
        self.loud_at: float | None = None
        self.frames_sent = 0

    async def run(self, stop: asyncio.Event, barge_after_s: float, barge_for_s: float) -> None:
        media = self.call.media
        assert media is not None
        silence = bytes(640)
        loud = tone_frame(PCM16_16K, 20, amplitude=6000).data
        start = time.monotonic()
        greeting_at: float | None = None
        i = 0
        while not stop.is_set() and not media.closed.is_set():
            now = time.monotonic()
            if greeting_at is None and media.stats.frames_received:
                greeting_at = now
            speaking = greeting_at is not None and (
                greeting_at + barge_after_s <= now < greeting_at + barge_after_s + barge_for_s
            )
            if speaking and self.loud_at is None:
                self.loud_at = now
            frame = loud if speaking else silence
            try:
                await media.send_raw(
                    encode_inbound_audio(
                        frame, timestamp=iso_now(), participant_raw_id="4:+1", silent=not speaking
                    )
                )
            except Exception:
                return
            self.frames_sent += 1
            i += 1
            delay = start + i * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--cores", default="0", help="CPU list the server is pinned to")
    args = parser.parse_args()

    emulator = AcsEmulator(record_media=False, keep_frame_times=True)
    await emulator.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        PARLEY_STT="fake",
        PARLEY_TTS="fake",
        PARLEY_LLM="fake",
        PARLEY_VAD="fake",
        PARLEY_STORE="memory",
        PARLEY_PORT=str(port),
        PARLEY_HOST="127.0.0.1",
        PARLEY_LOG_LEVEL="WARNING",
        PARLEY_MAX_CONCURRENT_CALLS=str(args.calls + 10),
        PARLEY_AGENTS_DIR=str(REPO / "agents"),
        ACS_CONNECTION_STRING=emulator.connection_string,
        ACS_CALLBACK_BASE_URL=base,
        ACS_RESOURCE_ID=emulator.resource_id,
        ACS_OPENID_CONFIG_URL=emulator.openid_config_url,
    )
    command = [str(REPO / ".venv" / "bin" / "parley"), "serve", "--env-file", "/nonexistent"]
    probe = subprocess.run(  # noqa: S603, ASYNC221 (before any call starts)
        [*command[:2], "--help"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        # The same app through uvicorn's factory (what `parley serve --reload` runs).
        print("note: `parley serve` unavailable; serving bootstrap.app:create_app_from_env")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bootstrap.app:create_app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    if args.cores and shutil.which("taskset"):
        command = ["taskset", "-c", args.cores, *command]
    # The command is this repository's own entry point, not input.
    server = subprocess.Popen(  # noqa: S603, ASYNC220
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(timeout=60.0) as http:
            for _ in range(300):
                try:
                    if (await http.get(base + "/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("parley serve did not start")
            await asyncio.sleep(0.5)
            rss_idle = proc_rss_mb(server.pid)
            events_url = base + "/api/acs/events"
            await emulator.validate_subscription(events_url)

            t_setup = time.monotonic()
            calls: list[EmulatedCall] = []
            for start in range(0, args.calls, 10):
                count = min(args.calls, start + 10) - start
                wave = await asyncio.gather(
                    *(emulator.offer_call(events_url) for _ in range(count))
                )
                calls.extend(wave)
            await asyncio.gather(*(asyncio.wait_for(c.media_ready.wait(), 30) for c in calls))
            failed = [c for c in calls if c.media is None]
            setup_s = time.monotonic() - t_setup
            stop = asyncio.Event()
            lines = [CallerLine(c) for c in calls if c.media is not None]
            tasks = [asyncio.create_task(line.run(stop, 1.0, 1.5)) for line in lines]
            lag: list[float] = []

            async def loop_lag() -> None:
                # This process's own event-loop delay: it bounds what the jitter can resolve.
                while not stop.is_set():
                    before = time.monotonic()
                    await asyncio.sleep(0.005)
                    lag.append((time.monotonic() - before - 0.005) * 1000)

            tasks.append(asyncio.create_task(loop_lag()))
            await asyncio.sleep(0.5)
            before_metrics = (await http.get(base + "/metrics")).text
            cpu0, t0 = proc_cpu_s(server.pid), time.monotonic()
            sent0 = sum(line.frames_sent for line in lines)
            recv0 = sum(c.media.stats.frames_received for c in calls if c.media)
            await asyncio.sleep(args.window)
            cpu1, t1 = proc_cpu_s(server.pid), time.monotonic()
            sent1 = sum(line.frames_sent for line in lines)
            recv1 = sum(c.media.stats.frames_received for c in calls if c.media)
            rss_busy = proc_rss_mb(server.pid)
            after_metrics = (await http.get(base + "/metrics")).text
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for call in calls:
                await emulator.hang_up(call)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        await emulator.stop()

    frames = (sent1 - sent0) + (recv1 - recv0)
    cpu_us = (cpu1 - cpu0) / max(frames, 1) * 1e6
    cpu_share = (cpu1 - cpu0) / (t1 - t0)
    dropped = metric(after_metrics, "parley_frames_dropped_total")
    jitter: list[float] = []
    barge: list[float] = []
    for line in lines:
        media = line.call.media
        assert media is not None
        times = [t for t in media.stats.frame_times if t0 <= t <= t1]
        run = 0
        for a, b in zip(times, times[1:], strict=False):
            gap = b - a
            if gap > 0.1:
                run = 0
                continue
            run += 1
            if run > 6:
                jitter.append(abs(gap - FRAME_S) * 1000)
        if line.loud_at is not None:
            stops = [t for t in media.stats.stop_audio_times if t >= line.loud_at]
            if stops:
                barge.append((stops[0] - line.loud_at) * 1000)
    in_rate = (sent1 - sent0) / (t1 - t0)
    out_rate = (recv1 - recv0) / (t1 - t0)
    rows = [
        ("calls connected", f"{len(lines)} of {args.calls} (set-up {setup_s:.1f} s)"),
        ("server cores", args.cores or "all"),
        ("media frames/s in, out", f"{in_rate:.0f}, {out_rate:.0f}"),
        ("server CPU per media frame", f"{cpu_us:.0f} µs ({cpu_share * 100:.0f}% of a core)"),
        ("frames dropped (server)", f"{dropped:.0f}"),
        (
            "outbound pacing jitter p50/p99",
            f"{percentile(jitter, 50):.2f} / {percentile(jitter, 99):.2f} ms",
        ),
        (
            "barge-in on the wire p50/p99",
            f"{percentile(barge, 50):.0f} / {percentile(barge, 99):.0f} ms (n={len(barge)})",
        ),
        (
            "emulator loop lag p50/p99",
            f"{percentile(lag, 50):.2f} / {percentile(lag, 99):.2f} ms (measurement floor)",
        ),
        ("server RSS idle / busy", f"{rss_idle:.0f} / {rss_busy:.0f} MB"),
        ("memory per call", f"{(rss_busy - rss_idle) / max(len(lines), 1) * 1024:.0f} KiB"),
        ("media connections failed", str(len(failed))),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"bench_acs_calls: {args.calls} calls, {args.window:.0f} s window")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if barge:
        mean = statistics.mean(barge)
        print(
            "  (barge-in includes the policy window, speech start + min_speech_ms;"
            f" mean {mean:.0f} ms)"
        )
    del before_metrics


if __name__ == "__main__":
    asyncio.run(main())
