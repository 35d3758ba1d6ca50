"""The parley CLI through typer's CliRunner: check, chat (piped input), demo, call."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap.cli import app

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def fake_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every port on an adapter that is always available; the shipped bank agents."""
    for key, value in {
        "PARLEY_STT": "fake",
        "PARLEY_TTS": "fake",
        "PARLEY_VAD": "fake",
        "PARLEY_LLM": "offline",
        "PARLEY_AGENTS_DIR": str(REPO / "agents"),
    }.items():
        monkeypatch.setenv(key, value)
    return clean_env


def test_check_prints_the_adapter_of_each_port_and_passes(
    runner: CliRunner, fake_env: Path
) -> None:
    result = runner.invoke(app, ["check", "--env-file", str(fake_env)])
    assert result.exit_code == 0, result.output
    for expected in (
        "PARLEY_STT=fake",
        "PARLEY_LLM=offline",
        "PARLEY_STORE=memory",
        "configuration ok",
    ):
        assert expected in result.output
    assert "concierge (start)" in result.output
    assert "check_balance" in result.output


def test_check_shows_the_effective_runtime_deadlines_and_where_they_come_from(
    runner: CliRunner, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_LLM", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("PARLEY_RUNTIME_PACING_LEAD_MS", "40")
    result = runner.invoke(app, ["check", "--env-file", str(fake_env)], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first_token = next(line for line in lines if "first_token_timeout_ms" in line)
    assert "11000" in first_token and "OPENAI_FIRST_TOKEN_TIMEOUT_S" in first_token
    pacing = next(line for line in lines if "pacing_lead_ms" in line)
    assert "40" in pacing and "PARLEY_RUNTIME_PACING_LEAD_MS" in pacing


def test_check_fails_naming_a_bad_key(runner: CliRunner, fake_env: Path) -> None:
    fake_env.write_text("PARLEY_MAX_CONCURRENT_CALLS=lots\n")
    result = runner.invoke(app, ["check", "--env-file", str(fake_env)])
    assert result.exit_code == 1
    assert "PARLEY_MAX_CONCURRENT_CALLS" in result.output


def test_check_fails_on_an_unavailable_adapter(
    runner: CliRunner, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_STORE", "redis")
    monkeypatch.setenv("PARLEY_LLM", "azure_openai")
    result = runner.invoke(app, ["check", "--env-file", str(fake_env)])
    assert result.exit_code == 1
    assert "PARLEY_LLM=azure_openai" in result.output
    assert "AZURE_OPENAI_ENDPOINT" in result.output


def test_check_reports_agent_file_problems_and_typos(
    runner: CliRunner, fake_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "a.yaml").write_text("tools: [nope]\n")
    monkeypatch.setenv("PARLEY_AGENTS_DIR", str(agents))
    fake_env.write_text("PARLEY_STTT=fake\n")
    result = runner.invoke(app, ["check", "--env-file", str(fake_env)])
    assert result.exit_code == 1
    assert "tools[0]: unknown tool 'nope'" in result.output
    assert "PARLEY_STTT is not a Parley setting" in result.output


def test_chat_holds_the_bank_conversation_from_piped_input(
    runner: CliRunner, fake_env: Path
) -> None:
    result = runner.invoke(
        app,
        ["chat", "--env-file", str(fake_env)],
        input="what is my balance\nsomeone stole my card\nlock my card ending in 4242\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Thank you for calling Parley Bank" in out
    assert "-> tool check_balance" in out
    assert "2,450.75" in out
    assert "handoff concierge -> fraud" in out
    assert "-> tool lock_card({'last_four': '4242'})" in out
    assert "call ended: remote_closed" in out


def test_chat_ends_when_the_agent_transfers(runner: CliRunner, fake_env: Path) -> None:
    result = runner.invoke(
        app, ["chat", "--env-file", str(fake_env)], input="transfer me to a human\nhello?\n"
    )
    assert result.exit_code == 0, result.output
    assert "transfer to +14255550100" in result.output
    assert "call ended: transfer" in result.output
    assert "hello?" not in result.output


def test_demo_runs_the_scripted_bank_call(runner: CliRunner, fake_env: Path) -> None:
    result = runner.invoke(app, ["demo", "--text", "--env-file", str(fake_env)])
    assert result.exit_code == 0, result.output
    for expected in (
        "check_balance",
        "report_fraud",
        "FR-2001",
        "lock_card",
        "call ended: transfer",
    ):
        assert expected in result.output
