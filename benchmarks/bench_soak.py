"""Soak: memory and descriptors over many short calls; loop lag and audio gaps under abuse.

    python benchmarks/bench_soak.py                      # 3 x 1,000 short calls, tuned GC
    python benchmarks/bench_soak.py --default-gc         # the same with Python's default GC
    python benchmarks/bench_soak.py --batch 200          # a quicker look

One real ``parley serve`` subprocess (PARLEY_STT/TTS/LLM/VAD=fake, memory stores) and the local
ACS emulator in this process (Event Grid offers, SDK-signed answers, JWT-signed media sockets).

Figures:
  * RSS (/proc VmRSS) and open file descriptors (/proc/<pid>/fd) of the server after a
    warm-up, then after each batch of short calls (offer, answer, media up, first greeting
    frame heard, caller hangs up);
  * event-loop lag p50/p99 of the server while one 10,000-event Event Grid POST (refused with
    413 after parsing: over the 1,000-event cap), the same 10,000 events delivered as ten
    POSTs at the cap (accepted and handled), and a 100,000-message media fuzz (malformed
    JSON, bad base64, odd lengths, binary, unknown kinds) run beside 20 live calls: measured
    from outside as the latency of ``GET /health`` probes sent every 10 ms, minus nothing
    (loopback RTT is included: an upper bound; the idle figure before the stress is printed
    beside it);
  * outbound audio gap of the live calls over the same window: the longest time between two
    consecutive agent frames of one utterance on the wire (gaps over 1.5 s are counted as
    between utterances and reported apart);
  * crashes: the server exited, or logged a traceback.

Targets: RSS growth after the first batch under 5 MB per 1,000 calls; FDs flat; loop lag p99
under 20 ms; no audio gap over 60 ms; 0 crashes. Figures from a shared, loaded machine say
little in absolute terms; compare runs made side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.acs.media_codec import encode_inbound_audio  # noqa: E402
from adapters.acs_emulator.media_client import iso_now  # noqa: E402
from adapters.acs_emulator.server import AcsEmulator, EmulatedCall, free_port  # noqa: E402

FRAME_S = 0.020
BETWEEN_UTTERANCES_S = 1.5


def proc_rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def short_call(emulator: AcsEmulator, events_url: str) -> bool:
    """One short call: answered, media up, the first greeting frame heard, caller hangs up."""
    try:
        call = await emulator.offer_call(events_url)
    except Exception:  # noqa: BLE001 (a failed call is counted, not fatal)
        return False
    try:
        await asyncio.wait_for(call.media_ready.wait(), 15)
        media = call.media
        if media is None:
            return False
        deadline = time.monotonic() + 15
        while not media.stats.frames_received and time.monotonic() < deadline:  # noqa: ASYNC110 (polling a counter)
            await asyncio.sleep(0.01)
        ok = media.stats.frames_received > 0
        await emulator.hang_up(call)
        return ok
    except Exception:  # noqa: BLE001 (a failed call is counted, not fatal)
        return False
    finally:
        # The emulator keeps every call it saw; forget this one so the client stays small.
        emulator.calls.pop(call.call_connection_id, None)
        emulator._by_context.pop(call.incoming_call_context, None)  # noqa: SLF001
        emulator.requests.clear()


async def batch(emulator: AcsEmulator, events_url: str, n: int, concurrency: int) -> int:
    """Run ``n`` short calls, ``concurrency`` at a time; returns the failures."""
    failures = 0
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        nonlocal failures
        async with gate:
            if not await short_call(emulator, events_url):
                failures += 1

    await asyncio.gather(*(one() for _ in range(n)))
    return failures


async def caller_silence(call: EmulatedCall, stop: asyncio.Event) -> None:
    """50 frames/s of caller silence, as a live ACS call sends."""
    media = call.media
    assert media is not None
    silence = bytes(640)
    start, i = time.monotonic(), 0
    while not stop.is_set() and not media.closed.is_set():
        try:
            await media.send_raw(
                encode_inbound_audio(
                    silence, timestamp=iso_now(), participant_raw_id="4:+1", silent=True
                )
            )
        except Exception:  # noqa: BLE001 (the socket closed)
            return
        i += 1
        delay = start + i * FRAME_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def fuzz_messages(n: int, seed: int = 7) -> list[str | bytes]:
    """``n`` malformed media messages of every kind the server must drop and count."""
    rng = random.Random(seed)
    good = base64.b64encode(bytes(640)).decode()
    shapes: list[str | bytes] = [
        "{not json",
        json.dumps({"kind": "AudioData", "audioData": {"data": "!!!notbase64!!!"}}),
        json.dumps({"kind": "AudioData", "audioData": {"data": base64.b64encode(b"x").decode()}}),
        json.dumps({"kind": "AudioData", "audioData": None}),
        json.dumps({"kind": "AudioData"}),
        json.dumps({"kind": "Nonsense", "x": 1}),
        json.dumps([1, 2, 3]),
        json.dumps({"kind": "AudioData", "audioData": {"data": good, "timestamp": 42}}),
        b"\x00\x01binary",
        "",
    ]
    return [shapes[rng.randrange(len(shapes))] for _ in range(n)]


async def media_fuzz(
    emulator: AcsEmulator, events_url: str, n: int, dropped: Callable[[], Awaitable[float]]
) -> tuple[int, int]:
    """Send ``n`` malformed messages on media sockets; returns (sent, sockets used).

    Each socket's call is hung up only once the server has read (and dropped) what was sent
    on it, so every message reaches the server's reader: ``dropped()`` reads its counter. A
    socket the server closes (a call that hears no audio ends at the media idle timeout) is
    replaced by a new one.
    """
    messages = fuzz_messages(n)
    sent, sockets = 0, 0
    while sent < n:
        call = await emulator.offer_call(events_url)
        await asyncio.wait_for(call.media_ready.wait(), 15)
        media = call.media
        if media is None:
            break
        sockets += 1
        baseline, sent_before = await dropped(), sent
        while sent < n and not media.closed.is_set():
            try:
                await media.send_raw(messages[sent])
            except Exception:  # noqa: BLE001 (closed by the server: open another)
                break
            sent += 1
            if sent % 200 == 0:
                await asyncio.sleep(0)  # let this process's other tasks run
        deadline = time.monotonic() + 30
        while (  # noqa: ASYNC110 (polling a counter)
            not media.closed.is_set()
            and await dropped() < baseline + sent - sent_before
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.2)
        await emulator.hang_up(call)
        if sockets > 50:
            break
    return sent, sockets


def flood_bodies(n: int, per_post: int) -> list[bytes]:
    """Event Grid bodies of ``n`` events the server acknowledges without acting on them: one
    POST of all ``n``, then the same ``n`` in POSTs of ``per_post`` (the cap). Encoded before
    the stress window, so this process spends it sending, not encoding."""
    events = [
        {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/soak/providers/microsoft.communication/x",
            "subject": "soak",
            "data": {"recordingId": str(i)},
            "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
            "eventTime": iso_now(),
            "metadataVersion": "1",
            "dataVersion": "1.0",
        }
        for i in range(n)
    ]
    bodies = [events] + [events[i : i + per_post] for i in range(0, n, per_post)]
    return [json.dumps(body).encode() for body in bodies]


async def event_grid_flood(
    http: httpx.AsyncClient, events_url: str, bodies: list[bytes]
) -> list[int]:
    """POST every body at once; their statuses."""
    headers = {"aeg-event-type": "Notification", "content-type": "application/json"}
    responses = await asyncio.gather(
        *(http.post(events_url, content=body, headers=headers, timeout=120) for body in bodies)
    )
    return [r.status_code for r in responses]


_PROBE = """
import json, sys, threading, time
import httpx
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
out = []
with httpx.Client(timeout=10) as http:
    http.get(sys.argv[1] + "/health")  # connected: tell the parent, then measure
    print("ready", flush=True)
    while not stop.is_set():
        before = time.monotonic()
        try:
            http.get(sys.argv[1] + "/health")
            out.append((time.monotonic() - before) * 1000)
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
print(json.dumps(out))
"""


class LagProbe:
    """``GET /health`` every 10 ms from a process of its own (so this process's own work
    during the stress does not count); the latency of each, ms (server loop delay + RTT)."""

    def __init__(self, base: str) -> None:
        self._process = subprocess.Popen(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-c", _PROBE, base],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def ready(self) -> LagProbe:
        """Wait until the probe process is up and has reached the server once."""
        line = await asyncio.to_thread(self._process.stdout.readline)  # type: ignore[union-attr]
        if line.strip() != "ready":
            raise SystemExit(f"lag probe failed to start: {line!r}")
        return self

    async def stop(self) -> list[float]:
        out, _ = await asyncio.to_thread(self._process.communicate, "", 30)
        return [float(x) for x in json.loads(out or "[]")]


def audio_gaps(calls: list[EmulatedCall], t0: float, t1: float) -> tuple[float, int]:
    """Longest in-utterance gap between agent frames (ms) and the between-utterance count."""
    worst, between = 0.0, 0
    for call in calls:
        if call.media is None:
            continue
        times = [t for t in call.media.stats.frame_times if t0 <= t <= t1]
        for a, b in zip(times, times[1:], strict=False):
            gap = b - a
            if gap > BETWEEN_UTTERANCES_S:
                between += 1
            else:
                worst = max(worst, gap * 1000)
    return worst, between


def start_server(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``parley serve`` with its output in ``log`` (before any call starts)."""
    with log.open("wb") as sink:
        # The command is this repository's own entry point, not input.
        return subprocess.Popen(  # noqa: S603
            command, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT
        )


def count_tracebacks(log: Path) -> int:
    return log.read_text(errors="replace").count("Traceback")


async def main() -> None:  # noqa: PLR0915 (one scenario, top to bottom)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000, help="short calls per batch")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--live", type=int, default=20, help="live calls during the stress")
    parser.add_argument("--events", type=int, default=10_000, help="events in the Event Grid POST")
    parser.add_argument("--per-post", type=int, default=1000, help="events per POST at the cap")
    parser.add_argument("--fuzz", type=int, default=100_000, help="malformed media messages")
    parser.add_argument("--default-gc", action="store_true", help="PARLEY_GC_TUNED=false")
    parser.add_argument("--session-ttl-s", type=float, default=2.0, help="PARLEY_SESSION_TTL_S")
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
        PARLEY_TURN="off",  # fake engines: no end-of-turn model (Smart Turn is the default)
        PARLEY_STORE="memory",
        PARLEY_LOG_LEVEL="WARNING",
        PARLEY_MAX_CONCURRENT_CALLS=str(args.live + args.concurrency + 20),
        PARLEY_MAX_REQUEST_BYTES=str(64 * 1024 * 1024),
        PARLEY_AGENTS_DIR=str(REPO / "agents"),
        PARLEY_GC_TUNED="false" if args.default_gc else "true",
        # Stored sessions and transcripts live this long by design (resume, reading them);
        # a short TTL lets the memory stores purge them, so growth means a leak.
        PARLEY_SESSION_TTL_S=str(args.session_ttl_s),
        ACS_CONNECTION_STRING=emulator.connection_string,
        ACS_CALLBACK_BASE_URL=base,
        ACS_RESOURCE_ID=emulator.resource_id,
        ACS_OPENID_CONFIG_URL=emulator.openid_config_url,
    )
    command = [
        str(REPO / ".venv" / "bin" / "parley"),
        "serve",
        "--port",
        str(port),
        "--env-file",
        "/nonexistent",
    ]
    log = Path(tempfile.mkstemp(prefix="bench_soak_", suffix=".log")[1])
    server = start_server(command, env, log)
    rows: list[tuple[str, str]] = []
    try:
        async with httpx.AsyncClient(timeout=60.0) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(base + "/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"parley serve did not start; see {log}")
            events_url = base + "/api/acs/events"
            await emulator.validate_subscription(events_url)

            # -- memory and descriptors over short calls -----------------------------------
            failed = await batch(emulator, events_url, 50, args.concurrency)  # warm-up
            await asyncio.sleep(1.0)
            rss = [proc_rss_mb(server.pid)]
            fds = [proc_fds(server.pid)]
            rows.append(("after warm-up (50 calls)", f"RSS {rss[0]:.1f} MB, {fds[0]} FDs"))
            for i in range(args.batches):
                t = time.monotonic()
                failed += await batch(emulator, events_url, args.batch, args.concurrency)
                took = time.monotonic() - t
                await asyncio.sleep(1.0)  # let the last calls' teardown finish
                rss.append(proc_rss_mb(server.pid))
                fds.append(proc_fds(server.pid))
                per_k = (rss[-1] - rss[-2]) / args.batch * 1000
                rows.append(
                    (
                        f"after batch {i + 1} ({args.batch} calls, {took:.0f} s)",
                        f"RSS {rss[-1]:.1f} MB ({per_k:+.1f} MB/1,000), {fds[-1]} FDs",
                    )
                )
            rows.append(("short calls failed", str(failed)))

            # -- loop lag and audio gaps under abuse, beside live calls --------------------
            prober = await LagProbe(base).ready()
            await asyncio.sleep(1.0)
            idle_lag = await prober.stop()
            bodies = flood_bodies(args.events, args.per_post)
            live = await asyncio.gather(
                *(emulator.offer_call(events_url) for _ in range(args.live))
            )
            await asyncio.gather(*(asyncio.wait_for(c.media_ready.wait(), 15) for c in live))
            stop = asyncio.Event()
            callers = [asyncio.create_task(caller_silence(c, stop)) for c in live if c.media]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(  # noqa: ASYNC110 (polling counters)
                c.media and c.media.stats.frames_received > 10 for c in live
            ):
                await asyncio.sleep(0.05)

            async def dropped_total() -> float:
                text = (await http.get(base + "/metrics")).text
                return metric(text, "parley_frames_dropped_total")

            prober = await LagProbe(base).ready()
            t0 = time.monotonic()
            status, (sent, sockets) = await asyncio.gather(
                event_grid_flood(http, events_url, bodies),
                media_fuzz(emulator, events_url, args.fuzz, dropped_total),
            )
            t1 = time.monotonic()
            dropped = await dropped_total()
            lag = await prober.stop()
            stop.set()
            await asyncio.gather(*callers, return_exceptions=True)
            worst_gap, between = audio_gaps(list(live), t0, t1)
            for call in live:
                await emulator.hang_up(call)
            rows += [
                ("stress window", f"{t1 - t0:.1f} s, {len(callers)} live calls"),
                (
                    "Event Grid POSTs",
                    f"{args.events} events in one -> HTTP {status[0]}; the same in"
                    f" {len(status) - 1} x {args.per_post} -> HTTP"
                    f" {','.join(sorted({str(s) for s in status[1:]}))}",
                ),
                ("media fuzz", f"{sent} messages on {sockets} socket(s); {dropped:.0f} dropped"),
                (
                    "loop lag p50/p99 idle",
                    f"{percentile(idle_lag, 50):.1f} / {percentile(idle_lag, 99):.1f} ms",
                ),
                (
                    "loop lag p50/p99 stress",
                    f"{percentile(lag, 50):.1f} / {percentile(lag, 99):.1f} ms"
                    f" (max {max(lag, default=float('nan')):.0f} ms, n={len(lag)})",
                ),
                (
                    "live-call audio gap, worst",
                    f"{worst_gap:.0f} ms ({between} gaps > {BETWEEN_UTTERANCES_S} s between"
                    " utterances)",
                ),
            ]
            await asyncio.sleep(1.0)
            rss.append(proc_rss_mb(server.pid))
            fds.append(proc_fds(server.pid))
            rows.append(("after the stress", f"RSS {rss[-1]:.1f} MB, {fds[-1]} FDs"))
    finally:
        alive = server.poll() is None
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        await emulator.stop()
    tracebacks = count_tracebacks(log)
    rows.append(("crashes", f"{'0' if alive else '1 (server exited)'}; {tracebacks} tracebacks"))
    growth = [(b - a) / args.batch * 1000 for a, b in zip(rss[1:-2], rss[2:-1], strict=False)]
    rows.append(
        (
            "RSS growth after batch 1",
            ", ".join(f"{g:+.1f}" for g in growth) + " MB/1,000 (target < 5)",
        )
    )
    rows.append(("FDs warm-up -> end", f"{fds[0]} -> {fds[-1]}"))
    width = max(len(k) for k, _ in rows)
    gc_mode = "default GC" if args.default_gc else "tuned GC (gc.freeze, 20000/50/1000)"
    print(
        f"bench_soak: {args.batches} x {args.batch} short calls, {gc_mode},"
        f" session TTL {args.session_ttl_s:g} s; log {log}"
    )
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(main())
