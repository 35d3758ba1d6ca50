"""Call records: write cost per turn on SQLite and PostgreSQL, and what they add to a call.

Three tables:

1. **Write cost per turn** (the database side, behind the write-behind queue): a turn is what
   the recorder queues for one caller turn (the caller's line, a tool call, the tool result,
   the agent's line, the latency record: 5 lines), written as the write-behind drain writes
   it: one transaction, one after another. Reported: p50/p99 of a turn's transaction and of
   a header upsert, ms, and turns per second of one writer.
2. **Added to the call path**: the time the call's own code spends handing one turn's lines to
   the recorder (the transcript tee + the recorder's queue + the write-behind's queue), µs,
   measured while the database writes run; and event-loop lag p99 with and without the records
   being written (a 5 ms ticker).
3. **Audio path**: per 20 ms frame, the cost of the media wrapper with no recording and with
   the own WAV recording on (caller frame in, agent frame out), ns/frame, against the bare
   stream.

SQLite runs on a temp file (WAL, synchronous=NORMAL); PostgreSQL on a server started from the
Debian binaries (fsync on), both on this machine. Figures vary with load: quote them with it.

    python benchmarks/bench_call_records.py [--calls 50] [--turns 20] [--no-postgres]
        [--pg-no-fsync]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.audio.call_recording import WavCallRecorder  # noqa: E402
from adapters.memory import FakeMediaStream, ManualClock, MemoryTranscriptLog  # noqa: E402
from adapters.memory.signals import tone_frames  # noqa: E402
from adapters.resilience import WriteBehindCallHistory  # noqa: E402
from adapters.sqlite import SqliteCallHistory  # noqa: E402
from adapters.system import SystemClock  # noqa: E402
from domain.records import (  # noqa: E402
    CallRecorder,
    RecordedMediaStream,
    RecordingTranscriptLog,
    RecordsConfig,
)
from ports import PCM16_16K, AudioReceived, CallInfo, CallSummary, TranscriptEntry  # noqa: E402
from ports.call_history import CallHeader, CallHistory, RecordLine  # noqa: E402

TURN = (
    ("user", "what is my balance on the savings account please", {}),
    ("tool_call", "check_balance", {"name": "check_balance", "arguments": {"account": "savings"}}),
    ("tool", '{"account":"savings","balance":"2,450.75"}', {"name": "check_balance"}),
    ("assistant", "Your savings balance is 2,450.75 dollars. Anything else?", {}),
    ("turn_latency", "", {"voice_to_voice": 812.4, "marks": {"final": 1.0, "first_frame": 2.0}}),
)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def turn_lines(start_seq: int) -> list[RecordLine]:
    return [
        RecordLine(start_seq + i, kind, text, 100.0 * i, "concierge", data=dict(data))
        for i, (kind, text, data) in enumerate(TURN)
    ]


async def write_cost(store: CallHistory, turns: int) -> dict[str, float]:
    """One turn's transaction, one after another (as the write-behind drain writes them)."""
    costs: list[float] = []
    header_costs: list[float] = []
    call_id = f"bench-{time.time_ns()}"
    start = time.perf_counter()
    for turn in range(turns):
        t0 = time.perf_counter()
        await store.save_call(CallHeader(call_id, int(time.time() * 1000), "acs"))
        t1 = time.perf_counter()
        await store.append_lines(call_id, turn_lines(turn * len(TURN)))
        t2 = time.perf_counter()
        header_costs.append((t1 - t0) * 1000.0)
        costs.append((t2 - t1) * 1000.0)
    elapsed = time.perf_counter() - start
    return {
        "p50": statistics.median(costs),
        "p99": pct(costs, 99),
        "header_p99": pct(header_costs, 99),
        "turns_s": turns / elapsed,
    }


async def loop_lag(duration_s: float) -> list[float]:
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + duration_s
    while loop.time() < end:
        before = loop.time()
        await asyncio.sleep(0.005)
        lags.append(max(0.0, (loop.time() - before - 0.005) * 1000.0))
    return lags


async def call_path(store: CallHistory | None, calls: int, turns: int) -> dict[str, float]:
    """Time spent on the call path handing lines to the recorder, with the writes running."""
    behind = WriteBehindCallHistory(store) if store is not None else None
    clock = SystemClock()
    recorder = (
        CallRecorder(
            behind,
            clock=clock,
            wall_ms=lambda: time.time() * 1000,
            config=RecordsConfig(summary=False),
        )
        if behind is not None
        else None
    )
    log = MemoryTranscriptLog(clock, 600_000)
    tee = RecordingTranscriptLog(log, recorder) if recorder is not None else log
    spent: list[float] = []

    async def one(i: int) -> None:
        call_id = f"path-{time.time_ns()}-{i}"
        live = recorder.begin(CallInfo(call_id, "acs")) if recorder is not None else None
        for _ in range(turns):
            for kind, text, data in TURN:
                entry = TranscriptEntry(kind, text, clock.now_ms(), "concierge", data=dict(data))
                t0 = time.perf_counter_ns()
                await tee.append(call_id, entry)
                spent.append((time.perf_counter_ns() - t0) / 1000.0)
            await asyncio.sleep(0.02)
        if recorder is not None and live is not None:
            recorder.finish(live, CallSummary(call_id, "hang_up", user_turns=turns))

    lag_task = asyncio.create_task(loop_lag(calls * 0 + turns * 0.02 + 0.5))
    await asyncio.gather(*(one(i) for i in range(calls)))
    lags = await lag_task
    if recorder is not None and behind is not None:
        await recorder.flush(30)
        await behind.flush(30)
        await recorder.aclose()
        await behind.aclose()
    return {"p50": statistics.median(spent), "p99": pct(spent, 99), "lag_p99": pct(lags, 99)}


async def audio_path(frames: int, tmp: Path) -> dict[str, float]:
    """ns per frame (best of 3 runs): bare stream, wrapper, wrapper with the own WAV."""
    pcm = tone_frames(PCM16_16K, 20 * 50)
    results: dict[str, float] = {}
    for label in ("bare", "wrapped", "recording") * 3:
        media = FakeMediaStream(PCM16_16K, "bench")
        for i in range(frames):
            media.feed(AudioReceived(pcm[i % len(pcm)]))
        media.remote_close()
        stream = media
        recorder = live = None
        if label != "bare":
            recorder = CallRecorder(
                WriteBehindCallHistory(SqliteCallHistory(tmp / "unused.sqlite3")),
                clock=ManualClock(),
                wall_ms=lambda: 0.0,
                audio=WavCallRecorder(tmp),
            )
            live = recorder.begin(CallInfo(f"audio-{label}", "test"))
            if label == "recording":
                live.audio = WavCallRecorder(tmp).open(f"audio-{label}", PCM16_16K)
            stream = RecordedMediaStream(media, recorder, live)  # type: ignore[assignment]
        t0 = time.perf_counter_ns()
        n = 0
        async for event in stream.events():
            if isinstance(event, AudioReceived):
                n += 1
        per_frame = (time.perf_counter_ns() - t0) / max(n, 1)
        results[label] = min(results.get(label, per_frame), per_frame)
        if recorder is not None and live is not None:
            if live.audio is not None:
                await live.audio.close()
            await recorder.aclose()
    return results


async def main(calls: int, turns: int, postgres: bool, no_fsync: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-records-"))
    stores: list[tuple[str, CallHistory, object]] = []
    sqlite = SqliteCallHistory(tmp / "calls.sqlite3")
    await sqlite.open()
    stores.append(("sqlite", sqlite, None))
    server = None
    servers: list[object] = []
    if postgres:
        from tests.fixtures.postgres_server import PostgresServer, find_pg_bin
        from tests.fixtures.redis_server import free_port

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("no PostgreSQL binaries: PostgreSQL skipped")
        else:
            from adapters.postgres import PostgresCallHistory

            server = PostgresServer(bin_dir, free_port(), durable=True)
            server.start()
            pg = PostgresCallHistory(server.create_database(), max_size=8)
            await pg.open()
            stores.append(("postgres", pg, None))
            if no_fsync:
                fast = PostgresServer(bin_dir, free_port(), durable=False)
                fast.start()
                servers.append(fast)
                pg_fast = PostgresCallHistory(fast.create_database(), max_size=8)
                await pg_fast.open()
                stores.append(("pg no-fsync", pg_fast, None))
    print(f"\nCall records, {calls} concurrent calls x {turns} turns ({len(TURN)} lines a turn)\n")
    print(
        f"{'store':10} {'turn write p50 ms':>18} {'p99 ms':>8} {'header p99 ms':>14} {'turns/s':>8}"
    )
    for name, store, _ in stores:
        figures = await write_cost(store, max(200, turns * 10))
        print(
            f"{name:10} {figures['p50']:18.2f} {figures['p99']:8.2f}"
            f" {figures['header_p99']:14.2f} {figures['turns_s']:8.0f}"
        )

    print(f"\n{'call path':22} {'per line p50 us':>16} {'p99 us':>8} {'loop lag p99 ms':>16}")
    base = await call_path(None, calls, turns)
    print(
        f"{'transcript log only':22} {base['p50']:16.1f} {base['p99']:8.1f} {base['lag_p99']:16.2f}"
    )
    for name, store, _ in stores:
        figures = await call_path(store, calls, turns)
        label = f"+ records ({name})"
        print(f"{label:22} {figures['p50']:16.1f} {figures['p99']:8.1f} {figures['lag_p99']:16.2f}")

    audio = await audio_path(20_000, tmp)
    print(f"\n{'audio path (inbound)':22} {'ns/frame':>10} {'added':>8}")
    for label in ("bare", "wrapped", "recording"):
        added = audio[label] - audio["bare"]
        print(f"{label:22} {audio[label]:10.0f} {added:8.0f}")
    for _, store, _ in stores:
        await store.aclose()  # type: ignore[attr-defined]
    for extra in [server, *servers]:
        if extra is not None:
            extra.remove()  # type: ignore[attr-defined]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--pg-no-fsync",
        action="store_true",
        help="also PostgreSQL with fsync off (the disk's share)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.turns, not args.no_postgres, args.pg_no_fsync))
