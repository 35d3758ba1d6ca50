"""Running YAML scenarios: one test conversation per scenario run, every expectation checked.

A turn's expectations are all checked (not only up to the first failure), so a failing turn
shows everything that differs; a scenario stops at its first failing turn, since later turns
build on it. A problem that is not an expectation (an invalid agent file, an interruption in
text mode, a model that is not configured) fails the run as an error, with its message.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from bootstrap.testkit.conversation import TestConversation
from bootstrap.testkit.expect import ExpectationError, TurnExpect
from bootstrap.testkit.models import ModelChoice
from bootstrap.testkit.scenarios import Expect, LoadedScenario, Step, ToolExpect
from bootstrap.testkit.turn import Turn
from ports import LanguageModel

__all__ = ["ScenarioRun", "TurnResult", "check_turn", "run_scenario", "run_scenarios"]


@dataclass
class TurnResult:
    """One turn of a run.

    Attributes:
        index: 0 for the greeting.
        action: The caller's action as shown.
        latency_ms: The turn's latency (virtual ms), when measured.
        failures: One message per failed expectation (what was expected, what happened).
        notes: Checks not made (an intent without a judge model).
    """

    index: int
    action: str
    latency_ms: float | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No expectation failed."""
        return not self.failures


@dataclass
class ScenarioRun:
    """One run of one scenario.

    Attributes:
        scenario: The scenario.
        run: 1-based run number (``--repeat``).
        mode: The mode it ran in.
        turns: The turns played, in order.
        error: A problem that stopped the run (not an expectation), if any.
        transcript: The whole conversation as text.
        seconds: Wall time of the run, s.
        virtual_ms: Length of the conversation on its virtual clock, ms.
    """

    scenario: LoadedScenario
    run: int = 1
    mode: str = "text"
    turns: list[TurnResult] = field(default_factory=list)
    error: str | None = None
    transcript: str = ""
    seconds: float = 0.0
    virtual_ms: float = 0.0

    @property
    def passed(self) -> bool:
        """Every turn passed and nothing stopped the run."""
        return self.error is None and all(t.passed for t in self.turns)

    @property
    def failure(self) -> str | None:
        """The first failure message (or the error), for summaries."""
        if self.error is not None:
            return self.error
        return next((f for t in self.turns for f in t.failures), None)


async def _check(failures: list[str], check: Callable[[], Any]) -> None:
    try:
        outcome = check()
        if isinstance(outcome, Awaitable):
            await outcome
    except ExpectationError as exc:
        failures.append(str(exc))


def _tool_call(e: TurnExpect, call: ToolExpect) -> TurnExpect:
    return e.tool_call(call.name, args=call.args, result=call.result, is_error=call.is_error)


async def check_turn(
    turn: Turn, expect: Expect, judge: LanguageModel | None
) -> tuple[list[str], list[str]]:
    """Check every expectation of ``expect`` on ``turn``.

    Returns:
        ``(failures, notes)``: one message per failed expectation; checks not made.
    """
    failures: list[str] = []
    notes: list[str] = []
    e = turn.expect
    # Who answers comes first: a missed handoff explains the missing calls that follow.
    if expect.handoff:
        await _check(failures, lambda: e.handoff_to(str(expect.handoff)))
    if expect.no_handoff:
        await _check(failures, e.no_handoff)
    for call in expect.tool_calls():
        await _check(failures, partial(_tool_call, e, call))
    if expect.no_tool_calls:
        await _check(failures, e.no_tool_calls)
    said = expect.said()
    if said is not None:
        await _check(
            failures,
            lambda: e.says(
                contains=said.contains,
                matches=said.matches,
                equals=said.equals,
                not_contains=said.not_contains,
            ),
        )
        if said.intent and judge is not None:
            await _check(failures, lambda: e.says(judged_by=judge, intent=str(said.intent)))
        elif said.intent:
            notes.append(f"intent not judged (no judge model): {said.intent!r}")
    if expect.transfer:
        target = expect.transfer if isinstance(expect.transfer, str) else None
        await _check(failures, lambda: e.transfer(target))
    if expect.ends_call:
        await _check(failures, e.ends_call)
    if expect.interrupted:
        await _check(failures, e.interrupted)
    if expect.max_latency_ms is not None:
        await _check(failures, lambda: e.responds_within(float(expect.max_latency_ms or 0)))
    return failures, notes


async def _act(convo: TestConversation, step: Step, until: Literal["done", "agent_speaks"]) -> Turn:
    if step.caller is not None:
        return await convo.user_says(step.caller, until=until)
    if step.silence_ms is not None:
        return await convo.silence(step.silence_ms, until=until)
    if step.dtmf is not None:
        return await convo.dtmf(step.dtmf, until=until)
    assert step.interrupt is not None  # noqa: S101 (the schema requires one action)
    return await convo.caller_interrupts(
        step.interrupt.after_ms, saying=step.interrupt.caller, until=until
    )


def _until(steps: Sequence[Step], index: int) -> Literal["done", "agent_speaks"]:
    """``agent_speaks`` when the next step talks over the agent."""
    following = steps[index + 1] if index + 1 < len(steps) else None
    return "agent_speaks" if following is not None and following.interrupt else "done"


async def run_scenario(
    scenario: LoadedScenario,
    *,
    model: Literal["offline", "configured"] | LanguageModel = "configured",
    mode: str = "text",
    env_file: Path | None = Path(".env"),
    judge: LanguageModel | None = None,
    run: int = 1,
) -> ScenarioRun:
    """Run ``scenario`` once.

    Args:
        scenario: The loaded scenario.
        model: The model when the scenario does not choose one (``model.use``).
        mode: The mode when the scenario does not choose one.
        env_file: The dotenv file for the configured model.
        judge: The model that judges ``says.intent``; None leaves intents not judged.
        run: Run number, for ``--repeat``.
    """
    spec = scenario.spec
    chosen: ModelChoice = spec.model.use or model
    result = ScenarioRun(scenario, run=run, mode=spec.mode or mode)
    began = time.perf_counter()
    convo: TestConversation | None = None
    try:
        convo = TestConversation(
            scenario.agents_dir,
            model=chosen,
            mode=result.mode,
            env_file=env_file,
            model_options=spec.model.options(),
            call_id=f"scenario-{scenario.name}-{run}",
        )
        for name, double in spec.mock_tools.items():
            if double.raises is not None:
                convo.mock_tool(name, raises=double.raises)
            else:
                convo.mock_tool(name, returns=double.returns)
        greeting = await convo.start(until="agent_speaks" if spec.turns[0].interrupt else "done")
        if spec.greeting is not None:
            failures, notes = await check_turn(greeting, spec.greeting, judge)
            result.turns.append(TurnResult(0, greeting.action, None, failures, notes))
        for index, step in enumerate(spec.turns):
            if result.turns and not result.turns[-1].passed:
                break
            turn = await _act(convo, step, _until(spec.turns, index))
            failures, notes = await check_turn(turn, step.expect, judge)
            result.turns.append(
                TurnResult(turn.index, turn.action, turn.latency_ms, failures, notes)
            )
    except Exception as exc:  # noqa: BLE001 (any problem fails this run, with its message)
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if convo is not None:
            result.transcript = convo.transcript()
            result.virtual_ms = convo.turns[-1].ended_ms if convo.turns else 0.0
            try:
                await convo.close()
            except Exception as exc:  # noqa: BLE001 (closing must not hide the run's outcome)
                result.error = result.error or f"closing failed: {type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - began
    return result


async def run_scenarios(
    scenarios: Sequence[LoadedScenario],
    *,
    repeat: int = 1,
    on_start: Callable[[LoadedScenario, int], None] | None = None,
    on_result: Callable[[ScenarioRun], None] | None = None,
    **options: Any,
) -> list[ScenarioRun]:
    """Run every scenario ``repeat`` times, in order (options as :func:`run_scenario`).

    Args:
        scenarios: The scenarios.
        repeat: Runs per scenario (pass rates of a non-deterministic model).
        on_start: Called before each run (scenario, run number).
        on_result: Called after each run.
        **options: ``model``, ``mode``, ``env_file``, ``judge``.
    """
    results: list[ScenarioRun] = []
    for scenario in scenarios:
        for run in range(1, repeat + 1):
            if on_start is not None:
                on_start(scenario, run)
            outcome = await run_scenario(scenario, run=run, **options)
            results.append(outcome)
            if on_result is not None:
                on_result(outcome)
    return results
