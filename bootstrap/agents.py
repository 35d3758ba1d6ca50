"""Agent definitions: ``agents/*.yaml`` (+ optional Jinja prompt files) -> domain values.

Layout of an agents folder (``PARLEY_AGENTS_DIR``)::

    agents/
      conversation.yaml   optional: start agent, template variables, conversation policies
      concierge.yaml      one agent per file (name defaults to the file's stem)
      fraud.yaml
      prompts/*.j2        optional Jinja prompt files (``instructions_file``)
      tools.py            the tools module (``PARLEY_TOOLS_MODULE``, see bootstrap.tools)

``conversation.yaml`` keys: ``start`` (required when there is more than one agent),
``variables`` (a mapping, available in every prompt template), ``policy`` (overrides of the
conversation policies: ``barge_in``, ``endpointing``, ``no_input``, ``tools``, ``handoffs``,
``dtmf``, ``failures``, ``speech``, ``outbound``; field names and defaults as in
``domain/policies.py`` and ``domain/outbound.py``).

Agent file keys (all optional except what makes sense for the scenario):
``name``, ``description``, ``instructions`` or ``instructions_file`` (both rendered with
Jinja, strict about undefined variables), ``greeting``, ``greeting_interruptible``,
``reprompt``, ``fallback``, ``goodbye``, ``handoff_greeting``, ``apology``, ``safe_reply``,
``transfer_line``, outbound and transfer keys (``voicemail_message``, ``warm_transfer``,
``transfer_summary``, ``consult_summary``, ``transfer_unanswered``, ``dtmf_recognize``: see
:class:`domain.agents.AgentSpec`; ``greeting`` and ``voicemail_message`` are Jinja templates
too), ``voice`` (a name for every provider, or a mapping with one name per TTS
provider, e.g. ``{local: en-us, azure: en-US-AvaMultilingualNeural}``, plus ``language``,
``style``, ``rate``, ``pitch``), ``tools`` (registered tool names), ``handoffs`` (list of
``{agent, description}``), ``barge_in`` and ``endpointing`` (policy overrides), ``model``
(``ModelOptions`` fields), and for the offline dialog model ``intents``,
``intent_threshold`` and ``no_match_reply`` (that adapter's section: taken out of the file and
validated by ``adapters.local.dialog_schema``, so this schema does not know its types).

Every problem of every file is collected and raised at once as :class:`AgentFileError`; each
line names the file, the field (``intents[2].slots[0].kind``) and the problem.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from adapters.local.dialog import DialogAgent
from adapters.local.dialog_schema import (
    AGENT_FILE_KEYS as DIALOG_KEYS,
)
from adapters.local.dialog_schema import (
    DialogSectionError,
    dialog_agent_from_section,
)
from bootstrap.records_file import RecordsFile, records_problems
from domain.agents import AgentGraph, AgentSpec, HandoffTarget
from domain.policies import (
    BargeInPolicy,
    ConversationPolicy,
    DtmfPolicy,
    EndpointingPolicy,
    FailurePolicy,
    HandoffPolicy,
    NoInputPolicy,
    OutboundPolicy,
    SpeechPolicy,
    ToolPolicy,
)
from ports import ModelOptions, Voice

CONVERSATION_FILE = "conversation.yaml"
TTS_PROVIDERS = ("local", "azure", "fake")
"""Keys allowed in an agent's ``voice`` mapping (the ``PARLEY_TTS`` values)."""


class AgentFileError(ValueError):
    """Agent files are invalid.

    Attributes:
        problems: Every problem, one line each: ``<file>: <field>: <problem>``.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in agent files:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _override_model(cls: type) -> type[BaseModel]:
    """A pydantic model of the init fields of dataclass ``cls``, every one optional.

    Only the keys present in the file are applied over the dataclass's defaults, so the
    defaults stay documented in one place (``domain/policies.py``, ``ports``).
    """
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, None)
        for f in dataclasses.fields(cls)
        if f.init and not f.name.startswith("_")
    }
    model: type[BaseModel] = create_model(f"{cls.__name__}Override", __config__=_STRICT, **fields)
    return model


if TYPE_CHECKING:
    BargeInOverride = BaseModel
    EndpointingOverride = BaseModel
    ModelOptionsOverride = BaseModel
    NoInputOverride = BaseModel
    ToolOverride = BaseModel
    HandoffOverride = BaseModel
    DtmfOverride = BaseModel
    FailureOverride = BaseModel
    SpeechOverride = BaseModel
    OutboundOverride = BaseModel
else:
    BargeInOverride = _override_model(BargeInPolicy)
    EndpointingOverride = _override_model(EndpointingPolicy)
    ModelOptionsOverride = _override_model(ModelOptions)
    NoInputOverride = _override_model(NoInputPolicy)
    ToolOverride = _override_model(ToolPolicy)
    HandoffOverride = _override_model(HandoffPolicy)
    DtmfOverride = _override_model(DtmfPolicy)
    FailureOverride = _override_model(FailurePolicy)
    SpeechOverride = _override_model(SpeechPolicy)
    OutboundOverride = _override_model(OutboundPolicy)


def _apply(cls: type[Any], override: BaseModel | None) -> Any:
    if override is None:
        return None
    return cls(**override.model_dump(exclude_unset=True))


class HandoffFile(BaseModel):
    """A handoff target of an agent."""

    model_config = _STRICT
    agent: str
    description: str = ""


class VoiceFile(BaseModel):
    """Voice of an agent: one name per TTS provider, and how it speaks."""

    model_config = ConfigDict(extra="allow")
    name: str | None = None
    """Voice name for every provider without a name of its own."""
    language: str = "en-US"
    style: str | None = None
    rate: float = Field(default=1.0, gt=0)
    pitch: float = 0.0

    @model_validator(mode="after")
    def _known_providers(self) -> VoiceFile:
        for key, value in (self.model_extra or {}).items():
            if key not in TTS_PROVIDERS:
                raise ValueError(
                    f"unknown key {key!r}: voice names are keyed by TTS provider"
                    f" ({', '.join(TTS_PROVIDERS)})"
                )
            if not isinstance(value, str):
                raise ValueError(f"voice name for {key!r} must be a string")
        return self

    def for_provider(self, provider: str) -> Voice:
        """The :class:`ports.Voice` for TTS provider ``provider`` (name None if not given)."""
        names = self.model_extra or {}
        return Voice(
            name=names.get(provider, self.name),
            language=self.language,
            style=self.style,
            rate=self.rate,
            pitch=self.pitch,
        )


_NAME = r"^[a-zA-Z0-9_-]{1,48}$"


class RealtimeFile(BaseModel):
    """An agent's realtime-only options (``PARLEY_PIPELINE=realtime``; ignored otherwise)."""

    model_config = _STRICT
    voice: str | None = None
    """Service voice while this agent is active (``alloy``, ``en-US-AvaMultilingualNeural``)."""
    turn_detection: (
        Literal["server", "server_vad", "semantic_vad", "azure_semantic_vad", "parley"] | None
    ) = None
    vad_threshold: float | None = Field(default=None, ge=0, le=1)
    silence_duration_ms: int | None = Field(default=None, ge=0)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None


class AgentFile(BaseModel):
    """One ``agents/<name>.yaml`` file."""

    model_config = _STRICT
    name: str | None = Field(default=None, pattern=_NAME)
    description: str = ""
    instructions: str | None = None
    instructions_file: str | None = None
    greeting: str = ""
    greeting_interruptible: bool = True
    reprompt: str | None = None
    fallback: str | None = None
    goodbye: str | None = None
    handoff_greeting: str | None = None
    apology: str | None = None
    safe_reply: str | None = None
    transfer_line: str | None = None
    voicemail_message: str | None = None
    warm_transfer: bool = False
    transfer_summary: Literal["template", "model"] = "template"
    consult_summary: str | None = None
    transfer_unanswered: str | None = None
    dtmf_recognize: bool = False
    voice: VoiceFile | None = None
    tools: list[str] = []
    handoffs: list[HandoffFile] = []
    barge_in: BargeInOverride | None = None
    endpointing: EndpointingOverride | None = None
    model: ModelOptionsOverride | None = None
    realtime: RealtimeFile | None = None
    pipeline: Literal["cascade", "realtime"] | None = None
    """The pipeline this agent is written for; must match ``PARLEY_PIPELINE`` (one call has
    one media path: no per-agent mixing, docs/adr/0011)."""

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_shorthand(cls, value: Any) -> Any:
        # `voice: en-us` names one voice for every provider.
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_instructions_source(self) -> AgentFile:
        if self.instructions is not None and self.instructions_file is not None:
            raise ValueError("give instructions or instructions_file, not both")
        return self


class PolicyFile(BaseModel):
    """Conversation policy overrides."""

    model_config = _STRICT
    barge_in: BargeInOverride | None = None
    endpointing: EndpointingOverride | None = None
    no_input: NoInputOverride | None = None
    tools: ToolOverride | None = None
    handoffs: HandoffOverride | None = None
    dtmf: DtmfOverride | None = None
    failures: FailureOverride | None = None
    speech: SpeechOverride | None = None
    outbound: OutboundOverride | None = None


class ConversationFile(BaseModel):
    """``agents/conversation.yaml``."""

    model_config = _STRICT
    start: str | None = None
    variables: dict[str, Any] = {}
    policy: PolicyFile = PolicyFile()
    records: RecordsFile = RecordsFile()


@dataclass(frozen=True, slots=True)
class LoadedAgents:
    """Everything the agent files define.

    Attributes:
        graph: The domain agent graph (validated, tools included when a tool set was given).
        policy: The conversation policy.
        dialog_agents: The offline dialog model's agents, by name.
        files: The file each agent came from, by agent name.
        records: The ``records:`` section (dispositions, summary fields, recording agents).
        realtime: Each agent's ``realtime`` section, by name (agents that have one).
    """

    graph: AgentGraph
    policy: ConversationPolicy
    dialog_agents: Mapping[str, DialogAgent]
    files: Mapping[str, Path]
    records: RecordsFile = dataclasses.field(default_factory=RecordsFile)
    realtime: Mapping[str, RealtimeFile] = dataclasses.field(default_factory=dict)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def _pydantic_problems(path: Path, exc: ValidationError) -> list[str]:
    problems = []
    seen: set[str] = set()
    for error in exc.errors():
        loc = tuple(p for p in error.get("loc", ()) if not str(p).startswith("function-"))
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        line = f"{path}: {_where(loc)}: {message}"
        if line not in seen:
            seen.add(line)
            problems.append(line)
    return problems


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problems.append(f"{path}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}")
        return None
    except OSError as exc:
        problems.append(f"{path}: (file): cannot read: {exc.strerror}")
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: (file): must be a mapping of keys, got {type(data).__name__}")
        return None
    return data


def _render(
    env: SandboxedEnvironment,
    source: str,
    variables: Mapping[str, Any],
    path: Path,
    field: str,
    problems: list[str],
) -> str:
    try:
        return env.from_string(source).render(**variables).strip()
    except jinja2.TemplateError as exc:
        problems.append(f"{path}: {field}: template error: {exc}")
        return ""


def _dialog_problems(path: Path, error: DialogSectionError) -> list[str]:
    return [
        f"{path}: {_where(loc)}: {m.removeprefix('Value error, ')}" for loc, m in error.problems
    ]


def _dialog_agent(
    path: Path,
    name: str,
    section: dict[str, Any],
    spec: AgentFile | None,
    default_threshold: float,
    problems: list[str],
) -> DialogAgent | None:
    """The offline model's agent from the file's dialog section, validated by the adapter."""
    try:
        return dialog_agent_from_section(
            name,
            section,
            default_threshold=default_threshold,
            tools=spec.tools if spec is not None else None,
            handoffs=[h.agent for h in spec.handoffs] if spec is not None else None,
        )
    except DialogSectionError as exc:
        problems.extend(_dialog_problems(path, exc))
        return None


_LINE_FIELDS = (
    "reprompt",
    "fallback",
    "goodbye",
    "handoff_greeting",
    "apology",
    "safe_reply",
    "transfer_line",
    "voicemail_message",
    "consult_summary",
    "transfer_unanswered",
)


def _agent_spec(
    name: str,
    spec: AgentFile,
    instructions: str,
    tts_provider: str,
) -> AgentSpec:
    lines = {f: getattr(spec, f).strip() for f in _LINE_FIELDS if getattr(spec, f) is not None}
    voice = spec.voice.for_provider(tts_provider) if spec.voice is not None else Voice()
    model = _apply(ModelOptions, spec.model) or ModelOptions()
    return AgentSpec(
        name=name,
        instructions=instructions,
        greeting=spec.greeting.strip(),
        voice=voice,
        tools=tuple(spec.tools),
        handoffs=tuple(HandoffTarget(h.agent, h.description.strip()) for h in spec.handoffs),
        greeting_interruptible=spec.greeting_interruptible,
        warm_transfer=spec.warm_transfer,
        transfer_summary=spec.transfer_summary,
        dtmf_recognize=spec.dtmf_recognize,
        barge_in=_apply(BargeInPolicy, spec.barge_in),
        endpointing=_apply(EndpointingPolicy, spec.endpointing),
        model=dataclasses.replace(model, agent=name),
        **lines,
    )


def _cross_checks(
    path: Path, spec: AgentFile, agent_names: set[str], tool_names: frozenset[str] | None
) -> list[str]:
    problems = []
    for i, handoff in enumerate(spec.handoffs):
        if handoff.agent not in agent_names:
            problems.append(
                f"{path}: handoffs[{i}].agent: no agent named {handoff.agent!r}"
                f" (agents: {', '.join(sorted(agent_names))})"
            )
    for i, tool in enumerate(spec.tools):
        if tool_names is not None and tool not in tool_names:
            known = ", ".join(sorted(tool_names)) or "none registered"
            problems.append(f"{path}: tools[{i}]: unknown tool {tool!r} (tools: {known})")
    return problems


def load_agents(
    directory: Path,
    *,
    tool_names: frozenset[str] | None = None,
    tts_provider: str = "local",
    dialog_threshold: float = 70.0,
    extra_variables: Mapping[str, Any] | None = None,
    pipeline: str = "cascade",
) -> LoadedAgents:
    """Load and validate every agent file of ``directory``.

    Args:
        directory: The agents folder (``PARLEY_AGENTS_DIR``).
        tool_names: Registered tool names; agent tools outside it are problems. ``None``
            skips that check.
        tts_provider: The ``PARLEY_TTS`` value; picks each agent's voice name.
        dialog_threshold: Intent match threshold (0-100) for agents whose file sets no
            ``intent_threshold`` (``LOCAL_DIALOG_THRESHOLD``).
        extra_variables: Template variables over ``conversation.yaml``'s (an outbound call's
            ``variables``); they reach the instructions, ``greeting`` and ``voicemail_message``.
        pipeline: ``PARLEY_PIPELINE``; an agent file whose ``pipeline`` differs is a problem.

    Returns:
        The agent graph, conversation policy and offline dialog agents.

    Raises:
        AgentFileError: Listing every problem of every file at once.
    """
    problems: list[str] = []
    if not directory.is_dir():
        raise AgentFileError([f"{directory}: (folder): not found (set PARLEY_AGENTS_DIR)"])
    conversation = ConversationFile()
    conversation_path = directory / CONVERSATION_FILE
    if conversation_path.is_file():
        raw = _read_yaml(conversation_path, problems)
        if raw is not None:
            try:
                conversation = ConversationFile.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_pydantic_problems(conversation_path, exc))
    specs: dict[str, tuple[Path, AgentFile]] = {}
    sections: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        if path.name == CONVERSATION_FILE:
            continue
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        # The offline dialog model's keys are validated by that adapter, not by AgentFile.
        section = {k: raw.pop(k) for k in DIALOG_KEYS if k in raw} if isinstance(raw, dict) else {}
        try:
            spec = AgentFile.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(path, exc))
            _dialog_agent(path, path.stem, section, None, dialog_threshold, problems)
            continue
        name = spec.name or path.stem
        if not re.match(_NAME, name):
            problems.append(f"{path}: name: {name!r} must match {_NAME} (set name:)")
            continue
        if name in specs:
            problems.append(f"{path}: name: agent {name!r} is also defined in {specs[name][0]}")
            continue
        specs[name] = (path, spec)
        sections[name] = section
    if not specs and not problems:
        problems.append(f"{directory}: (folder): no agent files (*.yaml)")

    start = conversation.start
    if start is None and len(specs) == 1:
        start = next(iter(specs))
    elif start is None and specs:
        problems.append(
            f"{conversation_path}: start: required when there is more than one agent"
            f" (agents: {', '.join(sorted(specs))})"
        )
    elif start is not None and specs and start not in specs:
        problems.append(
            f"{conversation_path}: start: no agent named {start!r}"
            f" (agents: {', '.join(sorted(specs))})"
        )

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (prompts are plain text, not HTML)
    agents: list[AgentSpec] = []
    dialog: dict[str, DialogAgent] = {}
    names = set(specs)
    for name, (path, spec) in specs.items():
        problems.extend(_cross_checks(path, spec, names, tool_names))
        if spec.pipeline is not None and spec.pipeline != pipeline:
            problems.append(
                f"{path}: pipeline: agent {name!r} is written for {spec.pipeline!r} but"
                f" PARLEY_PIPELINE={pipeline}; one call cannot mix pipelines (docs/adr/0011)"
            )
        variables = {**conversation.variables, **(extra_variables or {}), "agent": name}
        if spec.instructions_file is not None:
            template_path = (path.parent / spec.instructions_file).resolve()
            try:
                source = template_path.read_text(encoding="utf-8")
            except OSError as exc:
                problems.append(
                    f"{path}: instructions_file: cannot read {spec.instructions_file!r}:"
                    f" {exc.strerror}"
                )
                source = ""
            instructions = _render(env, source, variables, path, "instructions_file", problems)
        else:
            instructions = _render(
                env, spec.instructions or "", variables, path, "instructions", problems
            )
        built = _agent_spec(name, spec, instructions, tts_provider)
        agents.append(
            dataclasses.replace(
                built,
                greeting=_render(env, built.greeting, variables, path, "greeting", problems),
                voicemail_message=_render(
                    env, built.voicemail_message, variables, path, "voicemail_message", problems
                ),
            )
        )
        agent = _dialog_agent(path, name, sections[name], spec, dialog_threshold, problems)
        if agent is not None:
            dialog[name] = agent

    if specs:
        problems.extend(records_problems(conversation_path, conversation.records, specs))
    if problems:
        raise AgentFileError(problems)
    graph = AgentGraph(start=start or "", agents=tuple(agents))
    files = {name: path for name, (path, _) in specs.items()}
    for problem in graph.validate(tool_names):
        if "unknown agent" in problem or "unknown tool" in problem:
            continue  # already reported with its file and field by _cross_checks
        match = re.search(r"agent '([^']+)'", problem)
        where = files.get(match.group(1), directory) if match else directory
        problems.append(f"{where}: {problem}")
    if problems:
        raise AgentFileError(problems)
    policy = ConversationPolicy(
        **{
            f.name: _apply(type(getattr(ConversationPolicy(), f.name)), override)
            for f in dataclasses.fields(ConversationPolicy)
            if (override := getattr(conversation.policy, f.name, None)) is not None
        }
    )
    realtime = {name: spec.realtime for name, (_, spec) in specs.items() if spec.realtime}
    return LoadedAgents(
        graph=graph,
        policy=policy,
        dialog_agents=dialog,
        files=files,
        records=conversation.records,
        realtime=realtime,
    )
