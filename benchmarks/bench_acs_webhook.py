"""Event-loop lag while the ACS gateway handles big Event Grid deliveries (issue 12 item 5).

    python benchmarks/bench_acs_webhook.py

The gateway runs in this process on a real uvicorn (127.0.0.1) with a fake CallControl whose
answer takes ``--answer-ms``; a 1 ms ticker on the same loop records the longest gap between
ticks (the loop lag other calls' frames would see) while one delivery is posted and answered.
Rows: 10,000 unknown events (refused over the cap), the cap of unknown events, and IncomingCall
deliveries answered with bounded concurrency. GC is tuned as ``parley serve`` tunes it
(``--default-gc`` to compare: with default thresholds, full collections over the request
bodies dominate the lag). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.acs.gateway import AcsGateway, AcsGatewayConfig  # noqa: E402
from adapters.acs.router import LocalCallEventRouter  # noqa: E402
from adapters.acs_emulator.server import free_port  # noqa: E402
from adapters.acs_emulator.serving import serve_app  # noqa: E402
from adapters.memory import FakeCallControl  # noqa: E402
from ports import CallConnection, CallSummary, InboundCall, IncomingCall, MediaOptions  # noqa: E402


class SlowAnswers(FakeCallControl):
    def __init__(self, answer_ms: float) -> None:
        super().__init__()
        self.answer_s = answer_ms / 1000

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        await asyncio.sleep(self.answer_s)  # the ACS round trip
        return await super().answer(call, callback_url=callback_url, media=media)


class NoCalls:
    async def handle_call(self, call: InboundCall) -> CallSummary:
        raise AssertionError("unused")


def events(count: int, kind: str) -> list[dict[str, Any]]:
    party = {"kind": "phoneNumber", "rawId": "4:+1", "phoneNumber": {"value": "+1"}}
    return [
        {
            "id": f"{kind}-{i}",
            "eventType": kind,
            "data": {"to": party, "from": party, "incomingCallContext": f"c{i}"},
        }
        for i in range(count)
    ]


async def measure(base: str, body: list[dict[str, Any]]) -> tuple[int, float, float]:
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    tick = asyncio.create_task(ticker())
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        response = await http.post(base + "/api/acs/events", json=body)
    took = time.perf_counter() - began
    running = False
    await tick
    return response.status_code, took * 1000, worst * 1000


async def main(answer_ms: float, default_gc: bool) -> None:
    port = free_port()
    gateway = AcsGateway(
        AcsGatewayConfig(public_base_url=f"http://127.0.0.1:{port}", verify_tokens=False),
        call_control=SlowAnswers(answer_ms),
        handler=NoCalls(),
        router=LocalCallEventRouter(),
    )
    cap = gateway.config.max_events_per_delivery
    rows = [
        ("10,000 unknown events", events(10_000, "Microsoft.Storage.BlobCreated")),
        (f"{cap} unknown events", events(cap, "Microsoft.Storage.BlobCreated")),
        ("100 IncomingCall", events(100, "Microsoft.Communication.IncomingCall")),
        (f"{cap} IncomingCall", events(cap, "Microsoft.Communication.IncomingCall")),
    ]
    if not default_gc:
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 1000)  # as bootstrap.cli._tune_gc_for_serving
    async with serve_app(Starlette(routes=gateway.routes()), port=port) as base:
        print("| delivery | status | POST answered, ms | worst loop lag, ms |")  # noqa: T201
        print("| --- | --- | --- | --- |")  # noqa: T201
        for name, body in rows:
            status, took, lag = await measure(base, body)
            print(f"| {name} | {status} | {took:.0f} | {lag:.1f} |")  # noqa: T201


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer-ms", type=float, default=20.0, help="fake ACS answer time")
    parser.add_argument("--default-gc", action="store_true", help="Python's default GC")
    args = parser.parse_args()
    asyncio.run(main(args.answer_ms, args.default_gc))
