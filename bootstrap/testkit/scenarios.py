"""YAML scenarios: conversations with expectations, in ``scenarios/*.yaml`` beside the agents.

One file is one scenario::

    name: card lock                  # default: the file's stem
    description: The caller locks a card by its last four digits.
    mode: text                       # text | voice (default: `parley test --mode`, else text)
    agents: ..                       # the agents folder, relative to this file (default: ..)
    model:                           # optional per-scenario model settings
      use: offline                   # offline | configured (default: `parley test --model`)
      temperature: 0                 # also seed, max_tokens, model, parallel_tool_calls
    mock_tools:                      # tool doubles for this scenario (the schema stays)
      check_balance: {returns: {account: checking, balance: "0.00"}}
      lock_card: {raises: card service down}
    greeting:                        # expectations on the greeting (optional)
      says: Parley Bank
    turns:                           # each turn: one caller action, then what to expect
      - caller: lock my card ending in 4242
        expect:
          tool: lock_card            # a call of this tool...
          args: {last_four: "4242"}  # ...whose arguments include these
          says: locked               # text the agent says (or {contains, matches, equals,
                                     #  not_contains, intent})
          max_latency_ms: 1500
      - silence_ms: 9000             # the caller says nothing (no-input)
        expect: {says: still there}
      - dtmf: "4242#"                # keys
      - interrupt: {after_ms: 800, caller: what is my balance}   # voice mode: a barge-in

Expectation keys: ``tool`` + ``args`` (+ ``result``), ``tools`` (a list of ``{name, args,
result, is_error}``), ``no_tool_calls``, ``handoff``, ``no_handoff``, ``says``, ``transfer``
(``true`` or the target), ``ends_call``, ``interrupted``, ``max_latency_ms``. ``says.intent``
is judged by a model (``parley test --judge``); without one it is reported as not judged.

Every problem of every file is reported at once, naming the file and the field
(``scenarios/lock.yaml: turns[1].expect.tool: Input should be a valid string``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bootstrap.testkit.modes import MODES

__all__ = [
    "Expect",
    "LoadedScenario",
    "Scenario",
    "ScenarioError",
    "Step",
    "load_scenarios",
    "scenario_files",
]

_STRICT = ConfigDict(extra="forbid")


class ScenarioError(ValueError):
    """Scenario files are invalid.

    Attributes:
        problems: One line each: ``<file>: <field>: <problem>``.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in scenario files:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


class SaysExpect(BaseModel):
    """Checks on the agent's words in a turn (all given ones must hold)."""

    model_config = _STRICT
    contains: str | None = None
    matches: str | None = None
    equals: str | None = None
    not_contains: str | None = None
    intent: str | None = Field(default=None, description="judged by a model")


class ToolExpect(BaseModel):
    """One expected tool call."""

    model_config = _STRICT
    name: str
    args: dict[str, Any] | None = None
    result: str | None = None
    is_error: bool | None = None


class Expect(BaseModel):
    """What must have happened in a turn."""

    model_config = _STRICT
    tool: str | None = None
    args: dict[str, Any] | None = None
    result: str | None = None
    tools: list[ToolExpect] = []
    no_tool_calls: bool = False
    handoff: str | None = None
    no_handoff: bool = False
    says: str | SaysExpect | None = None
    transfer: bool | str | None = None
    ends_call: bool = False
    interrupted: bool = False
    max_latency_ms: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if (self.args is not None or self.result is not None) and self.tool is None:
            raise ValueError("args and result describe a `tool:`; give the tool's name")
        if self.no_tool_calls and (self.tool or self.tools):
            raise ValueError("no_tool_calls contradicts tool/tools")
        if self.no_handoff and self.handoff:
            raise ValueError("no_handoff contradicts handoff")
        return self

    def tool_calls(self) -> list[ToolExpect]:
        """``tool``/``args``/``result`` and ``tools`` as one list."""
        single = (
            [ToolExpect(name=self.tool, args=self.args, result=self.result)] if self.tool else []
        )
        return single + list(self.tools)

    def said(self) -> SaysExpect | None:
        """``says`` as checks (a bare string means ``contains``)."""
        return SaysExpect(contains=self.says) if isinstance(self.says, str) else self.says


class Interrupt(BaseModel):
    """The caller talks over the agent (voice mode)."""

    model_config = _STRICT
    after_ms: float = Field(default=800.0, ge=0)
    caller: str | None = None


class Step(BaseModel):
    """One caller action (exactly one of ``caller``, ``silence_ms``, ``dtmf``, ``interrupt``)."""

    model_config = _STRICT
    caller: str | None = None
    silence_ms: float | None = Field(default=None, gt=0)
    dtmf: str | None = Field(default=None, pattern=r"^[0-9*#A-Da-d]+$")
    interrupt: Interrupt | None = None
    expect: Expect = Expect()

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [
            k for k in ("caller", "silence_ms", "dtmf", "interrupt") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            shown = ", ".join(given) or "none"
            raise ValueError(
                f"each turn needs exactly one of caller, silence_ms, dtmf, interrupt (got {shown})"
            )
        return self


class MockTool(BaseModel):
    """A tool double: exactly one of ``returns`` and ``raises``."""

    model_config = _STRICT
    returns: Any = None
    raises: str | None = None

    @model_validator(mode="after")
    def _one(self) -> MockTool:
        if ("returns" in self.model_fields_set) == ("raises" in self.model_fields_set):
            raise ValueError("give exactly one of returns, raises")
        return self


class ModelSettings(BaseModel):
    """The scenario's model and its options."""

    model_config = _STRICT
    use: Literal["offline", "configured"] | None = None
    temperature: float | None = Field(default=None, ge=0)
    seed: int | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    model: str | None = None
    parallel_tool_calls: bool | None = None

    def options(self) -> dict[str, Any]:
        """The :class:`ports.ModelOptions` fields given."""
        return self.model_dump(exclude={"use"}, exclude_none=True)


class Scenario(BaseModel):
    """One scenario file."""

    model_config = _STRICT
    name: str | None = None
    description: str = ""
    mode: str | None = None
    agents: str | None = None
    model: ModelSettings = ModelSettings()
    mock_tools: dict[str, MockTool] = {}
    greeting: Expect | None = None
    turns: list[Step] = Field(min_length=1)

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, mode: str | None) -> str | None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"{mode!r} is not one of {', '.join(MODES)}")
        return mode


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A validated scenario and where it came from.

    Attributes:
        name: Its name (``name:`` or the file's stem).
        path: The file.
        agents_dir: The agents folder it runs on.
        spec: The validated file.
    """

    name: str
    path: Path
    agents_dir: Path
    spec: Scenario


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def _problems(path: Path, exc: ValidationError) -> list[str]:
    seen: list[str] = []
    for error in exc.errors():
        # Union members and validator names are noise in a field path.
        loc = [
            p
            for p in error.get("loc", ())
            if not (
                isinstance(p, str) and (p.startswith("function-") or p in ("str", "SaysExpect"))
            )
        ]
        line = f"{path}: {_where(loc)}: {error.get('msg', 'invalid').removeprefix('Value error, ')}"
        if line not in seen:
            seen.append(line)
    return seen


def scenario_files(path: Path) -> list[Path]:
    """The scenario files at ``path``: the file itself, or a folder's ``*.yaml``/``*.yml``."""
    if path.is_file():
        return [path]
    return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])


def load_scenarios(path: Path) -> list[LoadedScenario]:
    """Load and validate the scenarios at ``path`` (a file or a folder).

    Raises:
        ScenarioError: Every problem of every file at once (or: nothing found at ``path``).
    """
    problems: list[str] = []
    files = scenario_files(path)
    if not path.exists():
        raise ScenarioError([f"{path}: (path): not found"])
    if not files:
        raise ScenarioError([f"{path}: (folder): no scenario files (*.yaml)"])
    loaded: list[LoadedScenario] = []
    for file in files:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "(file)"
            problems.append(f"{file}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{file}: (file): must be a mapping of keys")
            continue
        try:
            spec = Scenario.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_problems(file, exc))
            continue
        agents = (file.parent / (spec.agents or "..")).resolve()
        if not agents.is_dir():
            problems.append(f"{file}: agents: no folder {agents}")
            continue
        loaded.append(LoadedScenario(spec.name or file.stem, file, agents, spec))
    if problems:
        raise ScenarioError(problems)
    return loaded
