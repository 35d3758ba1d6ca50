"""The wire floor: what the ACS media work alone costs per frame in Python, beside Parley.

    python benchmarks/bench_wire_floor.py                  # 100 and 200 calls, both servers
    python benchmarks/bench_wire_floor.py --calls 150 --window 8

Issue 22 asks for <= 30 us of server CPU per media frame handled, or a profile that explains
what remains. This benchmark measures the part no call runtime can remove: a minimal server on
the same stack as ``parley serve`` (uvicorn with uvloop and httptools,
:class:`~adapters.http.media_socket.MediaSocketProtocol`, the same ACS codec) that, per call,
reads every caller ``AudioData`` message (WebSocket parse, ``orjson`` + ``pybase64`` decode, an
:class:`~ports.AudioFrame`) and writes one agent ``AudioData`` frame every 20 ms from one
process-wide timer (``pybase64`` encode, one ``transport.write``): no VAD, no recognizer, no
conversation, no playout. The same load client (:mod:`benchmarks.acs_load`: one timer for every
caller, 50 frames/s each) drives it over 127.0.0.1, server pinned to CPU 0 and client to CPU 1.

Printed per call count: server CPU per frame handled (in + out, counted by the server), the
kernel's share of it (``stime``), and frames per second. Compare with ``bench_acs_calls.py``
at the same call count (its CPU per frame includes the fake engines and the call runtime).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAME_S = 0.020


# --------------------------------------------------------------------------- the floor server


def floor_app(counts: dict[str, int]) -> object:
    """An ASGI app: ``/ws/acs/media`` reads and decodes caller frames; one timer sends."""
    from adapters.acs.media_codec import AudioData, decode_inbound, encode_audio_bytes
    from adapters.http.media_socket import MediaChannel, text_frame_header
    from ports import PCM16_16K, AudioFrame

    channels: set[MediaChannel] = set()
    pcm = bytes(range(256)) * 2 + bytes(128)  # 640 bytes: one 20 ms frame at 16 kHz PCM16
    ticker: list[asyncio.Task[None]] = []

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        start, i = loop.time(), 0
        while True:
            for channel in tuple(channels):
                # Encoded per frame and per call, as Parley's sender does.
                payload = encode_audio_bytes(pcm)
                if channel.send_frame(text_frame_header(len(payload)) + payload):
                    counts["out"] += 1
            i += 1
            await asyncio.sleep(max(0.0, start + i * FRAME_S - loop.time()))

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "lifespan":
            while True:
                message = await receive()  # type: ignore[operator]
                if message["type"] == "lifespan.startup":
                    ticker.append(asyncio.get_running_loop().create_task(tick()))
                    await send({"type": "lifespan.startup.complete"})  # type: ignore[operator]
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})  # type: ignore[operator]
                    return
        if scope["type"] != "websocket":
            return
        await receive()  # type: ignore[operator]  # websocket.connect
        await send({"type": "websocket.accept"})  # type: ignore[operator]
        channel = MediaChannel.of(scope)
        assert channel is not None
        channel.attach()
        channels.add(channel)
        position = 0
        try:
            while not channel.closed:
                batch = channel.take()
                if not batch:
                    await channel.wait()
                    continue
                for message in batch:
                    decoded = decode_inbound(message)
                    if type(decoded) is AudioData:
                        AudioFrame(decoded.pcm, PCM16_16K, position / 32.0)
                        position += len(decoded.pcm)
                        counts["in"] += 1
        finally:
            channels.discard(channel)

    return app


def serve(port: int, counts_file: Path) -> None:
    """Run the floor server; write ``in out`` frame counts to ``counts_file`` on SIGUSR1."""
    import signal

    import uvicorn

    from adapters.http.serve import serving_config

    counts = {"in": 0, "out": 0}

    def dump(*_: object) -> None:
        counts_file.write_text(f"{counts['in']} {counts['out']}")

    signal.signal(signal.SIGUSR1, dump)
    config = serving_config(floor_app(counts), host="127.0.0.1", port=port, log_level="warning")
    uvicorn.Server(config).run()


# --------------------------------------------------------------------------- the load


async def measure(port: int, pid: int, counts_file: Path, calls: int, window_s: float) -> dict:
    """Connect ``calls`` callers, stream for ``window_s`` after a settle, return the figures."""
    from benchmarks.acs_load import CallerClock, open_socket
    from benchmarks.bench_acs_calls import proc_user_system_s as user_system_s
    from ports import PCM16_16K

    sockets = []
    for k in range(calls):
        sockets.append(
            await open_socket(
                f"ws://127.0.0.1:{port}/ws/acs/media",
                token=None,
                call_connection_id=f"floor-{k}",
                correlation_id=f"floor-{k}",
                fmt=PCM16_16K,
            )
        )
    clock = CallerClock(sockets, PCM16_16K, bytes(640), barge_at=[None] * calls, barge_for_s=0)
    stop = asyncio.Event()
    runner = asyncio.create_task(clock.run(stop))
    await asyncio.sleep(2.0)

    def counts() -> tuple[int, int]:
        counts_file.unlink(missing_ok=True)
        os.kill(pid, __import__("signal").SIGUSR1)
        for _ in range(200):
            if counts_file.exists() and counts_file.read_text():
                a, b = counts_file.read_text().split()
                return int(a), int(b)
            time.sleep(0.01)
        raise RuntimeError("the floor server did not report its counts")

    in0, out0 = counts()
    user0, sys0 = user_system_s(pid)
    t0 = time.monotonic()
    await asyncio.sleep(window_s)
    in1, out1 = counts()
    user1, sys1 = user_system_s(pid)
    span = time.monotonic() - t0
    stop.set()
    await runner
    for sock in sockets:
        if sock.transport is not None:
            sock.transport.close()
    frames = (in1 - in0) + (out1 - out0)
    cpu = (user1 - user0) + (sys1 - sys0)
    return {
        "calls": calls,
        "in_s": (in1 - in0) / span,
        "out_s": (out1 - out0) / span,
        "cpu_us": cpu / max(frames, 1) * 1e6,
        "kernel_pct": 100.0 * (sys1 - sys0) / max(cpu, 1e-9),
        "share": cpu / span,
    }


def run_one(calls: int, window_s: float) -> dict:
    """Start a floor server pinned to CPU 0, load it from this process (CPU 1)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="parley-wire-floor-"))
    counts_file = workdir / "counts"
    command = [sys.executable, __file__, "--serve", str(port), "--counts", str(counts_file)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command, cwd=ROOT)  # noqa: S603
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {1})
        return asyncio.run(measure(port, server.pid, counts_file, calls, window_s))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Print the floor table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="*", default=[100, 200])
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--counts", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.counts))
        return
    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("bench_wire_floor: ACS media wire work only (uvicorn + uvloop + MediaSocketProtocol)")
    print("  calls | frames/s in, out | CPU per frame | kernel share | share of a core")
    for calls in args.calls:
        r = run_one(calls, args.window)
        print(
            f"  {r['calls']:5d} | {r['in_s']:7.0f}, {r['out_s']:6.0f} | {r['cpu_us']:8.1f} µs |"
            f" {r['kernel_pct']:9.0f} %  | {r['share'] * 100:6.0f} %"
        )


if __name__ == "__main__":
    main()
