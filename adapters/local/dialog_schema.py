"""The offline dialog model's section of an agent file, validated by the adapter itself.

An agent file (``agents/<name>.yaml``, read by bootstrap) may carry these keys for
``PARLEY_LLM=offline``: ``intents`` (a list of :class:`IntentFile`), ``intent_threshold``
(0-100, default ``LOCAL_DIALOG_THRESHOLD``) and ``no_match_reply``. Bootstrap takes them out
of the file (:data:`AGENT_FILE_KEYS`) and calls :func:`dialog_agent_from_section`, so the
agent-file schema never imports this adapter's types; problems come back with their field
path (``intents[2].slots[0].kind``) for bootstrap to prefix with the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.local.dialog import DialogAgent, Intent, Slot, SlotKind

__all__ = [
    "AGENT_FILE_KEYS",
    "DialogSectionError",
    "IntentFile",
    "SlotFile",
    "dialog_agent_from_section",
]

AGENT_FILE_KEYS = ("intents", "intent_threshold", "no_match_reply")
"""The agent-file keys this adapter owns."""

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)

Location = tuple[str | int, ...]


class DialogSectionError(ValueError):
    """The dialog section of an agent file is invalid.

    Attributes:
        problems: ``(field path, message)`` per problem, e.g. ``(("intents", 0, "tool"), ...)``.
    """

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {m}" for loc, m in problems))


class SlotFile(BaseModel):
    """A slot of an intent (:class:`adapters.local.dialog.Slot`)."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kind: Literal["digits", "amount", "date", "regex"] = "digits"
    pattern: str | None = None
    required: bool = True
    min_digits: int = Field(default=1, ge=1)
    max_digits: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _pattern_compiles(self) -> SlotFile:
        if self.kind == "regex":
            if not self.pattern:
                raise ValueError("a regex slot needs a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from exc
        return self


class IntentFile(BaseModel):
    """An intent of the offline dialog model (:class:`adapters.local.dialog.Intent`)."""

    model_config = _STRICT
    name: str
    examples: list[str] = []
    keywords: list[str] = []
    reply: str | None = None
    tool: str | None = None
    slots: list[SlotFile] = []
    handoff: str | None = None
    after_tool: str | None = None
    clarify: str | None = None

    @model_validator(mode="after")
    def _does_something(self) -> IntentFile:
        if not (self.reply or self.tool or self.handoff):
            raise ValueError("an intent needs a reply, a tool or a handoff")
        if not (self.examples or self.keywords):
            raise ValueError("an intent needs examples or keywords to be matched")
        return self


class _Section(BaseModel):
    model_config = _STRICT
    intents: list[IntentFile] = []
    intent_threshold: float | None = Field(default=None, ge=0, le=100)
    no_match_reply: str | None = None


def _intent(i: IntentFile) -> Intent:
    slots = tuple(
        Slot(
            name=s.name,
            kind=SlotKind(s.kind),
            pattern=s.pattern,
            required=s.required,
            min_digits=s.min_digits,
            max_digits=s.max_digits,
        )
        for s in i.slots
    )
    return Intent(
        name=i.name,
        examples=tuple(i.examples),
        keywords=tuple(i.keywords),
        reply=i.reply,
        tool=i.tool,
        slots=slots,
        handoff=i.handoff,
        after_tool=i.after_tool,
        clarify=i.clarify,
    )


def dialog_agent_from_section(
    name: str,
    section: Mapping[str, Any],
    *,
    default_threshold: float,
    tools: Collection[str] | None = None,
    handoffs: Collection[str] | None = None,
) -> DialogAgent:
    """Validate an agent file's dialog section and build the agent's :class:`DialogAgent`.

    Args:
        name: The agent's name.
        section: The file's :data:`AGENT_FILE_KEYS` present (others are not looked at).
        default_threshold: Match threshold when the file sets no ``intent_threshold``.
        tools: The agent's tools; an intent's ``tool`` outside them is a problem. ``None``
            skips that check (the rest of the file is invalid already).
        handoffs: The agent's handoff targets, checked likewise for ``handoff``.

    Returns:
        The offline model's view of the agent.

    Raises:
        DialogSectionError: Every problem, each with its field path.
    """
    try:
        parsed = _Section.model_validate(dict(section))
    except ValidationError as exc:
        raise DialogSectionError(
            [
                (tuple(p for p in e["loc"] if not str(p).startswith("function-")), e["msg"])
                for e in exc.errors()
            ]
        ) from exc
    problems: list[tuple[Location, str]] = []
    for index, intent in enumerate(parsed.intents):
        if tools is not None and intent.tool and intent.tool not in tools:
            problems.append(
                (("intents", index, "tool"), f"{intent.tool!r} is not in this agent's tools")
            )
        if handoffs is not None and intent.handoff and intent.handoff not in handoffs:
            problems.append(
                (
                    ("intents", index, "handoff"),
                    f"{intent.handoff!r} is not in this agent's handoffs",
                )
            )
    if problems:
        raise DialogSectionError(problems)
    options: dict[str, Any] = {"name": name, "intents": tuple(map(_intent, parsed.intents))}
    if parsed.no_match_reply is not None:
        options["fallback_reply"] = parsed.no_match_reply.strip()
    threshold = parsed.intent_threshold
    options["threshold"] = threshold if threshold is not None else default_threshold
    return DialogAgent(**options)
