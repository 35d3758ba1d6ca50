"""What ``parley test`` shows and writes: a summary table, failure details, JUnit XML.

The JUnit XML follows the schema CI systems read (Jenkins, GitLab, GitHub Actions
reporters): ``<testsuites><testsuite><testcase classname name time>`` with a ``<failure>`` or
``<error>`` per failed run and the conversation in ``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 (writing XML, never parsing untrusted input)
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bootstrap.testkit.runner import ScenarioRun

__all__ = ["print_details", "summary_table", "write_junit"]


def _latencies(run: ScenarioRun) -> str:
    shown = [f"{t.latency_ms:.0f}" for t in run.turns if t.latency_ms is not None]
    return " · ".join(shown) or "-"


def summary_table(runs: list[ScenarioRun]) -> Table:
    """One row per scenario: result (pass rate when repeated), turns, latency per turn (ms)."""
    table = Table(title="Scenarios", show_lines=False)
    for column in ("scenario", "mode", "result", "turns", "latency per turn (ms)", "notes"):
        table.add_column(column, overflow="fold")
    by_scenario: dict[Path, list[ScenarioRun]] = defaultdict(list)
    for run in runs:
        by_scenario[run.scenario.path].append(run)
    for group in by_scenario.values():
        first = group[0]
        passed = sum(r.passed for r in group)
        if len(group) > 1:
            rate = passed / len(group)
            colour = "green" if passed == len(group) else "red" if passed == 0 else "yellow"
            result = f"[{colour}]{passed}/{len(group)} passed ({rate:.0%})[/]"
        else:
            result = "[green]pass[/]" if first.passed else "[red]FAIL[/]"
        notes = [n for r in group for t in r.turns for n in t.notes]
        failure = next((r.failure for r in group if not r.passed), None)
        note = (failure or "").splitlines()[0][:90] if failure else ""
        if notes:
            note = (note + "; " if note else "") + f"[yellow]{len(notes)} not judged[/]"
        table.add_row(
            first.scenario.name,
            first.mode,
            result,
            str(len(first.turns)),
            _latencies(first),
            note,
        )
    return table


def print_details(console: Console, runs: list[ScenarioRun]) -> None:
    """Each failed run: its failures (expected vs. what happened) and its conversation."""
    for run in runs:
        if run.passed:
            continue
        console.rule(f"[red]{run.scenario.name}[/] (run {run.run}) · {run.scenario.path}")
        if run.error is not None:
            console.print(f"[red]error:[/] {run.error}", markup=True, highlight=False)
        for turn in run.turns:
            for failure in turn.failures:
                console.print(failure, markup=False, highlight=False)
                console.print()
        if run.transcript and run.error is not None:
            console.print(run.transcript, markup=False, highlight=False)


def write_junit(path: Path, runs: list[ScenarioRun]) -> None:
    """Write ``runs`` as JUnit XML at ``path`` (one testcase per run)."""
    suites = ET.Element("testsuites", name="parley scenarios")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="parley scenarios",
        tests=str(len(runs)),
        failures=str(sum(1 for r in runs if r.error is None and not r.passed)),
        errors=str(sum(1 for r in runs if r.error is not None)),
        skipped="0",
        time=f"{sum(r.seconds for r in runs):.3f}",
    )
    repeated = len({r.run for r in runs}) > 1
    for run in runs:
        name = run.scenario.name + (f" [run {run.run}]" if repeated else "")
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"scenarios.{run.scenario.path.stem}",
            name=name,
            file=str(run.scenario.path),
            time=f"{run.seconds:.3f}",
        )
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", name="mode", value=run.mode)
        for turn in run.turns:
            if turn.latency_ms is not None:
                ET.SubElement(
                    properties,
                    "property",
                    name=f"turn {turn.index} latency_ms",
                    value=f"{turn.latency_ms:.0f}",
                )
        if run.error is not None:
            element = ET.SubElement(case, "error", message=run.error.splitlines()[0][:200])
            element.text = run.error
        elif not run.passed:
            failures = [f for t in run.turns for f in t.failures]
            element = ET.SubElement(case, "failure", message=failures[0].splitlines()[0][:200])
            element.text = "\n\n".join(failures)
        out = ET.SubElement(case, "system-out")
        out.text = run.transcript
    ET.indent(suites)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
