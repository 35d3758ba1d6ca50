"""Benchmark: how fast the conversation test harness runs the bank scenarios, per mode.

Runs every scenario of ``agents/scenarios`` on the offline model, each in text mode and in
voice mode (scenarios that need voice stay in voice), ``--repeat`` times, and prints per
scenario the wall time of one run and the virtual call time it covered (voice: the agent's
speech is paced on the manual clock), so the table shows how much faster than real time the
harness runs. No target: a figure for the report and for spotting regressions.

Run: ``python benchmarks/bench_testkit.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bootstrap.testkit.runner import run_scenario
from bootstrap.testkit.scenarios import load_scenarios

AGENTS = Path(__file__).resolve().parents[1] / "agents"


async def main(repeat: int) -> None:
    scenarios = load_scenarios(AGENTS / "scenarios")
    print(f"{'scenario':<22}{'mode':<7}{'runs':>5}{'wall ms (median)':>18}{'virtual s':>11}")
    for mode in ("text", "voice"):
        for scenario in scenarios:
            walls: list[float] = []
            virtual_s = 0.0
            for _ in range(repeat):
                began = time.perf_counter()
                run = await run_scenario(scenario, model="offline", mode=mode, env_file=None)
                walls.append((time.perf_counter() - began) * 1000.0)
                assert run.passed, run.failure
                virtual_s = run.virtual_ms / 1000.0
            print(
                f"{scenario.name:<22}{run.mode:<7}{repeat:>5}"
                f"{statistics.median(walls):>18.1f}{virtual_s:>11.1f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args().repeat))
