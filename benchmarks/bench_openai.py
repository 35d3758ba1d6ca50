"""OpenAI adapter: overhead per token and time to first delta, against the local stand-in.

Run: ``python benchmarks/bench_openai.py [--tokens N] [--requests N] [--in-process]``
(a few seconds).

* **Overhead per token (µs)**: the same long stream read through the raw SDK
  (``async for chunk in stream``) and through ``OpenAILanguageModel.stream``; the difference
  divided by the deltas. Best of several interleaved rounds (other load only adds time).
* **Time to first delta**: request start -> first ``TextDelta`` seen by the caller, minus the
  stand-in's own time (request body read -> first delta written, read back from the stand-in
  at ``GET /_standin/requests``; both sides use CLOCK_MONOTONIC, which is system-wide on
  Linux). What is left is the client side: SDK request building, the adapter, localhost HTTP
  both ways, the stand-in's HTTP parsing. Target < 2 ms. The raw SDK figure is printed beside
  it to show the adapter's own share.

By default the stand-in runs in a subprocess (no GIL shared with the client); ``--in-process``
runs it in a thread of this process instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.openai import (  # noqa: E402
    ModelDefaults,
    OpenAIClientConfig,
    OpenAILanguageModel,
    create_client,
)
from ports import ChatMessage, ModelOptions, Role, TextDelta  # noqa: E402
from tests.emulators.openai_standin import (  # noqa: E402
    DEFAULT_API_KEY,
    running_standin,
)


def _history(words: int) -> tuple[ChatMessage, ...]:
    # The stand-in's keyword agent echoes the caller: "You said: <text>." in 4-char deltas.
    return (ChatMessage(Role.SYSTEM, "bench"), ChatMessage(Role.USER, " ".join(["tok"] * words)))


@contextlib.contextmanager
def _standin(in_process: bool) -> Iterator[tuple[str, Callable[[], list[dict[str, Any]]]]]:
    if in_process:
        with running_standin() as standin:

            def records() -> list[dict[str, Any]]:
                return [
                    {"received_at": r.received_at, "first_delta_at": r.first_delta_at}
                    for r in standin.requests
                ]

            yield standin.base_url, records
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.emulators.openai_standin", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the stand-in prints its settings once it listens
        base_url = f"http://127.0.0.1:{port}"

        def records() -> list[dict[str, Any]]:
            result: list[dict[str, Any]] = httpx.get(f"{base_url}/_standin/requests").json()
            return result

        yield base_url, records
    finally:
        process.terminate()
        process.wait(timeout=5)


async def _raw_stream(
    model: OpenAILanguageModel, history: tuple[ChatMessage, ...]
) -> tuple[float, int]:
    params = model.request_params(history, (), ModelOptions())
    started = time.perf_counter()
    stream = await model._client.chat.completions.create(**params)
    deltas = 0
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                deltas += 1
    return time.perf_counter() - started, deltas


async def _adapter_stream(
    model: OpenAILanguageModel, history: tuple[ChatMessage, ...]
) -> tuple[float, int]:
    started = time.perf_counter()
    deltas = 0
    async for event in model.stream(history, (), ModelOptions()):
        if isinstance(event, TextDelta):
            deltas += 1
    return time.perf_counter() - started, deltas


async def _first_delta(model: OpenAILanguageModel, raw: bool) -> tuple[float, float]:
    """(request started, first delta seen), time.monotonic() seconds.

    The (short) response is read to its end, as a normal turn is, so the HTTP/1.1
    connection goes back to the pool; a response closed early (barge-in) costs the next
    request a new TCP connection, which is not what this figure is about.
    """
    history = _history(1)
    seen = 0.0
    started = time.monotonic()
    if raw:
        params = model.request_params(history, (), ModelOptions())
        stream = await model._client.chat.completions.create(**params)
        async for chunk in stream:
            if not seen and chunk.choices and chunk.choices[0].delta.content:
                seen = time.monotonic()
    else:
        async for event in model.stream(history, (), ModelOptions()):
            if not seen and isinstance(event, TextDelta):
                seen = time.monotonic()
    return started, seen


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def run(words: int, requests: int, rounds: int, in_process: bool) -> None:
    with _standin(in_process) as (base_url, records):
        client = create_client(
            OpenAIClientConfig(kind="azure_openai", endpoint=base_url, api_key=DEFAULT_API_KEY)
        )
        model = OpenAILanguageModel(client.sdk, defaults=ModelDefaults(model="bench"))
        long = _history(words)
        try:
            await _adapter_stream(model, long)  # warm-up: connection, imports, caches
            raw_times, adapter_times, deltas = [], [], 0
            for _ in range(rounds):
                raw_s, raw_n = await _raw_stream(model, long)
                adapter_s, deltas = await _adapter_stream(model, long)
                assert raw_n == deltas, (raw_n, deltas)
                raw_times.append(raw_s)
                adapter_times.append(adapter_s)
            # Best of the rounds: the machine's other load only ever adds time.
            raw_us = min(raw_times) / deltas * 1e6
            adapter_us = min(adapter_times) / deltas * 1e6

            before = len(records())
            timings = [await _first_delta(model, raw=True) for _ in range(requests)]
            timings += [await _first_delta(model, raw=False) for _ in range(requests)]
            await asyncio.sleep(0.05)
            seen_by_standin = records()[before:]
        finally:
            await client.aclose()

    assert len(seen_by_standin) == len(timings), (len(seen_by_standin), len(timings))
    client_ms = [
        (seen - started - (r["first_delta_at"] - r["received_at"])) * 1000
        for (started, seen), r in zip(timings, seen_by_standin, strict=True)
    ]
    raw_ttfd, adapter_ttfd = client_ms[:requests], client_ms[requests:]

    where = "in-process thread" if in_process else "subprocess"
    print(
        f"OpenAI adapter over the local stand-in ({where}; Azure path, HTTP/1.1 keep-alive): "
        f"{deltas} deltas x {rounds} rounds, {requests} first-delta requests per column"
    )
    print()
    print(f"{'measure':<46} {'raw SDK':>9} {'adapter':>9} {'adapter cost':>13}")
    print("-" * 80)
    print(
        f"{'time per streamed delta (µs, best round)':<46} {raw_us:>9.1f} {adapter_us:>9.1f} "
        f"{adapter_us - raw_us:>13.1f}"
    )
    for label, q in (("p50", 50), ("p99", 99)):
        raw_q, ad_q = _pct(raw_ttfd, q), _pct(adapter_ttfd, q)
        name = f"first delta minus stand-in time (ms, {label})"
        print(f"{name:<46} {raw_q:>9.3f} {ad_q:>9.3f} {ad_q - raw_q:>13.3f}")
    p50 = _pct(adapter_ttfd, 50)
    verdict = "met" if p50 < 2.0 else "MISSED"
    print()
    print(f"target: first delta minus stand-in time < 2 ms (p50): {p50:.3f} ms -> {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000, help="echoed words per long stream")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    asyncio.run(run(args.words, args.requests, args.rounds, args.in_process))


if __name__ == "__main__":
    main()
