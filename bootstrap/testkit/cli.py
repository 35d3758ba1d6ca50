"""``parley test`` (YAML scenarios) and ``parley contract`` (the contract kit) commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bootstrap.logging import configure_logging
from ports import LanguageModel

__all__ = ["contract_command", "test_command"]

EnvFile = Annotated[Path, typer.Option("--env-file", help="dotenv file to read (missing is fine).")]
_REAL_MODELS = ("azure_openai", "openai")


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _default_path(env_file: Path) -> Path:
    from bootstrap.settings import SettingsError, load_settings

    try:
        return Path(load_settings(env_file).server.agents_dir) / "scenarios"
    except SettingsError:
        return Path("agents/scenarios")


@contextlib.asynccontextmanager
async def _judge(choice: str, env_file: Path) -> AsyncIterator[LanguageModel | None]:
    """The judge of ``says.intent``: the configured model when real (``auto``), or as told."""
    from bootstrap.settings import SettingsError, load_settings
    from bootstrap.testkit.models import configured_model

    if choice == "none":
        yield None
        return
    if choice == "auto":
        try:
            selected = load_settings(env_file).providers.llm
        except SettingsError:
            selected = "offline"
        if selected not in _REAL_MODELS:
            yield None
            return
    async with configured_model(env_file) as model:
        yield model


def test_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="A scenario file or folder; default <PARLEY_AGENTS_DIR>/scenarios."),
    ] = None,
    env_file: EnvFile = Path(".env"),
    model: Annotated[
        str,
        typer.Option(help="offline, or configured (PARLEY_LLM); scenarios may choose their own."),
    ] = "configured",
    mode: Annotated[
        str, typer.Option(help="text or voice, for scenarios that do not choose.")
    ] = "text",
    judge: Annotated[
        str,
        typer.Option(
            help="Judge of `says.intent`: auto (a real configured model), configured, none."
        ),
    ] = "auto",
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here (for CI).")] = None,
    repeat: Annotated[int, typer.Option(min=1, help="Runs per scenario (pass rates).")] = 1,
) -> None:
    """Run YAML conversation scenarios against the agents; exit 1 when one fails."""
    from bootstrap.testkit.modes import MODES
    from bootstrap.testkit.report import print_details, summary_table, write_junit
    from bootstrap.testkit.runner import ScenarioRun, run_scenarios
    from bootstrap.testkit.scenarios import LoadedScenario, ScenarioError, load_scenarios

    console = _console()
    configure_logging(level="ERROR")  # the runtime's warnings would bury the summary
    if model not in ("offline", "configured"):
        raise typer.BadParameter("offline or configured", param_hint="--model")
    if mode not in MODES:
        raise typer.BadParameter(" or ".join(MODES), param_hint="--mode")
    if judge not in ("auto", "configured", "none"):
        raise typer.BadParameter("auto, configured or none", param_hint="--judge")
    where = path or _default_path(env_file)
    try:
        scenarios = load_scenarios(where)
    except ScenarioError as exc:
        console.print("[bold red]scenario files are invalid:[/]")
        for problem in exc.problems:
            console.print(f"  [red]x[/] {problem}", markup=True)
        raise typer.Exit(2) from exc
    console.print(
        f"[dim]parley test: {len(scenarios)} scenario(s) from {where}; model {model},"
        f" mode {mode}, judge {judge}{f', {repeat} runs each' if repeat > 1 else ''}[/]"
    )

    async def run() -> list[ScenarioRun]:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("scenarios", total=len(scenarios) * repeat)

            def started(scenario: LoadedScenario, number: int) -> None:
                progress.update(task, description=f"{scenario.name} (run {number})")

            def finished(outcome: ScenarioRun) -> None:
                progress.advance(task)
                mark = "[green]pass[/]" if outcome.passed else "[red]FAIL[/]"
                progress.console.print(f"  {mark} {outcome.scenario.name} (run {outcome.run})")

            async with _judge(judge, env_file) as judge_model:
                return await run_scenarios(
                    scenarios,
                    repeat=repeat,
                    on_start=started,
                    on_result=finished,
                    model=model_choice(model),
                    mode=mode,
                    env_file=env_file,
                    judge=judge_model,
                )

    runs = asyncio.run(run())
    console.print(summary_table(runs))
    print_details(console, runs)
    if junit is not None:
        write_junit(junit, runs)
        console.print(f"[dim]JUnit XML: {junit}[/]")
    failed = sum(not r.passed for r in runs)
    if failed:
        console.print(f"[bold red]{failed} of {len(runs)} run(s) failed[/]")
        raise typer.Exit(1)
    console.print(f"[bold green]all {len(runs)} run(s) passed[/]")


def model_choice(name: str) -> Literal["offline", "configured"]:
    """``--model``'s value, typed."""
    return "offline" if name == "offline" else "configured"


def contract_command(
    port: Annotated[str, typer.Argument(help="The port: stt, tts, llm, vad, session_store...")],
    factory: Annotated[
        str, typer.Argument(help="MODULE:FACTORY returning the port's case (parley.contract).")
    ],
    pytest_args: Annotated[
        list[str] | None, typer.Argument(help="More pytest arguments, after --.")
    ] = None,
) -> None:
    """Run a port's contract suite (the one Parley's adapters pass) on your adapter."""
    from bootstrap.testkit.contract_run import ContractRunError, run_contract

    console = _console()
    try:
        code, results = run_contract(port, factory, pytest_args=pytest_args or ())
    except ContractRunError as exc:
        console.print(f"[bold red]parley contract: {exc}[/]")
        raise typer.Exit(2) from exc
    except ImportError as exc:
        console.print(
            f"[bold red]parley contract needs pytest and pytest-asyncio:"
            f" pip install 'parley[testing]' ({exc})[/]"
        )
        raise typer.Exit(2) from exc
    table = Table(title=f"Contract of {port}: {factory}")
    for column in ("promise", "result", "detail"):
        table.add_column(column, overflow="fold")
    colours = {"passed": "green", "failed": "red", "skipped": "yellow"}
    for row in results:
        colour = colours.get(row.outcome, "white")
        table.add_row(row.promise, f"[{colour}]{row.outcome}[/]", row.detail)
    console.print(table)
    broken = [r for r in results if r.outcome == "failed"]
    for row in broken:
        console.print(f"[bold red]broken promise:[/] {row.promise}")
    if code != 0 and not broken:
        console.print(f"[bold red]pytest exited with {code} (see its output above)[/]")
    raise typer.Exit(code)
