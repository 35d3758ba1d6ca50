"""The ``records:`` section of ``agents/conversation.yaml``: what the graph asks of records.

.. code-block:: yaml

    records:
      dispositions: [resolved, transferred_to_human, fraud_reported, other]
      recording_agents: [fraud]        # PARLEY_RECORDS_RECORDING=agents records their calls
      fields:                          # extracted by the post-call summary
        - {name: intent, kind: choice, choices: [check_balance, lock_card, other]}
        - {name: resolved, kind: boolean, description: The need was met without a human}

Dispositions default to :data:`domain.records.DEFAULT_DISPOSITIONS`; ``fields`` to none.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ports.call_summarizer import SummaryField

_NAME = r"^[a-zA-Z0-9_-]{1,48}$"


class SummaryFieldFile(BaseModel):
    """One field the post-call summary extracts."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME)
    description: str = ""
    kind: Literal["text", "boolean", "choice"] = "text"
    choices: list[str] = []

    @model_validator(mode="after")
    def _choices_for_choice(self) -> SummaryFieldFile:
        if self.kind == "choice" and not self.choices:
            raise ValueError("a choice field needs choices")
        return self

    def to_field(self) -> SummaryField:
        """The port value."""
        return SummaryField(self.name, self.description, self.kind, tuple(self.choices))


class RecordsFile(BaseModel):
    """``records:`` of ``conversation.yaml``."""

    model_config = ConfigDict(extra="forbid")
    dispositions: list[str] = Field(default=[], max_length=50)
    recording_agents: list[str] = []
    fields: list[SummaryFieldFile] = Field(default=[], max_length=30)

    @model_validator(mode="after")
    def _unique(self) -> RecordsFile:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("fields: names must be unique")
        if len(set(self.dispositions)) != len(self.dispositions):
            raise ValueError("dispositions: must be unique")
        return self


def records_problems(path: Path, records: RecordsFile, agents: Collection[str]) -> list[str]:
    """Problems of ``records`` against the defined agents, naming the file and field."""
    known = ", ".join(sorted(agents))
    return [
        f"{path}: records.recording_agents[{i}]: no agent named {name!r} (agents: {known})"
        for i, name in enumerate(records.recording_agents)
        if name not in agents
    ]
