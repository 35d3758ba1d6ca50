"""N concurrent emulated Twilio calls against one `parley serve` process with fake engines.

    python benchmarks/bench_twilio_calls.py                    # 50 calls, 8 s window
    python benchmarks/bench_twilio_calls.py --calls 50 100 200 # one fresh server per size
    python benchmarks/bench_twilio_calls.py --cores 0          # pin the server to CPU 0
    python benchmarks/bench_twilio_calls.py --echo playout     # marks echoed as Twilio does

The ``bench_acs_calls.py`` figures for Twilio. The server is a real `parley serve` subprocess
(PARLEY_TELEPHONY=twilio, fake engines, memory stores) pinned to one core. Each call is offered
by the local Twilio emulator (a signed Voice webhook; the server answers ``<Connect><Stream>``)
and streamed by the lean load client of :mod:`benchmarks.twilio_load` (8 kHz mu-law at 50
frames/s for every call from one timer), so the client, not the server,
is cheap. One second into the agent's greeting each caller talks (a loud tone) to barge in.

Figures:
  * server CPU per media frame: server CPU time (utime+stime, /proc) over the window divided
    by media frames in + out (marks and their echoes are not frames: they ride along, one per
    agent frame);
  * frames dropped: the server's parley_frames_dropped counter (/metrics);
  * outbound pacing jitter: |gap between consecutive agent frames - 20 ms| on the wire,
    skipping the first 6 frames of each utterance (the pacing lead burst);
  * barge-in to ``clear`` on the wire: first loud caller frame sent -> ``clear`` received;
  * marks echoed: how many of the server's marks the load client confirmed played (at once,
    or with ``--echo playout`` when its real-time playout reached them, as Twilio does);
  * playout stutters: breaks of 2-100 ms in the load client's real-time playout of the agent
    (a frame arrived after the previous one had finished playing; ``--echo playout`` only);
  * memory per call: server RSS with all calls up minus idle RSS, over the call count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.acs_emulator.server import free_port  # noqa: E402
from adapters.audio.convert import mulaw_encode  # noqa: E402
from adapters.memory.signals import tone_frame  # noqa: E402
from adapters.twilio_emulator import TwilioEmulator  # noqa: E402
from adapters.twilio_emulator.media_client import PCM8K  # noqa: E402
from benchmarks.bench_acs_calls import metric, percentile, proc_cpu_s, proc_rss_kib  # noqa: E402
from benchmarks.twilio_load import LeanTwilioSocket, TwilioCallerClock, open_call  # noqa: E402

FRAME_S = 0.020
SILENCE = mulaw_encode(bytes(320))
LOUD = mulaw_encode(tone_frame(PCM8K, 20, amplitude=6000).data)


def server_command(port: int, cores: str) -> list[str]:
    command = [str(REPO / ".venv" / "bin" / "parley"), "serve", "--env-file", "/nonexistent"]
    if not Path(command[0]).exists():
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "bootstrap.app:create_app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
    if cores and shutil.which("taskset"):
        command = ["taskset", "-c", cores, *command]
    return command


async def run(
    calls_wanted: int, window_s: float, cores: str, echo_at_playout: bool = False
) -> list[tuple[str, str]]:
    emulator = TwilioEmulator(record_media=False)
    await emulator.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        PARLEY_STT="fake", PARLEY_TTS="fake", PARLEY_LLM="fake", PARLEY_VAD="fake",
        PARLEY_TURN="off",  # fake engines: no end-of-turn model (Smart Turn is the default)
        PARLEY_STORE="memory", PARLEY_PORT=str(port), PARLEY_HOST="127.0.0.1",
        PARLEY_LOG_LEVEL="WARNING", PARLEY_MAX_CONCURRENT_CALLS=str(calls_wanted + 10),
        PARLEY_AGENTS_DIR=str(REPO / "agents"), PARLEY_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=emulator.account_sid, TWILIO_AUTH_TOKEN=emulator.auth_token,
        TWILIO_PUBLIC_BASE_URL=base, TWILIO_API_BASE_URL=emulator.api_base_url,
        TWILIO_PHONE_NUMBER="+14255550199",
    )  # fmt: skip
    # The command is this repository's own entry point, not input.
    server = subprocess.Popen(  # noqa: S603, ASYNC220
        server_command(port, cores), env=env, cwd=REPO, stdout=subprocess.DEVNULL
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
            rss_idle = proc_rss_kib(server.pid) / 1024
            voice_url = base + "/api/twilio/voice"
            # The caller line runs from the first call on, as a telephone line does; each
            # caller talks one second into the agent's greeting.
            sockets: list[LeanTwilioSocket] = []
            barge_at: list[float | None] = []
            stop = asyncio.Event()
            clock = TwilioCallerClock(sockets, SILENCE, LOUD, barge_at=barge_at, barge_for_s=1.5)

            async def barge_schedule() -> None:
                while not stop.is_set():
                    for k, sock in enumerate(sockets):
                        if barge_at[k] is None and sock.stats.frame_times:
                            barge_at[k] = sock.stats.frame_times[0] + 1.0
                    await asyncio.sleep(0.02)

            tasks = [asyncio.create_task(clock.run(stop)), asyncio.create_task(barge_schedule())]
            t_setup = time.monotonic()
            failed = 0
            for first in range(0, calls_wanted, 10):
                count = min(calls_wanted, first + 10) - first
                opening = (
                    open_call(emulator, voice_url, echo_at_playout=echo_at_playout)
                    for _ in range(count)
                )
                opened = await asyncio.gather(*opening, return_exceptions=True)
                for item in opened:
                    if isinstance(item, LeanTwilioSocket):
                        sockets.append(item)
                        barge_at.append(None)
                    else:
                        failed += 1
            setup_s = time.monotonic() - t_setup
            await asyncio.sleep(0.5)
            cpu0, t0 = proc_cpu_s(server.pid), time.monotonic()
            sent0 = sum(sock.stats.sent for sock in sockets)
            recv0 = sum(len(sock.stats.frame_times) for sock in sockets)
            await asyncio.sleep(window_s)
            cpu1, t1 = proc_cpu_s(server.pid), time.monotonic()
            sent1 = sum(sock.stats.sent for sock in sockets)
            recv1 = sum(len(sock.stats.frame_times) for sock in sockets)
            rss_busy = proc_rss_kib(server.pid) / 1024
            after_metrics = (await http.get(base + "/metrics")).text
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            marks = sum(sock.marks for sock in sockets)
            for sock in sockets:
                await sock.close()
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
    jitter: list[float] = []
    barge: list[float] = []
    for sock in sockets:
        times = [t for t in sock.stats.frame_times if t0 <= t <= t1]
        run_length = 0
        for a, b in zip(times, times[1:], strict=False):
            gap = b - a
            if gap > 0.1:
                run_length = 0
                continue
            run_length += 1
            if run_length > 6:
                jitter.append(abs(gap - FRAME_S) * 1000)
        if sock.loud_at is not None:
            clears = [t for t in sock.stats.stop_times if t >= sock.loud_at]
            if clears:
                barge.append((clears[0] - sock.loud_at) * 1000)
    lag = clock.lag_ms
    return [
        ("calls connected", f"{len(sockets)} of {calls_wanted} (set-up {setup_s:.1f} s)"),
        ("server cores", cores or "all"),
        (
            "media frames/s in, out",
            f"{(sent1 - sent0) / (t1 - t0):.0f}, {(recv1 - recv0) / (t1 - t0):.0f}",
        ),
        ("server CPU per media frame", f"{cpu_us:.0f} µs ({cpu_share * 100:.0f}% of a core)"),
        ("frames dropped (server)", f"{metric(after_metrics, 'parley_frames_dropped_total'):.0f}"),
        (
            "outbound pacing jitter p50/p99",
            f"{percentile(jitter, 50):.2f} / {percentile(jitter, 99):.2f} ms",
        ),
        (
            "barge-in to clear on the wire p50/p99",
            f"{percentile(barge, 50):.0f} / {percentile(barge, 99):.0f} ms (n={len(barge)})",
        ),
        ("marks echoed (whole run)", f"{marks} ({'at playout' if echo_at_playout else 'at once'})"),
        (
            "playout stutters (whole run)",
            f"{sum(s.stutters for s in sockets)}, {sum(s.stutter_s for s in sockets) * 1000:.0f} ms"
            if echo_at_playout
            else "n/a (marks echoed at once)",
        ),
        (
            "load client tick lag p50/p99",
            f"{percentile(lag, 50):.2f} / {percentile(lag, 99):.2f} ms (measurement floor)",
        ),
        ("server RSS idle / busy", f"{rss_idle:.0f} / {rss_busy:.0f} MB"),
        ("memory per call", f"{(rss_busy - rss_idle) / max(len(sockets), 1) * 1024:.0f} KiB"),
        ("media connections failed", str(failed)),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[50])
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--cores", default="0", help="CPU list the server is pinned to")
    parser.add_argument(
        "--echo",
        choices=("now", "playout"),
        default="now",
        help="echo marks at once, or when the client's real-time playout reaches them",
    )
    args = parser.parse_args()
    for calls in args.calls:
        rows = await run(calls, args.window, args.cores, args.echo == "playout")
        width = max(len(k) for k, _ in rows)
        print(f"bench_twilio_calls: {calls} calls, {args.window:.0f} s window, echo {args.echo}")
        for key, value in rows:
            print(f"  {key:<{width}}  {value}")
        print("  (barge-in includes the policy window, speech start + min_speech_ms)")


if __name__ == "__main__":
    asyncio.run(main())
