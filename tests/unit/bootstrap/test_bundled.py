"""The example agents shipped with Parley: found from anywhere, copied by ``parley init``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap.agents import load_agents
from bootstrap.bundled import bundled_agents_dir, parley_version
from bootstrap.cli import app
from bootstrap.settings import all_env_keys, load_settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_bundled_agents_are_the_repository_example_in_a_checkout() -> None:
    assert bundled_agents_dir() == REPO / "agents"
    assert load_agents(bundled_agents_dir()).graph.start == "concierge"


def test_without_agents_here_or_a_setting_the_bundled_agents_are_used(empty_folder: Path) -> None:
    settings = load_settings(empty_folder / ".env")
    assert settings.server.agents_dir == bundled_agents_dir()
    assert settings.server.resolved_tools_module() == bundled_agents_dir() / "tools.py"


def test_an_agents_folder_here_wins_over_the_bundled_one(empty_folder: Path) -> None:
    (empty_folder / "agents").mkdir()
    assert load_settings(empty_folder / ".env").server.agents_dir == Path("agents")


def test_a_folder_the_user_names_is_never_replaced(
    empty_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_AGENTS_DIR", "missing")
    assert load_settings(empty_folder / ".env").server.agents_dir == Path("missing")


def test_init_writes_a_starter_folder_and_refuses_to_overwrite_it(empty_folder: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["init", "starter"])
    assert result.exit_code == 0, result.output
    assert (empty_folder / "starter" / "prompts" / "concierge.j2").is_file()
    assert load_agents(empty_folder / "starter").graph.start == "concierge"
    (empty_folder / "starter" / "fraud.yaml").write_text("name: fraud\n")
    again = runner.invoke(app, ["init", "starter"])
    assert again.exit_code == 1 and "not empty" in again.output
    assert (empty_folder / "starter" / "fraud.yaml").read_text() == "name: fraud\n"
    assert runner.invoke(app, ["init", "starter", "--force"]).exit_code == 0
    assert (empty_folder / "starter" / "fraud.yaml").read_text() != "name: fraud\n"


def test_version_is_the_one_in_pyproject() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert parley_version() == version
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"parley {version}"
