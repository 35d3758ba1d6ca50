"""YAML scenarios: validated with file and field, run on the bank agents, failing readably."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from adapters.memory import ScriptedLanguageModel, ScriptedTurn
from bootstrap.cli import app
from bootstrap.testkit.judge import scripted_judge
from bootstrap.testkit.modes import MODES
from bootstrap.testkit.report import summary_table, write_junit
from bootstrap.testkit.runner import ScenarioRun, run_scenarios
from bootstrap.testkit.scenarios import ScenarioError, load_scenarios
from ports import ToolCall
from tests.unit.testkit.conftest import BANK

SHIPPED = {
    "balance",
    "recent transactions",
    "card lock",
    "fraud handoff",
    "transfer to a human",
    "barge-in",
    "no input",
}


def by_name(runs: list[ScenarioRun]) -> dict[str, ScenarioRun]:
    return {run.scenario.name: run for run in runs}


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_the_shipped_bank_scenarios_pass_on_the_offline_model(mode: str) -> None:
    runs = await run_scenarios(
        load_scenarios(BANK / "scenarios"), model="offline", mode=mode, env_file=None
    )
    assert set(by_name(runs)) == SHIPPED
    failed = {run.scenario.name: run.failure for run in runs if not run.passed}
    assert not failed, failed
    # Scenarios that need voice (barge-in, no-input) say so; the others take the mode given.
    assert by_name(runs)["barge-in"].mode == "voice"
    assert by_name(runs)["card lock"].mode == mode


async def test_a_broken_tool_fails_the_card_lock_scenario_with_a_readable_diff(
    bank_copy: Path,
) -> None:
    tools = bank_copy / "tools.py"
    source = tools.read_text()
    assert 'return {"last_four": last_four, "status": "locked"}' in source
    tools.write_text(
        source.replace(
            'return {"last_four": last_four, "status": "locked"}',
            'return {"last_four": last_four, "status": "pending"}',
        )
    )
    runs = by_name(await run_scenarios(load_scenarios(bank_copy / "scenarios"), model="offline"))
    assert {name for name, run in runs.items() if not run.passed} == {"card lock"}
    message = runs["card lock"].failure or ""
    assert message.splitlines()[0] == (
        "Expected a call of tool lock_card with arguments including {'last_four': '4242'}"
    )
    assert "its result does not contain 'locked'" in message
    assert '{"last_four":"4242","status":"pending"}' in message  # what happened, shown


async def test_a_broken_prompt_fails_the_fraud_scenario_with_a_readable_diff(
    bank_copy: Path,
) -> None:
    concierge = bank_copy / "concierge.yaml"
    source = concierge.read_text()
    # The concierge no longer recognises a stolen card as fraud.
    broken = source.replace("      - someone stole my card\n", "").replace(
        "keywords: [fraud, stolen, stole, unauthorized, recognize]",
        "keywords: [fraud, unauthorized, recognize]",
    )
    assert broken != source
    concierge.write_text(broken)
    runs = by_name(await run_scenarios(load_scenarios(bank_copy / "scenarios"), model="offline"))
    assert {name for name, run in runs.items() if not run.passed} == {"fraud handoff"}
    message = runs["fraud handoff"].failure or ""
    assert message.startswith("Expected a handoff to fraud\n  there was no handoff;")
    assert "Expected a call of tool report_fraud" in "\n".join(
        runs["fraud handoff"].turns[-1].failures
    )
    assert 'turn 1 (text) · caller: "I think someone stole my card"' in message


def test_invalid_scenario_files_are_reported_by_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "agents.yaml").write_text("")
    (folder / "two_actions.yaml").write_text(
        "turns:\n  - caller: hi\n    dtmf: '1'\n  - caller: hello\n    expect: {tool_call: x}\n"
    )
    (folder / "loose.yaml").write_text(
        "mode: video\nturns:\n  - caller: hi\n    expect: {args: {a: 1}}\n"
    )
    (folder / "broken.yaml").write_text("turns: [caller: hi\n")
    (folder / "empty.yaml").write_text("name: nothing\nturns: []\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios(folder)
    problems = "\n".join(caught.value.problems)
    assert (
        f"{folder / 'two_actions.yaml'}: turns[0]: each turn needs exactly one of caller,"
        " silence_ms, dtmf, interrupt (got caller, dtmf)"
    ) in problems
    assert f"{folder / 'two_actions.yaml'}: turns[1].expect.tool_call: Extra inputs" in problems
    assert f"{folder / 'loose.yaml'}: mode: 'video' is not one of text, voice" in problems
    assert f"{folder / 'loose.yaml'}: turns[0].expect: args and result describe a `tool:`" in (
        problems
    )
    assert f"{folder / 'broken.yaml'}: line 2: not valid YAML" in problems
    assert f"{folder / 'empty.yaml'}: turns: List should have at least 1 item" in problems


def flaky_model() -> ScriptedLanguageModel:
    """Answers the balance question right on every other call."""
    answers = iter(range(1000))

    def respond(messages, tools, options):  # type: ignore[no-untyped-def]
        if messages[-1].role.value == "tool":
            return ScriptedTurn("It is 2,450.75 dollars.")
        if next(answers) % 2:
            return ScriptedTurn("Sorry, I did not catch that.")
        return ScriptedTurn(tool_calls=(ToolCall("c", "check_balance", {}),))

    return ScriptedLanguageModel(responder=respond)


async def test_repeated_runs_give_a_pass_rate_and_junit_xml(tmp_path: Path) -> None:
    scenario = tmp_path / "balance.yaml"
    scenario.write_text(
        f"agents: {BANK}\nturns:\n  - caller: what is my balance\n"
        "    expect: {tool: check_balance, says: '2,450.75'}\n"
    )
    scenarios = load_scenarios(scenario)
    model = flaky_model()
    runs = await run_scenarios(scenarios, repeat=2, model=model, env_file=None)
    assert [run.passed for run in runs] == [True, False]
    console = Console(record=True, width=160)
    console.print(summary_table(runs))
    assert "1/2 passed (50%)" in console.export_text()

    junit = tmp_path / "out" / "junit.xml"
    write_junit(junit, runs)
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 (our own file)
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["balance [run 1]", "balance [run 2]"]
    failure = cases[1].find("failure")
    assert failure is not None and "check_balance" in (failure.get("message") or "")
    assert "turn 1 (text)" in (cases[1].findtext("system-out") or "")


def test_parley_test_exits_by_outcome_and_names_bad_files(tmp_path: Path) -> None:
    runner = CliRunner()
    junit = tmp_path / "junit.xml"
    passed = runner.invoke(
        app,
        [
            "test",
            str(BANK / "scenarios" / "transfer.yaml"),
            "--model",
            "offline",
            "--junit",
            str(junit),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
    )
    assert passed.exit_code == 0, passed.output
    assert "transfer to a human" in passed.output and "all 1 run(s) passed" in passed.output
    assert junit.is_file()

    wrong = tmp_path / "agents" / "scenarios"
    wrong.mkdir(parents=True)
    (wrong / "wrong.yaml").write_text(
        "agents: " + str(BANK) + "\nturns:\n  - caller: what is my balance\n"
        "    expect: {tool: lock_card}\n"
    )
    failed = runner.invoke(app, ["test", str(wrong), "--model", "offline"])
    assert failed.exit_code == 1, failed.output
    assert "Expected a call of tool lock_card" in failed.output
    assert "1 of 1 run(s) failed" in failed.output

    (wrong / "bad.yaml").write_text("turns: 3\n")
    invalid = runner.invoke(app, ["test", str(wrong), "--model", "offline"])
    assert invalid.exit_code == 2
    assert "bad.yaml: turns: Input should be a valid list" in invalid.output


async def test_a_scenarios_tool_doubles_and_judged_intents(tmp_path: Path) -> None:
    scenario = tmp_path / "doubles.yaml"
    scenario.write_text(
        f"agents: {BANK}\n"
        "mock_tools:\n"
        "  check_balance: {returns: {account: checking, balance: '0.00'}}\n"
        "  lock_card: {raises: card service down}\n"
        "turns:\n"
        "  - caller: what is my balance\n"
        "    expect: {tool: check_balance, says: {contains: '0.00', intent: gives the balance}}\n"
        "  - caller: lock my card ending in 4242\n"
        "    expect: {tools: [{name: lock_card, is_error: true, result: failed}]}\n"
    )
    loaded = load_scenarios(scenario)
    (unjudged,) = await run_scenarios(loaded, model="offline", env_file=None)
    assert unjudged.passed, unjudged.failure
    assert unjudged.turns[0].notes == ["intent not judged (no judge model): 'gives the balance'"]

    def strict(intent: str, said: str) -> tuple[bool, str]:
        return "balance is 2" in said, "wrong amount"

    (judged,) = await run_scenarios(
        loaded, model="offline", env_file=None, judge=scripted_judge(strict)
    )
    assert not judged.passed
    assert "the judge says no: wrong amount" in (judged.failure or "")
