"""The start-up validation that ``parley check`` and ``parley serve`` both run.

One function, :func:`validate_configuration`, so ``check`` can never say ok for a
configuration ``serve`` rejects: settings (every group and the rules that span groups), the
adapter selection table, the tools module and the agent files. Nothing is printed here; the
CLI renders the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from adapters.tools import ToolRegistry
from bootstrap.agents import AgentFileError, LoadedAgents
from bootstrap.containers import agents_from_settings, tools_from_settings
from bootstrap.runtime_settings import runtime_warnings
from bootstrap.selection import SelectionError, SelectionReport, check_selection
from bootstrap.settings import Settings, SettingsError, load_settings, unknown_keys
from bootstrap.tools import ToolsModuleError


@dataclass(slots=True)
class Validation:
    """What :func:`validate_configuration` found.

    Attributes:
        settings: The validated settings; ``None`` when a settings value is invalid (then
            ``problems`` holds one line per bad env key and nothing else was checked).
        reports: One selection report per port.
        tools: The registered tools, when the tools module loaded.
        agents: The agent graph, when the agent files loaded.
        problems: Each problem, starting with the env key or file it concerns.
        warnings: Each warning (typos in the env file, optional adapters disabled).
    """

    settings: Settings | None = None
    reports: list[SelectionReport] = field(default_factory=list)
    tools: ToolRegistry | None = None
    agents: LoadedAgents | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing would stop ``parley serve``."""
        return self.settings is not None and not self.problems


def validate_configuration(env_file: Path | None) -> Validation:
    """Validate everything ``parley serve`` needs before it binds a port.

    Args:
        env_file: The dotenv file (missing is fine), or ``None`` for the environment only.

    Returns:
        The findings; never raises for a bad configuration.
    """
    found = Validation()
    if env_file is not None and env_file.is_file():
        names = [k for k in dotenv_values(env_file) if k]
        found.warnings.extend(
            f"{env_file}: {name} is not a Parley setting (typo?)" for name in unknown_keys(names)
        )
    try:
        settings = load_settings(env_file)
    except SettingsError as exc:
        found.problems.extend(exc.problems)
        return found
    found.settings = settings
    try:
        found.reports = check_selection(settings)
    except SelectionError as exc:
        found.problems.extend(exc.problems)
    for report in found.reports:
        found.problems.extend(report.problems)
        found.warnings.extend(report.warnings)
    found.warnings.extend(runtime_warnings(settings))
    try:
        found.tools = tools_from_settings(settings)
        found.agents = agents_from_settings(settings, found.tools)
    except ToolsModuleError as exc:
        found.problems.append(str(exc))
    except AgentFileError as exc:
        found.problems.extend(exc.problems)
    return found
